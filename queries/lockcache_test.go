package queries_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/firmware"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

// countedChanges stands for projections.Changes: the test moves the count
// as a runner would after each commit.
type countedChanges struct {
	count atomic.Uint64
	ok    atomic.Bool
}

func (c *countedChanges) Count() (uint64, bool) { return c.count.Load(), c.ok.Load() }

// GetLock serves a lock it read while the change count stays the same,
// on SQLite read models (on PostgreSQL it always reads the tables),
// reads it again once the count moves, and never serves from the cache
// while the read models are applied elsewhere (not ok). The rename below
// is written without moving the count, which no runner does, to see
// which of the two GetLock answered from.
func TestGetLockCachesUntilTheReadModelsChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := readmodeltest.Open(ctx, t, filepath.Join(t.TempDir(), "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	ents := entities.New()
	pos := uint64(0)
	tx := func(f func(projections.Tx) error) {
		t.Helper()
		sqlTx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, f(projections.Tx{Tx: sqlTx, Dialect: db.Dialect}))
		require.NoError(t, sqlTx.Commit())
	}
	for _, p := range []projections.Projection{ents, keymaps.New(), firmware.New()} {
		tx(func(tx projections.Tx) error { return p.Setup(ctx, tx) })
	}
	apply := func(e eventstore.TypedEvent) {
		t.Helper()
		pos++
		env := eventstore.Envelope{ID: uuid.New(), Type: e.EventType(), Position: pos, Event: e, Known: true,
			Metadata: eventstore.Metadata{OccurredAt: time.Date(2026, 1, 1, 0, 0, int(pos), 0, time.UTC)}}
		tx(func(tx projections.Tx) error { return ents.Apply(ctx, tx, env) })
	}
	account, lockID := uuid.New(), uuid.New()
	apply(lock.LockProvisioned{LockID: lockID, AccountID: account, DisplayName: "Door", APIKeyID: uuid.New()})
	rename := func(name string) {
		t.Helper()
		apply(lock.LockUpdated{LockID: lockID, AccountID: account, DisplayName: name})
	}
	changes := &countedChanges{}
	changes.ok.Store(true)
	q := queries.NewEntities(db).CacheLocks(changes)
	name := func() string {
		t.Helper()
		d, err := q.GetLock(ctx, account.String(), lockID.String())
		require.NoError(t, err)
		var out struct{ DisplayName string }
		require.NoError(t, json.Unmarshal(d.Public, &out))
		return out.DisplayName
	}

	assert.Equal(t, "Door", name())
	rename("Front door")
	if db.Dialect != projections.SQLite {
		assert.Equal(t, "Front door", name(), "shared PostgreSQL read models are never cached")
		return
	}
	assert.Equal(t, "Door", name(), "served from the cache: the count did not move")
	_, err := q.GetLock(ctx, uuid.NewString(), lockID.String())
	assert.ErrorIs(t, err, queries.ErrEntityNotFound, "another account's lock is not found, cached or not")

	changes.count.Add(1)
	assert.Equal(t, "Front door", name(), "read again once the count moved")

	changes.ok.Store(false)
	rename("Back door")
	assert.Equal(t, "Back door", name(), "never from the cache while another process applies the events")
	rename("Side door")
	assert.Equal(t, "Side door", name())
}
