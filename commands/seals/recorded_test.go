package seals_test

import (
	"crypto/ed25519"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
)

func TestRecordedDigestDependsOnOrderAndRecordedTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := []eventstore.RecordedEvent{
		{Position: 1, Stream: "lock-1", Revision: 0, RecordedAt: at},
		{Position: 2, Stream: "lock-2", Revision: 0, RecordedAt: at.Add(time.Millisecond)},
	}
	digest := func(recs ...eventstore.RecordedEvent) string {
		var d seals.RecordedDigest
		for _, r := range recs {
			d.Observe(r)
		}
		return d.String()
	}
	want := digest(recs...)
	assert.Equal(t, want, digest(recs...), "the same log gives the same digest")
	later := recs[1]
	later.RecordedAt = later.RecordedAt.Add(time.Nanosecond)
	assert.NotEqual(t, want, digest(recs[0], later), "a recorded time moved by a nanosecond")
	assert.NotEqual(t, want, digest(recs[1], recs[0]), "two events swapped")
	assert.NotEqual(t, want, digest(recs[0]), "an event removed")
	assert.Len(t, want, 64)
}

func TestSealSignatureCoversTheRecordedDigest(t *testing.T) {
	t.Parallel()
	pub, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	s := seals.Heads{"a-1": {Revision: 2, Hash: "x"}}.Seal(7)
	s.RecordedDigest = "ab"
	s = s.Sign(key)
	require.NoError(t, s.CheckSignature(pub))
	s.RecordedDigest = "cd"
	assert.ErrorIs(t, s.CheckSignature(pub), seals.ErrBadSignature)
	s.RecordedDigest = "" // stripped: checked as a v1 seal, which it is not
	assert.ErrorIs(t, s.CheckSignature(pub), seals.ErrBadSignature)
}

// TestVerifyCatchesAChangedRecordedTime: the hash chains do not cover the
// time the store recorded an event, which every point-in-time answer goes
// by; the seal's recorded digest does. Moving one sealed event's
// recorded_at in the SQLite file by a single nanosecond fails verify at the
// seal that covers it.
func TestVerifyCatchesAChangedRecordedTime(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.db")
	store, err := sqlite.Open(path)
	require.NoError(t, err)
	reg, pub, key := notesFixture(t, store)
	stop := runSealer(t, store, key, 1000)
	require.Eventually(t, func() bool { return countSeals(t, store) == 1 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, stop())
	opts := seals.VerifyOptions{PublicKey: pub, Registry: reg, DensePositions: true}
	rep, err := seals.Verify(t.Context(), store, opts)
	require.NoError(t, err)
	require.Nil(t, rep.Failure, "%v", rep.Failure)
	require.NoError(t, store.Close())

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE events SET recorded_at = recorded_at + 1 WHERE position = 5`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	store, err = sqlite.Open(path)
	require.NoError(t, err)
	defer store.Close()
	rep, err = seals.Verify(t.Context(), store, opts)
	require.NoError(t, err)
	require.NotNil(t, rep.Failure, "a changed recorded time verified")
	assert.Contains(t, rep.Failure.Error(), "recording times up to position 12")
}
