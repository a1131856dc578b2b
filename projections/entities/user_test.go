package entities_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/readmodeltest"
)

// applier feeds events to the entities projection one transaction each.
type applier struct {
	t   *testing.T
	db  *projections.DB
	p   *entities.Projection
	pos uint64
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	db := readmodeltest.Open(context.Background(), t, filepath.Join(t.TempDir(), "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	a := &applier{t: t, db: db, p: entities.New()}
	a.tx(func(tx projections.Tx) { require.NoError(t, a.p.Setup(context.Background(), tx)) })
	return a
}

func (a *applier) tx(f func(projections.Tx)) {
	a.t.Helper()
	sqlTx, err := a.db.BeginTx(context.Background(), nil)
	require.NoError(a.t, err)
	f(projections.Tx{Tx: sqlTx, Dialect: a.db.Dialect})
	require.NoError(a.t, sqlTx.Commit())
}

// apply delivers an event at the next position; redeliver again at pos.
func (a *applier) apply(e eventstore.TypedEvent) uint64 {
	a.t.Helper()
	a.pos++
	a.redeliver(e, a.pos)
	return a.pos
}

func (a *applier) redeliver(e eventstore.TypedEvent, pos uint64) {
	a.t.Helper()
	env := eventstore.Envelope{
		ID: uuid.New(), Type: e.EventType(), Position: pos, Event: e, Known: true,
		Metadata: eventstore.Metadata{OccurredAt: time.Date(2026, 1, 1, 0, 0, int(pos), 0, time.UTC), APIKeyID: "key"},
	}
	a.tx(func(tx projections.Tx) { require.NoError(a.t, a.p.Apply(context.Background(), tx, env)) })
}

func load[T any](a *applier, kind, id string) (T, entities.Row, bool) {
	a.t.Helper()
	var doc T
	var row entities.Row
	var found bool
	a.tx(func(tx projections.Tx) {
		var err error
		doc, row, found, err = entities.Load[T](context.Background(), tx, kind, id)
		require.NoError(a.t, err)
	})
	return doc, row, found
}

func TestUserAndDeviceDocuments(t *testing.T) {
	t.Parallel()
	a := newApplier(t)
	accountID, userID, devID := uuid.New(), uuid.New(), uuid.New()
	created := user.UserCreated{UserID: userID, AccountID: accountID, DisplayName: "Ana", SealedPrivate: "v1.sealed"}
	createdAt := a.apply(created)

	u, row, found := load[entities.User](a, entities.KindUser, userID.String())
	require.True(t, found)
	assert.Equal(t, "v1.sealed", u.SealedPrivate, "the stored document keeps the sealed text")
	assert.Equal(t, []string{}, u.DeviceIDs)
	assert.Equal(t, accountID.String(), row.AccountID)
	var public string
	require.NoError(t, a.db.QueryRow(a.db.Dialect.Rebind(`SELECT public FROM entities WHERE kind = ? AND id = ?`), entities.KindUser, userID.String()).Scan(&public))
	assert.NotContains(t, public, "sealedPrivate", "the public column lacks it")

	provisioned := device.UserDeviceProvisioned{UserDeviceID: devID, AccountID: accountID, UserID: userID, DeviceType: device.IOS,
		MakeModel: "iPhone", DisplayName: "phone", PublicKey: "pk", EncryptionPublicKey: "ek", AccessKeyID: uuid.New()}
	provisionedAt := a.apply(provisioned)
	a.apply(device.UserDeviceUpdated{UserDeviceID: devID, AccountID: accountID, UserID: userID, DeviceType: device.Android, MakeModel: "Pixel", DisplayName: "work"})
	rotated := uuid.New()
	a.apply(device.UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID, PublicKey: "pk2", EncryptionPublicKey: "ek2", AccessKeyID: rotated})
	a.apply(user.UserUpdated{UserID: userID, AccountID: accountID, DisplayName: "Ana M.", SealedPrivate: "v1.other"})

	// Re-delivered creations undo nothing and list the device once.
	a.redeliver(created, createdAt)
	a.redeliver(provisioned, provisionedAt)

	d, row, found := load[entities.Device](a, entities.KindDevice, devID.String())
	require.True(t, found)
	assert.Equal(t, userID.String(), row.ParentID)
	assert.Equal(t, device.Android, d.DeviceType)
	assert.Equal(t, "work", d.DisplayName)
	assert.Equal(t, "pk2", d.PublicKey)
	assert.Equal(t, rotated.String(), d.AccessKeyID)
	u, _, _ = load[entities.User](a, entities.KindUser, userID.String())
	assert.Equal(t, "Ana M.", u.DisplayName)
	assert.Equal(t, "v1.other", u.SealedPrivate)
	assert.Equal(t, []string{devID.String()}, u.DeviceIDs)

	a.apply(device.UserDeviceDeprovisioned{UserDeviceID: devID, AccountID: accountID, UserID: userID, AccessKeyID: rotated})
	a.apply(device.UserDeviceDeprovisioned{UserDeviceID: devID, AccountID: accountID, UserID: userID, AccessKeyID: rotated})
	d, row, _ = load[entities.Device](a, entities.KindDevice, devID.String())
	assert.Equal(t, entities.StateDeleted, d.TypeState)
	assert.Equal(t, entities.StateDeleted, row.State)
	u, _, _ = load[entities.User](a, entities.KindUser, userID.String())
	assert.Equal(t, []string{}, u.DeviceIDs)

	a.apply(user.UserDeleted{UserID: userID, AccountID: accountID})
	u, row, _ = load[entities.User](a, entities.KindUser, userID.String())
	assert.Equal(t, entities.StateDeleted, u.TypeState)
	assert.Equal(t, entities.StateDeleted, row.State)
	assert.Empty(t, u.SealedPrivate)
}
