package timeline_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/projections/timeline"
)

// TestSubjectPropertyInOneBatchEqualsOneEventAtATime: the feed files an
// event that names no property under the last property its stream named,
// keeping what the batch's transaction wrote in its memo. A lock moving
// from one property to another and back, with events naming none between,
// gives the same feed one event per transaction (live) and all in one
// (a rebuild).
func TestSubjectPropertyInOneBatchEqualsOneEventAtATime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	db := readmodeltest.Open(ctx, t, filepath.Join(dir, "read.db"))
	reg := eventstore.NewRegistry()
	for _, e := range lock.Events() {
		reg.Register(e)
	}
	p := []projections.Projection{timeline.NewActivity(reg)}
	r, err := projections.NewRunner(db, store, reg, p[0], slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	set := projections.NewSet(store, r)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; db.Close(); store.Close() })

	account, l, p1, p2 := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	emit := func(e domain.Event) {
		data, err := reg.Encode(uuid.New(), e, eventstore.Metadata{OccurredAt: time.Now(), AccountID: account.String()})
		require.NoError(t, err)
		res, err := store.Append(ctx, "lock-"+l.String(), eventstore.Any, data)
		require.NoError(t, err)
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		require.NoError(t, set.WaitFor(wctx, res.Position))
	}
	rename := func(name string) lock.LockUpdated {
		return lock.LockUpdated{LockID: l, AccountID: account, DisplayName: name}
	}
	emit(lock.LockProvisioned{LockID: l, AccountID: account, DisplayName: "door"})
	emit(rename("no property yet"))
	emit(lock.LockInstalled{LockID: l, AccountID: account, PropertyID: p1, AreaID: uuid.New()})
	emit(rename("in the first"))
	emit(lock.LockUninstalled{LockID: l, AccountID: account, PropertyID: p1, Mode: lock.UninstallProperty})
	emit(lock.LockInstalled{LockID: l, AccountID: account, PropertyID: p2, AreaID: uuid.New()})
	emit(rename("in the second"))
	emit(lock.LockInstalled{LockID: l, AccountID: account, PropertyID: p1, AreaID: uuid.New()})
	emit(rename("back in the first"))

	live, err := readmodeltest.Checksums(ctx, db, p)
	require.NoError(t, err)
	rb := &projections.Rebuild{DB: db, Store: store, Registry: reg, Projections: p}
	require.NoError(t, rb.Run(ctx))
	rebuilt, err := readmodeltest.Checksums(ctx, db, p)
	require.NoError(t, err)
	assert.Equal(t, live, rebuilt)

	var properties []string
	rows, err := db.QueryContext(ctx, `SELECT property_id FROM `+timeline.Table+` ORDER BY position`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var prop string
		require.NoError(t, rows.Scan(&prop))
		properties = append(properties, prop)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"", "", p1.String(), p1.String(), p1.String(), p2.String(), p2.String(), p1.String(), p1.String()}, properties)
}
