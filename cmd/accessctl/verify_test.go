package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/kurrent"
	"github.com/accessd/accessd/eventstore/kurrent/kurrenttest"
	"github.com/accessd/accessd/eventstore/postgres"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/sqlite"
)

// sealedLog is a data directory written through the command pipeline and
// sealed by the server's sealer: its events, as read back before the file
// was closed.
type sealedLog struct {
	dir    string
	events []eventstore.RecordedEvent
	// lastSealed is the position the last seal covers.
	lastSealed uint64
	accountID  uuid.UUID
	propertyID uuid.UUID
}

// newSealedLog bootstraps an account and creates properties, each renamed
// a few times (several streams, several events each), while a sealer with
// a short interval runs, then waits until a seal covers every event and
// closes the store with its WAL folded into the main file.
func newSealedLog(t *testing.T) sealedLog {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, eventsFile))
	require.NoError(t, err)
	log := writeSealedLog(t, dir, store)
	require.NoError(t, store.Close())
	checkpoint(t, filepath.Join(dir, eventsFile))
	return log
}

// serviceOn is the command service on store, with the command key of the
// data directory dir.
func serviceOn(t *testing.T, dir string, store eventstore.Store) *commands.Service {
	t.Helper()
	pipeline, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	cmdKey, err := loadOrCreateSecret(dir, commandKeyFile, commandKeySize)
	require.NoError(t, err)
	service, err := commands.NewService(pipeline, cmdKey)
	require.NoError(t, err)
	return service
}

// writeSealedLog writes newSealedLog's events into store, whatever the
// store, with the server key and command key of the data directory dir,
// and leaves the store open.
func writeSealedLog(t *testing.T, dir string, store eventstore.Store) sealedLog {
	t.Helper()
	ctx := t.Context()
	service := serviceOn(t, dir, store)
	seed, err := loadOrCreateSecret(dir, serverKeyFile, ed25519.SeedSize)
	require.NoError(t, err)
	sealer, err := seals.NewSealer(store, ed25519.NewKeyFromSeed(seed), time.Now, slog.New(slog.DiscardHandler), 1000, 20*time.Millisecond)
	require.NoError(t, err)
	sealCtx, stopSealer := context.WithCancel(ctx)
	sealerDone := make(chan error, 1)
	go func() { sealerDone <- sealer.Run(sealCtx) }()

	_, err = service.Bootstrap(ctx, rootKey)
	require.NoError(t, err)
	recs, err := store.ReadAll(ctx, 0, 10, eventstore.Filter{EventTypes: []string{account.AccountCreated{}.EventType()}})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	env, err := commands.NewRegistry().Decode(recs[0])
	require.NoError(t, err)
	accountID := env.Event.(account.AccountCreated).AccountID
	log := sealedLog{dir: dir, accountID: accountID}
	for i := range 4 {
		p, err := service.CreateProperty(owner(ctx, accountID), commands.CreateProperty{DisplayName: fmt.Sprintf("Tamper Hotel %d", i)})
		require.NoError(t, err)
		log.propertyID = p.PropertyID
		for j := range 3 {
			_, err := service.UpdateProperty(owner(ctx, accountID), p.PropertyID, property.Update{DisplayName: fmt.Sprintf("Tamper Hotel %d renamed %d", i, j)})
			require.NoError(t, err)
		}
	}
	head := lastEventOutsideSeals(t, store)
	require.Eventually(t, func() bool {
		log.lastSealed = lastSealed(t, store)
		return log.lastSealed >= head
	}, 10*time.Second, 10*time.Millisecond, "no seal covers position %d", head)
	stopSealer()
	require.NoError(t, <-sealerDone)

	log.events = readAllEvents(t, store)
	return log
}

// lastEventOutsideSeals is the position of the log's last event that is not
// a seal. The log's head may be a seal the sealer appended after it: a seal
// never covers itself, so waiting for one that covers the head would wait
// for ever.
func lastEventOutsideSeals(t *testing.T, store eventstore.Store) uint64 {
	t.Helper()
	var last uint64
	for _, rec := range readAllEvents(t, store) {
		if rec.Stream != seals.Stream {
			last = rec.Position
		}
	}
	return last
}

func lastSealed(t *testing.T, store eventstore.Store) uint64 {
	t.Helper()
	recs, err := store.ReadStream(t.Context(), seals.Stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 1})
	if err != nil || len(recs) == 0 {
		return 0
	}
	var s seals.Sealed
	require.NoError(t, json.Unmarshal(recs[0].Data, &s))
	return s.UpToPosition
}

func readAllEvents(t *testing.T, store eventstore.Store) []eventstore.RecordedEvent {
	t.Helper()
	recs, err := store.ReadAll(t.Context(), 0, 100000, eventstore.Filter{})
	require.NoError(t, err)
	return recs
}

// checkpoint compacts the database (no stale copies of events in free
// pages) and folds the WAL into the file, so that every event's bytes are
// in the file itself, once; then it removes the WAL.
func checkpoint(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`VACUUM`)
	require.NoError(t, err)
	_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
			require.NoError(t, err)
		}
	}
}

// verifyJSON runs `accessctl verify --json` and decodes its report.
func verifyJSON(t *testing.T, dir string, extra ...string) (int, seals.Report, string) {
	t.Helper()
	code, out, errOut := accessctl(t, append([]string{"verify", "--data-dir", dir, "--json"}, extra...)...)
	var rep seals.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "stdout: %s\nstderr: %s", out, errOut)
	return code, rep, errOut
}

func TestVerifyUntamperedLog(t *testing.T) {
	log := newSealedLog(t)
	code, rep, errOut := verifyJSON(t, log.dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Nil(t, rep.Failure)
	assert.Equal(t, uint64(len(log.events)), rep.Events)
	assert.GreaterOrEqual(t, rep.Seals, 1)
	assert.Empty(t, rep.Unchained)
	assert.Zero(t, rep.Unsealed)
	streams := map[string]bool{}
	for _, ev := range log.events {
		streams[ev.Stream] = true
	}
	assert.Equal(t, len(streams), rep.Streams)

	code, out, _ := accessctl(t, "verify", "--data-dir", log.dir)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, fmt.Sprintf("OK: %d streams, %d events, %d seals checked", rep.Streams, rep.Events, rep.Seals))

	// Progress lines go to stderr.
	code, _, errOut = accessctl(t, "verify", "--data-dir", log.dir, "--progress-every", "5")
	require.Equal(t, exitOK, code)
	assert.Contains(t, errOut, "verify: 5 events, position")
}

// verify only reads: the log it checks is left byte for byte as it was,
// also on a directory it cannot write, and a server holding the log's
// write lock does not stop it.
func TestVerifyWritesNothing(t *testing.T) {
	log := newSealedLog(t)
	before := dirSums(t, log.dir)
	code, out, errOut := accessctl(t, "verify", "--data-dir", log.dir)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	assert.Equal(t, before, dirSums(t, log.dir), "verify changed the directory")

	holdWriteLocks(t, log.dir, eventsFile)
	start := time.Now()
	code, out, errOut = accessctl(t, "verify", "--data-dir", log.dir)
	require.Equal(t, exitOK, code, "beside a writer: %s%s", out, errOut)
	assert.Less(t, time.Since(start), 5*time.Second, "verify waited for the writer")

	if !makeReadOnly(t, log.dir) {
		return
	}
	code, out, errOut = accessctl(t, "verify", "--data-dir", log.dir)
	require.Equal(t, exitOK, code, "read-only: %s%s", out, errOut)
}

func TestVerifyChecksTheSealSignature(t *testing.T) {
	log := newSealedLog(t)
	other, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	code, rep, _ := verifyJSON(t, log.dir, "--server-key", base64.StdEncoding.EncodeToString(other))
	require.Equal(t, exitFailed, code)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, seals.Stream, rep.Failure.Stream)
	assert.Contains(t, rep.Failure.Reason, "signature")

	// Without any key the seals cannot be checked: that is a failure too.
	require.NoError(t, os.Remove(filepath.Join(log.dir, serverKeyFile)))
	code, rep, _ = verifyJSON(t, log.dir)
	require.Equal(t, exitFailed, code)
	require.NotNil(t, rep.Failure)
	assert.Contains(t, rep.Failure.Reason, "public key")
}

// TestVerifyCatchesEveryByteFlip flips single bytes of stored events in the
// SQLite file itself, one at a time: inside the data and the metadata of
// events of every stream, the seals included. verify must exit 1 and name
// the event's stream each time.
func TestVerifyCatchesEveryByteFlip(t *testing.T) {
	log := newSealedLog(t)
	path := filepath.Join(log.dir, eventsFile)
	pristine, err := os.ReadFile(path)
	require.NoError(t, err)

	flips := 0
	masks := []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}
	for i, ev := range log.events {
		for _, part := range []struct {
			name  string
			bytes []byte
		}{{"data", ev.Data}, {"metadata", ev.Metadata}} {
			at := liveOffset(t, path, pristine, ev.Position, part.name, part.bytes)
			for _, off := range flipOffsets(part.bytes, i) {
				mask := masks[(flips+off)%len(masks)]
				tampered := bytes.Clone(pristine)
				tampered[at+off] ^= mask
				require.NoError(t, os.WriteFile(path, tampered, 0o600))
				code, rep, errOut := verifyJSON(t, log.dir)
				where := fmt.Sprintf("%s of %s@%d, byte %d (%q ^ %#x)", part.name, ev.Stream, ev.Revision, off, part.bytes[off], mask)
				require.Equal(t, exitFailed, code, "flip not caught: %s\n%s", where, errOut)
				require.NotNil(t, rep.Failure, where)
				require.Equal(t, ev.Stream, rep.Failure.Stream, "%s: %+v", where, rep.Failure)
				flips++
			}
		}
	}
	require.NoError(t, os.WriteFile(path, pristine, 0o600))
	code, _, errOut := verifyJSON(t, log.dir)
	require.Equal(t, exitOK, code, errOut)
	t.Logf("%d single-byte flips in %d events, each caught", flips, len(log.events))
}

// liveOffset finds where in the file the stored column (data or metadata)
// of the event at position starts: the copy SQLite reads, which flipping
// changes what a query returns (unused space in a page may hold stale
// copies of a record).
func liveOffset(t *testing.T, path string, pristine []byte, position uint64, column string, want []byte) int {
	t.Helper()
	for off := 0; ; off++ {
		i := bytes.Index(pristine[off:], want)
		require.GreaterOrEqual(t, i, 0, "live %s of the event at position %d not found in the file", column, position)
		off += i
		tampered := bytes.Clone(pristine)
		tampered[off] ^= 0x01
		require.NoError(t, os.WriteFile(path, tampered, 0o600))
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		var got []byte
		err = db.QueryRow(`SELECT `+column+` FROM events WHERE position = ?`, position).Scan(&got)
		require.NoError(t, db.Close())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, pristine, 0o600))
		if !bytes.Equal(got, want) {
			return off
		}
	}
}

// flipOffsets picks the bytes of an event's data or metadata to flip: the
// first and last, a spread in between (shifted per event, so the events
// together cover more), and the ones that say which schema and hash the
// metadata carries.
func flipOffsets(b []byte, shift int) []int {
	n := len(b)
	seen := map[int]bool{}
	var out []int
	add := func(i int) {
		if i >= 0 && i < n && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	add(0)
	add(n - 1)
	const spread = 12
	for k := range spread {
		add((k*n)/spread + shift%max(1, n/spread))
	}
	for _, key := range []string{`"schema":`, `"hash":"`, `"occurredAt":"`} {
		if i := bytes.Index(b, []byte(key)); i >= 0 {
			add(i + 1)          // the key's name
			add(i + len(key))   // the first byte of its value
			add(i + len(key)/2) // inside the name
		}
	}
	return out
}

// TestVerifyCatchesADeletedLastEvent removes the last event of a stream
// with SQL, as someone with the file could: the stream's chain still holds
// (it is a prefix of itself), but the position left empty in $all shows
// first, and the seal covering the event names a head the log no longer has.
func TestVerifyCatchesADeletedLastEvent(t *testing.T) {
	log := newSealedLog(t)
	path := filepath.Join(log.dir, eventsFile)
	pristine, err := os.ReadFile(path)
	require.NoError(t, err)

	pub, err := verifyKey(log.dir, "")
	require.NoError(t, err)
	last := map[string]eventstore.RecordedEvent{}
	for _, ev := range log.events {
		last[ev.Stream] = ev
	}
	for stream, ev := range last {
		if stream == seals.Stream || ev.Position > log.lastSealed {
			continue
		}
		t.Run(stream, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, pristine, 0o600))
			deleteEvent(t, path, ev.Stream, ev.Revision)
			code, rep, errOut := verifyJSON(t, log.dir)
			require.Equal(t, exitFailed, code, "deleting %s@%d not caught\n%s", ev.Stream, ev.Revision, errOut)
			require.NotNil(t, rep.Failure)
			assert.Equal(t, "$all", rep.Failure.Stream, "the gap in positions is what catches it first")
			assert.Equal(t, ev.Position, rep.Failure.Position)

			// Without relying on dense positions, the seal catches it.
			store, err := sqlite.Open(path)
			require.NoError(t, err)
			defer store.Close()
			sealRep, err := seals.Verify(t.Context(), store, seals.VerifyOptions{PublicKey: pub, Registry: commands.NewRegistry()})
			require.NoError(t, err)
			require.NotNil(t, sealRep.Failure)
			assert.Equal(t, seals.Stream, sealRep.Failure.Stream, "the seal is what catches it")
			if ev.Revision == 0 {
				assert.Contains(t, sealRep.Failure.Reason, "number of streams")
			} else {
				assert.Contains(t, sealRep.Failure.Reason, "Merkle root")
			}
		})
	}
	// A stream's event before its last leaves a gap in its revisions and in
	// $all's positions; the position's gap comes first in the log.
	for stream, ev := range last {
		if ev.Revision < 2 {
			continue
		}
		require.NoError(t, os.WriteFile(path, pristine, 0o600))
		deleteEvent(t, path, stream, ev.Revision-1)
		code, rep, _ := verifyJSON(t, log.dir)
		require.Equal(t, exitFailed, code)
		require.NotNil(t, rep.Failure)
		assert.Equal(t, "$all", rep.Failure.Stream)
		assert.Contains(t, rep.Failure.Reason, "missing from $all")

		// Without dense positions, whichever comes first in the log
		// catches it: the stream's next event (a gap in its revisions), or
		// a seal made between the two events (its root no longer matches).
		// (A seal deleted from the seals' own stream is that stream's gap.)
		store, err := sqlite.Open(path)
		require.NoError(t, err)
		sealRep, err := seals.Verify(t.Context(), store, seals.VerifyOptions{PublicKey: pub, Registry: commands.NewRegistry()})
		require.NoError(t, store.Close())
		require.NoError(t, err)
		require.NotNil(t, sealRep.Failure)
		if sealRep.Failure.Stream == stream {
			assert.Contains(t, sealRep.Failure.Reason, "not contiguous")
		} else {
			require.Equal(t, seals.Stream, sealRep.Failure.Stream)
			assert.Contains(t, sealRep.Failure.Reason, "Merkle root")
		}
		break
	}
}

// TestVerifyCatchesADeletedUnsealedLastEvent: after a crash, events after
// the last seal are covered by no seal. Removing the last event of a
// stream there leaves every chain whole, but not $all's positions: verify
// names the position, unless the event was the log's very last.
func TestVerifyCatchesADeletedUnsealedLastEvent(t *testing.T) {
	log := newSealedLog(t)
	path := filepath.Join(log.dir, eventsFile)
	store, err := sqlite.Open(path)
	require.NoError(t, err)
	service := serviceOn(t, log.dir, store)
	// No sealer runs: as after a crash, these two are not sealed. The
	// renamed property's event is its stream's last, not the log's.
	renamed, err := service.UpdateProperty(owner(t.Context(), log.accountID), log.propertyID, property.Update{DisplayName: "Unsealed"})
	require.NoError(t, err)
	created, err := service.CreateProperty(owner(t.Context(), log.accountID), commands.CreateProperty{DisplayName: "Unsealed too"})
	require.NoError(t, err)
	require.NoError(t, store.Close())
	checkpoint(t, path)
	require.Greater(t, renamed.Position, log.lastSealed)

	code, rep, errOut := verifyJSON(t, log.dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, uint64(2), rep.Unsealed)

	deleteEvent(t, path, renamed.Stream, renamed.Revision)
	code, rep, errOut = verifyJSON(t, log.dir)
	require.Equal(t, exitFailed, code, "deleting %s@%d after the last seal not caught\n%s", renamed.Stream, renamed.Revision, errOut)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, "$all", rep.Failure.Stream)
	assert.Equal(t, renamed.Position, rep.Failure.Position)
	assert.Contains(t, rep.Failure.Reason, "missing from $all")
	assert.Contains(t, rep.Failure.Found, fmt.Sprint(created.Position))

	code, out, _ := accessctl(t, "verify", "--data-dir", log.dir)
	require.Equal(t, exitFailed, code)
	assert.Contains(t, out, fmt.Sprintf("position: %d", renamed.Position))
}

// TestVerifyAfterTheLastSeal shows the limit: the log's last event,
// appended after the last seal and then deleted, leaves a log whose every
// chain holds and whose positions have no gap, so verify passes (and says
// how far the seals reach). A running server's next seal
// would be made from the heads it saw, and fail verification.
func TestVerifyAfterTheLastSeal(t *testing.T) {
	log := newSealedLog(t)
	path := filepath.Join(log.dir, eventsFile)
	store, err := sqlite.Open(path)
	require.NoError(t, err)
	service := serviceOn(t, log.dir, store)
	res, err := service.UpdateProperty(owner(t.Context(), log.accountID), log.propertyID, property.Update{DisplayName: "After the last seal"})
	require.NoError(t, err)
	require.NoError(t, store.Close())
	checkpoint(t, path)

	code, rep, errOut := verifyJSON(t, log.dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, uint64(1), rep.Unsealed)

	deleteEvent(t, path, res.Stream, res.Revision)
	code, _, errOut = verifyJSON(t, log.dir)
	assert.Equal(t, exitOK, code, "a deletion after the last seal cannot be seen in the log alone: %s", errOut)
}

func deleteEvent(t *testing.T, path, stream string, revision uint64) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	res, err := db.Exec(`DELETE FROM events WHERE stream = ? AND revision = ?`, stream, revision)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(t, err)
}

// TestVerifyCatchesAFlippedSchemaNumber flips the schema number of every
// event in the SQLite file to another digit. The hash covers the schema
// number, so the chain catches it before the registry is asked whether the
// type has that schema (it has not: every type is at schema 1 today, which
// would leave a type at schema 2 flipped to 1 unseen without the hash).
func TestVerifyCatchesAFlippedSchemaNumber(t *testing.T) {
	log := newSealedLog(t)
	path := filepath.Join(log.dir, eventsFile)
	pristine, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, ev := range log.events {
		require.Equal(t, eventstore.HashFormCurrent, eventstore.HashForm(metadataOf(t, ev).Hash), "%s@%d", ev.Stream, ev.Revision)
		key := []byte(`"schema":`)
		i := bytes.Index(ev.Metadata, key)
		require.GreaterOrEqual(t, i, 0, "%s@%d has no schema number", ev.Stream, ev.Revision)
		off := liveOffset(t, path, pristine, ev.Position, "metadata", ev.Metadata) + i + len(key)
		require.Equal(t, byte('1'), pristine[off])
		for _, mask := range []byte{0x02, 0x08} { // '1' becomes '3', '9'
			tampered := bytes.Clone(pristine)
			tampered[off] ^= mask
			require.NoError(t, os.WriteFile(path, tampered, 0o600))
			code, rep, errOut := verifyJSON(t, log.dir)
			where := fmt.Sprintf("schema of %s@%d flipped to %q", ev.Stream, ev.Revision, tampered[off])
			require.Equal(t, exitFailed, code, "not caught: %s\n%s", where, errOut)
			require.NotNil(t, rep.Failure, where)
			assert.Equal(t, ev.Stream, rep.Failure.Stream, where)
			assert.Equal(t, ev.Revision, rep.Failure.Revision, where)
			assert.Contains(t, rep.Failure.Reason, "hash does not match", where)
		}
	}
	require.NoError(t, os.WriteFile(path, pristine, 0o600))
	code, _, errOut := verifyJSON(t, log.dir)
	require.Equal(t, exitOK, code, errOut)
}

// TestVerifyCatchesAFlippedRequestFingerprint: an event of a request with
// an Idempotency-Key keeps the request's fingerprint in its metadata, which
// decides whether a later request with the key is a retry or a reuse. Every
// byte of it, and its removal, must show like any other metadata byte.
func TestVerifyCatchesAFlippedRequestFingerprint(t *testing.T) {
	log := newSealedLog(t)
	path := filepath.Join(log.dir, eventsFile)
	store, err := sqlite.Open(path)
	require.NoError(t, err)
	service := serviceOn(t, log.dir, store)
	ctx := commands.WithRequestFingerprint(commands.WithIdempotencyKey(owner(t.Context(), log.accountID), "rename-1"), "PATCH /properties/x {}")
	res, err := service.UpdateProperty(ctx, log.propertyID, property.Update{DisplayName: "Keyed"})
	require.NoError(t, err)
	all := readAllEvents(t, store)
	require.NoError(t, store.Close())
	checkpoint(t, path)
	ev := all[len(all)-1]
	require.Equal(t, res.Position, ev.Position)
	fingerprint := metadataOf(t, ev).RequestFingerprint
	require.NotEmpty(t, fingerprint)
	code, _, errOut := verifyJSON(t, log.dir)
	require.Equal(t, exitOK, code, errOut)

	at := bytes.Index(ev.Metadata, []byte(fingerprint))
	flipped := bytes.Clone(ev.Metadata)
	flipped[at+len(fingerprint)-1] ^= 0x01 // a hex digit becomes another
	removed := bytes.Replace(ev.Metadata, []byte(`,"requestFingerprint":"`+fingerprint+`"`), nil, 1)
	for name, md := range map[string][]byte{"flipped": flipped, "removed": removed} {
		require.NotEqual(t, ev.Metadata, md, name)
		setMetadata(t, path, ev.Position, md)
		code, rep, errOut := verifyJSON(t, log.dir)
		require.Equal(t, exitFailed, code, "%s fingerprint not caught\n%s", name, errOut)
		require.NotNil(t, rep.Failure, name)
		assert.Equal(t, ev.Stream, rep.Failure.Stream, name)
		assert.Equal(t, ev.Revision, rep.Failure.Revision, name)
	}
	setMetadata(t, path, ev.Position, ev.Metadata)
	code, _, errOut = verifyJSON(t, log.dir)
	require.Equal(t, exitOK, code, errOut)
}

// TestVerifyCatchesRemovedMetadata sets an event's metadata to NULL, as
// someone with the file could, leaving an event without a hash as if the
// log predated the chain. After the log's first hashed event no writer
// leaves one: verify names that event itself, whether it starts a stream
// of several events (whose next event would otherwise be named) or is the
// log's final seal (which no later seal covers).
func TestVerifyCatchesRemovedMetadata(t *testing.T) {
	log := newSealedLog(t)
	path := filepath.Join(log.dir, eventsFile)
	pristine, err := os.ReadFile(path)
	require.NoError(t, err)
	var first eventstore.RecordedEvent
	for _, ev := range log.events {
		if ev.Revision == 0 && ev.Position > 1 && strings.HasPrefix(ev.Stream, "property-") {
			first = ev
			break
		}
	}
	require.NotEmpty(t, first.Stream)
	final := log.events[len(log.events)-1]
	require.Equal(t, seals.Stream, final.Stream)
	for _, ev := range []eventstore.RecordedEvent{first, final} {
		require.NoError(t, os.WriteFile(path, pristine, 0o600))
		setMetadata(t, path, ev.Position, nil)
		code, rep, errOut := verifyJSON(t, log.dir)
		require.Equal(t, exitFailed, code, "metadata of %s@%d removed, not caught\n%s", ev.Stream, ev.Revision, errOut)
		require.NotNil(t, rep.Failure)
		assert.Equal(t, ev.Stream, rep.Failure.Stream)
		assert.Equal(t, ev.Revision, rep.Failure.Revision)
		assert.Equal(t, ev.Position, rep.Failure.Position)
		assert.Contains(t, rep.Failure.Reason, "no hash")
	}
}

func setMetadata(t *testing.T, path string, position uint64, metadata []byte) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`UPDATE events SET metadata = ? WHERE position = ?`, metadata, position)
	require.NoError(t, err)
}

// legacyHashLog is a data directory written and sealed by a build from
// before the schema number joined the hash (testdata/legacy-hash-log: the
// log of newSealedLog, made with that build).
const legacyHashLog = "testdata/legacy-hash-log"

// TestVerifyLegacyHashLog: a log written before the schema number was
// hashed still verifies, and so does one that a current build appended to;
// an event in the legacy form after the log's first current-form one does
// not.
func TestVerifyLegacyHashLog(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{eventsFile, serverKeyFile} {
		b, err := os.ReadFile(filepath.Join(legacyHashLog, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	path := filepath.Join(dir, eventsFile)

	code, rep, errOut := verifyJSON(t, dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, rep.Unchained)
	assert.GreaterOrEqual(t, rep.Seals, 1)
	assert.Zero(t, rep.Unsealed)

	store, err := sqlite.Open(path)
	require.NoError(t, err)
	old := readAllEvents(t, store)
	for _, ev := range old {
		require.Equal(t, eventstore.HashFormLegacy, eventstore.HashForm(metadataOf(t, ev).Hash), "the fixture is in the legacy form: %s@%d", ev.Stream, ev.Revision)
	}

	// A legacy event's schema number is outside its hash: the registry is
	// what refuses a schema its type does not have.
	pristine, err := os.ReadFile(path)
	require.NoError(t, err)
	victim := old[len(old)/2]
	key := []byte(`"schema":`)
	off := liveOffset(t, path, pristine, victim.Position, "metadata", victim.Metadata) + bytes.Index(victim.Metadata, key) + len(key)
	tampered := bytes.Clone(pristine)
	tampered[off] ^= 0x02
	require.NoError(t, os.WriteFile(path, tampered, 0o600))
	code, rep, errOut = verifyJSON(t, dir)
	require.Equal(t, exitFailed, code, errOut)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, victim.Stream, rep.Failure.Stream)
	assert.Contains(t, rep.Failure.Reason, "schema")
	require.NoError(t, os.WriteFile(path, pristine, 0o600))

	// The current build appends in the current form, after the legacy
	// events, even within one stream.
	var accountID, propertyID uuid.UUID
	registry := commands.NewRegistry()
	for _, ev := range old {
		env, err := registry.Decode(ev)
		require.NoError(t, err)
		switch e := env.Event.(type) {
		case account.AccountCreated:
			accountID = e.AccountID
		case property.PropertyCreated:
			propertyID = e.PropertyID
		}
	}
	pipeline, err := commands.NewPipeline(store, registry, time.Now)
	require.NoError(t, err)
	cmdKey, err := loadOrCreateSecret(dir, commandKeyFile, commandKeySize)
	require.NoError(t, err)
	service, err := commands.NewService(pipeline, cmdKey)
	require.NoError(t, err)
	var appended []commands.Result
	for i := range 2 {
		res, err := service.UpdateProperty(owner(t.Context(), accountID), propertyID, property.Update{DisplayName: fmt.Sprintf("Upgraded %d", i)})
		require.NoError(t, err)
		appended = append(appended, res)
	}
	all := readAllEvents(t, store)
	require.NoError(t, store.Close())
	checkpoint(t, path)
	newer := all[len(old):]
	require.Len(t, newer, 2)
	for _, ev := range newer {
		require.Equal(t, eventstore.HashFormCurrent, eventstore.HashForm(metadataOf(t, ev).Hash))
		require.Equal(t, appended[0].Stream, ev.Stream)
	}
	code, rep, errOut = verifyJSON(t, dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, uint64(2), rep.Unsealed)

	// The last event rewritten in the legacy form, with a hash that matches
	// that form: refused, the log switched forms before it.
	last := newer[1]
	meta := metadataOf(t, last)
	meta.Hash = eventstore.LegacyChainHash(metadataOf(t, newer[0]).Hash, last.ID, last.Type, last.Stream, last.Revision, last.Data, meta)
	md, err := json.Marshal(meta)
	require.NoError(t, err)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE events SET metadata = ? WHERE position = ?`, md, last.Position)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	code, rep, errOut = verifyJSON(t, dir)
	require.Equal(t, exitFailed, code, errOut)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, last.Stream, rep.Failure.Stream)
	assert.Equal(t, last.Revision, rep.Failure.Revision)
	assert.Contains(t, rep.Failure.Reason, "legacy-form hash")
}

func metadataOf(t *testing.T, ev eventstore.RecordedEvent) eventstore.Metadata {
	t.Helper()
	var meta eventstore.Metadata
	require.NoError(t, json.Unmarshal(ev.Metadata, &meta))
	return meta
}

// TestVerifyOnPostgres verifies a log the command pipeline and the sealer
// wrote into PostgreSQL, named by --eventstore as the servers name it; the
// server key still comes from the data directory. Then it rewrites one
// event's data and removes an unsealed event with SQL, as someone with
// access to the database could: verify names the event, then the position.
func TestVerifyOnPostgres(t *testing.T) {
	ctx := t.Context()
	eventStore := servicetest.PostgresSchema(t)
	store, err := postgres.Open(ctx, eventStore)
	require.NoError(t, err)
	log := writeSealedLog(t, t.TempDir(), store)
	// As after a crash, no seal covers these two. The renamed property's
	// event is its stream's last, not the log's.
	service := serviceOn(t, log.dir, store)
	renamed, err := service.UpdateProperty(owner(ctx, log.accountID), log.propertyID, property.Update{DisplayName: "Unsealed"})
	require.NoError(t, err)
	created, err := service.CreateProperty(owner(ctx, log.accountID), commands.CreateProperty{DisplayName: "Unsealed too"})
	require.NoError(t, err)
	require.NoError(t, store.Close())
	require.Greater(t, renamed.Position, log.lastSealed)

	code, rep, errOut := verifyJSON(t, log.dir, "--eventstore", eventStore)
	require.Equal(t, exitOK, code, errOut)
	require.Nil(t, rep.Failure)
	assert.Equal(t, uint64(len(log.events)+2), rep.Events)
	assert.GreaterOrEqual(t, rep.Seals, 1)
	assert.Equal(t, uint64(2), rep.Unsealed)
	assert.Empty(t, rep.Unchained)

	// ACCESSD_EVENTSTORE names it as well; no data directory's log is read.
	code, out, errOut := accessctlEnv(t, map[string]string{"ACCESSD_EVENTSTORE": eventStore}, "verify", "--data-dir", log.dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, fmt.Sprintf("OK: %d streams, %d events, %d seals checked", rep.Streams, rep.Events, rep.Seals))
	assert.NotContains(t, out, "not checked for gaps")
	_, err = os.Stat(filepath.Join(log.dir, eventsFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "verify on PostgreSQL created a SQLite log")

	db, err := pgx.Connect(ctx, eventStore)
	require.NoError(t, err)
	defer db.Close(context.Background())

	// One byte of a property's event, inside what a seal covers.
	var victim eventstore.RecordedEvent
	for _, ev := range log.events {
		if ev.Stream != seals.Stream && ev.Position <= log.lastSealed && bytes.Contains(ev.Data, []byte("Tamper Hotel")) {
			victim = ev
			break
		}
	}
	require.NotEmpty(t, victim.Stream)
	at := bytes.Index(victim.Data, []byte("Tamper Hotel"))
	require.GreaterOrEqual(t, at, 0, "%s", victim.Data)
	tampered := bytes.Clone(victim.Data)
	tampered[at] = 't'
	setData := func(data []byte) {
		t.Helper()
		tag, err := db.Exec(ctx, `UPDATE es_events SET data = $1 WHERE position = $2`, data, int64(victim.Position))
		require.NoError(t, err)
		require.Equal(t, int64(1), tag.RowsAffected())
	}
	setData(tampered)
	code, rep, errOut = verifyJSON(t, log.dir, "--eventstore", eventStore)
	require.Equal(t, exitFailed, code, "rewritten data of %s@%d not caught\n%s", victim.Stream, victim.Revision, errOut)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, victim.Stream, rep.Failure.Stream)
	assert.Equal(t, victim.Revision, rep.Failure.Revision)
	assert.Equal(t, victim.Position, rep.Failure.Position)
	assert.Equal(t, victim.ID.String(), rep.Failure.EventID)
	code, out, _ = accessctl(t, "verify", "--data-dir", log.dir, "--eventstore", eventStore)
	require.Equal(t, exitFailed, code)
	assert.Contains(t, out, "event:    "+victim.Type+" "+victim.ID.String())
	setData(victim.Data)
	code, _, errOut = verifyJSON(t, log.dir, "--eventstore", eventStore)
	require.Equal(t, exitOK, code, "the original bytes back: %s", errOut)

	// The unsealed event removed: every chain holds, no seal covers it,
	// and the position it leaves empty names it.
	tag, err := db.Exec(ctx, `DELETE FROM es_events WHERE stream = $1 AND revision = $2`, renamed.Stream, int64(renamed.Revision))
	require.NoError(t, err)
	require.Equal(t, int64(1), tag.RowsAffected())
	code, rep, errOut = verifyJSON(t, log.dir, "--eventstore", eventStore)
	require.Equal(t, exitFailed, code, "deleting %s@%d after the last seal not caught\n%s", renamed.Stream, renamed.Revision, errOut)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, "$all", rep.Failure.Stream)
	assert.Equal(t, renamed.Position, rep.Failure.Position)
	assert.Contains(t, rep.Failure.Reason, "missing from $all")
	assert.Contains(t, rep.Failure.Found, fmt.Sprint(created.Position))
	code, out, _ = accessctl(t, "verify", "--data-dir", log.dir, "--eventstore", eventStore)
	require.Equal(t, exitFailed, code)
	assert.Contains(t, out, fmt.Sprintf("position: %d", renamed.Position))
}

// TestVerifyOnKurrent verifies a log written into the in-process KurrentDB
// server. Its positions are byte offsets: verify does not read gaps in
// them as removed events, and says so.
func TestVerifyOnKurrent(t *testing.T) {
	ctx := t.Context()
	for _, scheme := range []string{"esdb", "kurrentdb"} {
		t.Run(scheme, func(t *testing.T) {
			eventStore := strings.Replace(kurrenttest.Start(t), "esdb://", scheme+"://", 1)
			store, err := kurrent.Open(ctx, eventStore)
			require.NoError(t, err)
			log := writeSealedLog(t, t.TempDir(), store)
			require.NoError(t, store.Close())

			code, out, errOut := accessctl(t, "verify", "--data-dir", log.dir, "--eventstore", eventStore, "--json")
			require.Equal(t, exitOK, code, errOut)
			var rep struct {
				OK             bool `json:"ok"`
				DensePositions bool `json:"densePositions"`
				seals.Report
			}
			require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
			assert.True(t, rep.OK)
			assert.False(t, rep.DensePositions)
			assert.Equal(t, uint64(len(log.events)), rep.Events)
			assert.GreaterOrEqual(t, rep.Seals, 1)
			assert.Zero(t, rep.Unsealed)

			code, out, errOut = accessctl(t, "verify", "--data-dir", log.dir, "--eventstore", eventStore)
			require.Equal(t, exitOK, code, errOut)
			assert.Contains(t, out, fmt.Sprintf("OK: %d streams, %d events", rep.Streams, rep.Events))
			assert.Contains(t, out, "positions not checked for gaps")
		})
	}
}

// TestVerifyBadEventStore: a setting that is wrong or names a server that
// does not answer fails as the other commands fail, naming --eventstore
// and never the password.
func TestVerifyBadEventStore(t *testing.T) {
	dir := t.TempDir()
	for setting, want := range map[string]int{
		"postgres://postgres:hunter2@127.0.0.1:1/x?connect_timeout=2": exitFailed, // no server answers
		"mysql://postgres:hunter2@127.0.0.1/x":                        exitUsage,  // no such backend
		"postgres://":                                                 exitUsage,  // no host
	} {
		code, out, errOut := accessctl(t, "verify", "--data-dir", dir, "--eventstore", setting)
		assert.Equal(t, want, code, "%s: %s%s", setting, out, errOut)
		assert.Contains(t, errOut, "--eventstore", setting)
		assert.NotContains(t, errOut, "hunter2")
		assert.Empty(t, out)
	}
}

// Settings and flags that cannot be right are usage errors (exit 2) on
// every command that takes them, naming the flag, before anything opens.
func TestBadSettingsAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	id := uuid.NewString()
	for _, args := range [][]string{
		{"verify", "--eventstore", "mysql://root:hunter2@db/x"},
		{"verify", "--progress-every", "-1"},
		{"export", "--lock", id, "--out", out, "--progress-every", "-5"},
		{"export", "--lock", id, "--out", out, "--eventstore", "mysql://root:hunter2@db/x"},
		{"export", "--lock", id, "--out", out, "--readmodels", "mongodb://root:hunter2@db/x"},
		{"projections", "list", "--eventstore", "nope"},
		{"projections", "status", "--readmodels", "postgres://"},
		{"projections", "rebuild", "--all", "--readmodels", "mysql://root:hunter2@db/x"},
		// Given empty (an unset variable in --eventstore "$ES"): refused as
		// the server refuses it, never the data directory's own files.
		{"verify", "--eventstore", ""},
		{"export", "--lock", id, "--out", out, "--readmodels", ""},
		{"projections", "list", "--eventstore", ""},
		{"projections", "rebuild", "--all", "--readmodels", ""},
	} {
		flag := ""
		for _, a := range args {
			if strings.HasPrefix(a, "--") && a != "--lock" && a != "--out" && a != "--all" {
				flag = a
			}
		}
		code, stdout, stderr := accessctl(t, append(args, "--data-dir", dir)...)
		assert.Equal(t, exitUsage, code, "%v: %s%s", args, stdout, stderr)
		assert.Contains(t, stderr, flag, args)
		assert.NotContains(t, stderr, "hunter2", args)
		assert.NotContains(t, stderr, "no event store", args)
	}
	_, err := os.Stat(out)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestVerifyCatchesALogEndingBelowTheReadModels: events removed from the
// end of the log after the read models (or the bus forwarder) read them
// leave no gap and no broken chain, and may be after the last seal; the
// checkpoints the data directory recorded from the log show them.
func TestVerifyCatchesALogEndingBelowTheReadModels(t *testing.T) {
	log := newSealedLog(t)
	last := log.events[len(log.events)-1].Position
	db, err := sql.Open("sqlite", filepath.Join(log.dir, "readmodels.db"))
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE projection_checkpoints (name TEXT PRIMARY KEY, version INTEGER NOT NULL, position BIGINT NOT NULL)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO projection_checkpoints VALUES ('entities', 1, ?), ('bookings', 1, ?)`, last, last)
	require.NoError(t, err)

	code, rep, errOut := verifyJSON(t, log.dir)
	require.Equal(t, exitOK, code, "checkpoints at the log's end: %s", errOut)
	require.Nil(t, rep.Failure)

	_, err = db.Exec(`UPDATE projection_checkpoints SET position = ? WHERE name = 'entities'`, last+2)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	code, rep, errOut = verifyJSON(t, log.dir)
	require.Equal(t, exitFailed, code, errOut)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, last+1, rep.Failure.Position)
	assert.Contains(t, rep.Failure.Reason, fmt.Sprintf("the log ends at position %d", last))
	assert.Contains(t, rep.Failure.Reason, fmt.Sprintf("readmodels.db projection entities at %d", last+2))
	assert.Contains(t, rep.Failure.Reason, fmt.Sprintf("positions %d to %d were read from the log and removed", last+1, last+2))
	assert.NotContains(t, rep.Failure.Reason, "bookings")

	// --eventstore names a log of its own: the data directory's files are
	// not about it.
	code, _, errOut = verifyJSON(t, log.dir, "--eventstore", "sqlite:"+filepath.Join(log.dir, eventsFile))
	require.Equal(t, exitOK, code, errOut)
}
