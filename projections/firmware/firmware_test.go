package firmware_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/area"
	fw "github.com/accessd/accessd/domain/firmware"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/firmware"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

type fixture struct {
	t        *testing.T
	store    *memstore.Store
	registry *eventstore.Registry
	set      *projections.Set
	q        *queries.Firmware
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := memstore.New()
	db := readmodeltest.Open(ctx, t, filepath.Join(t.TempDir(), "readmodels.db"))
	reg := eventstore.NewRegistry()
	for _, events := range [][]eventstore.TypedEvent{
		typed(fw.Events()), typed(area.Events()), typed(lock.Events()), typed(property.Events()),
	} {
		for _, e := range events {
			reg.Register(e)
		}
	}
	r, err := projections.NewRunner(db, store, reg, firmware.New(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	set := projections.NewSet(store, r)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
		store.Close()
	})
	return &fixture{t: t, store: store, registry: reg, set: set, q: queries.NewFirmware(db)}
}

func typed[E eventstore.TypedEvent](es []E) []eventstore.TypedEvent {
	out := make([]eventstore.TypedEvent, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// append writes events to a stream, waits for the read model, and returns
// the position of the last.
func (f *fixture) append(stream string, evs ...eventstore.TypedEvent) uint64 {
	f.t.Helper()
	var data []eventstore.EventData
	for _, e := range evs {
		d, err := f.registry.Encode(uuid.New(), e, eventstore.Metadata{OccurredAt: time.Now()})
		require.NoError(f.t, err)
		data = append(data, d)
	}
	res, err := f.store.Append(context.Background(), stream, eventstore.Any, data...)
	require.NoError(f.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(f.t, f.set.WaitFor(ctx, res.Position))
	return res.Position
}

func (f *fixture) required(account, lockID uuid.UUID) string {
	f.t.Helper()
	v, err := f.q.RequiredFor(context.Background(), account, lockID)
	require.NoError(f.t, err)
	return v
}

func assigned(account uuid.UUID, version string, t fw.Target) fw.FirmwareVersionAssigned {
	e := fw.FirmwareVersionAssigned{AccountID: account, FirmwareVersion: version, Scope: t.Scope}
	switch t.Scope {
	case fw.ScopeLock:
		e.LockID = t.ID
	case fw.ScopeArea:
		e.AreaID = t.ID
	case fw.ScopeProperty:
		e.PropertyID = t.ID
	}
	return e
}

func TestResolutionAndTargetsThatGo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	account, other := uuid.New(), uuid.New()
	prop, top, mid, leaf, lockID := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	f.append("area-x",
		area.AreaCreated{AreaID: top, AccountID: account, PropertyID: prop},
		area.AreaCreated{AreaID: mid, AccountID: account, PropertyID: prop, ParentAreaID: top},
		area.AreaCreated{AreaID: leaf, AccountID: account, PropertyID: prop, ParentAreaID: mid},
	)
	f.append("lock-x",
		lock.LockProvisioned{LockID: lockID, AccountID: account},
		lock.LockInstalled{LockID: lockID, AccountID: account, PropertyID: prop, AreaID: leaf},
	)
	for _, v := range []string{"g", "p", "t", "l"} {
		f.append("fw-"+v, fw.FirmwareVersionUploaded{AccountID: account, FirmwareVersion: v, DeviceType: fw.DeviceLock, Size: 1, SHA256: strings.Repeat("a", 64)})
	}
	assert.Equal(t, "", f.required(account, lockID))
	f.append("as-g", assigned(account, "g", fw.Target{Scope: fw.ScopeGlobal}))
	f.append("as-other", assigned(other, "l", fw.Target{Scope: fw.ScopeLock, ID: lockID}))
	assert.Equal(t, "g", f.required(account, lockID), "another account's assignment does not apply")
	f.append("as-p", assigned(account, "p", fw.Target{Scope: fw.ScopeProperty, ID: prop}))
	assert.Equal(t, "p", f.required(account, lockID))
	topPos := f.append("as-t", assigned(account, "t", fw.Target{Scope: fw.ScopeArea, ID: top}))
	assert.Equal(t, "t", f.required(account, lockID), "two levels up")
	f.append("as-l", assigned(account, "l", fw.Target{Scope: fw.ScopeLock, ID: lockID}))
	assert.Equal(t, "l", f.required(account, lockID))

	v, err := f.q.Version(context.Background(), account, "t")
	require.NoError(t, err)
	assert.Equal(t, []queries.FirmwareScope{{Scope: "area", AreaID: top.String()}}, v.Scopes)

	// The top area's version is unassigned; the old assignment delivered
	// again does not bring it back.
	f.append("as-t", fw.FirmwareVersionUnassigned{AccountID: account, FirmwareVersion: "t", Scope: fw.ScopeArea, AreaID: top})
	require.NoError(t, f.set.Reprocess(context.Background(), topPos))
	v, err = f.q.Version(context.Background(), account, "t")
	require.NoError(t, err)
	assert.Empty(t, v.Scopes)

	// The lock released from the account loses its own assignment.
	f.append("lock-x", lock.LockUninstalled{LockID: lockID, AccountID: account, PropertyID: prop, AreaID: leaf, Mode: lock.UninstallOwner})
	assert.Equal(t, "g", f.required(account, lockID), "neither its own, its areas' nor its property's")
	v, err = f.q.Version(context.Background(), account, "l")
	require.NoError(t, err)
	assert.Empty(t, v.Scopes)

	// A deleted property's assignment goes.
	f.append("prop-x", property.PropertyDeleted{PropertyID: prop, AccountID: account})
	v, err = f.q.Version(context.Background(), account, "p")
	require.NoError(t, err)
	assert.Empty(t, v.Scopes)

	_, err = f.q.Version(context.Background(), other, "g")
	assert.ErrorIs(t, err, queries.ErrEntityNotFound, "versions are per account")
}
