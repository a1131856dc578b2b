package httpapi

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

// authWorld is a command service and its read models, with an API that
// authenticates against them (a.entities): enough to resolve keys.
type authWorld struct {
	ctx      context.Context
	dir      string
	db       *projections.DB
	store    *sqlite.Store
	service  *commands.Service
	waiter   *recordingWaiter
	a        *API
	owner    domain.Actor
	ownerCtx context.Context
	// caughtUp waits for the read models to show the whole log.
	caughtUp func()
	// stopReadModels stops the projections: the read models stay where
	// they are.
	stopReadModels func()
}

func newAuthWorld(t *testing.T) *authWorld {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &authWorld{ctx: ctx, dir: t.TempDir(), waiter: &recordingWaiter{}}
	var err error
	w.store, err = sqlite.Open(filepath.Join(w.dir, "events.db"))
	require.NoError(t, err)
	t.Cleanup(func() { w.store.Close() })
	db := readmodeltest.Open(ctx, t, filepath.Join(w.dir, "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	w.db = db
	registry := commands.NewRegistry()
	pipeline, err := commands.NewPipeline(w.store, registry, time.Now)
	require.NoError(t, err)
	w.service, err = commands.NewService(pipeline, bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	runner, err := projections.NewRunner(db, w.store, registry, entities.New(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	set := projections.NewSet(w.store, runner)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(runCtx) }()
	w.stopReadModels = func() { stop(); <-done }
	t.Cleanup(w.stopReadModels)
	w.caughtUp = func() {
		t.Helper()
		head, err := w.store.HeadPosition(ctx)
		require.NoError(t, err)
		require.NoError(t, set.WaitFor(ctx, head))
	}

	const root = "test-root-key-0123456789abcdef0123456789"
	_, err = w.service.Bootstrap(ctx, root)
	require.NoError(t, err)
	w.caughtUp()
	w.a = &API{entities: queries.NewEntities(db), auth: newAuthCache(), waiter: w.waiter}
	w.owner, err = w.a.authenticate(ctx, root)
	require.NoError(t, err)
	w.ownerCtx = domain.WithActor(ctx, w.owner)
	return w
}

// A property deleted through this server stops its grants at once even
// when the read models do not show the deletion yet (the settle timed
// out): the key's next request, cached or not, holds no grant in it.
func TestPropertyDeletedHereStopsItsGrantsBeforeTheReadModelShowsIt(t *testing.T) {
	w := newAuthWorld(t)
	ctx, a, owner, ownerCtx, service := w.ctx, w.a, w.owner, w.ownerCtx, w.service
	p, err := service.CreateProperty(ownerCtx, commands.CreateProperty{DisplayName: "P"})
	require.NoError(t, err)
	q, err := service.CreateProperty(ownerCtx, commands.CreateProperty{DisplayName: "Q"})
	require.NoError(t, err)
	key, err := service.CreateAPIKey(ownerCtx, commands.CreateAPIKey{DisplayName: "k", Permissions: []domain.Grant{
		{Permission: domain.PermManageAccess, PropertyID: p.PropertyID}, {Permission: domain.PermSupport, PropertyID: q.PropertyID}}})
	require.NoError(t, err)
	w.caughtUp()

	actor, err := a.authenticate(ctx, key.Secret)
	require.NoError(t, err)
	require.True(t, actor.Can(domain.PermManageAccess, p.PropertyID))

	// The read models stop here: they go on showing P.
	w.stopReadModels()
	w.waiter.failCommands = true
	err = a.settle(ownerCtx, commands.Result{Position: 1 << 40,
		Events: []domain.Event{property.PropertyDeleted{PropertyID: p.PropertyID, AccountID: owner.AccountID}}})
	require.Error(t, err, "the settle times out")

	actor, err = a.authenticate(ctx, key.Secret)
	require.NoError(t, err)
	assert.Equal(t, []domain.Grant{{Permission: domain.PermSupport, PropertyID: q.PropertyID}}, actor.Grants,
		"only the grant of the live property")
	assert.False(t, actor.Can(domain.PermManageAccess, p.PropertyID))
	assert.Equal(t, uuid.Nil, actor.UserID)
}

// Resolving a `me` key that holds a grant scoped to a property, for a
// user who holds another, looks the properties of both lists up in one
// query; resolving an account-wide key, in none.
func TestResolvingAKeyLooksUpItsPropertiesInOneQuery(t *testing.T) {
	w := newAuthWorld(t)
	if w.db.Dialect != projections.SQLite {
		t.Skip("counts the queries of a SQLite read model")
	}
	p, err := w.service.CreateProperty(w.ownerCtx, commands.CreateProperty{DisplayName: "P"})
	require.NoError(t, err)
	q, err := w.service.CreateProperty(w.ownerCtx, commands.CreateProperty{DisplayName: "Q"})
	require.NoError(t, err)
	u, err := w.service.CreateUser(w.ownerCtx, commands.CreateUser{DisplayName: "U",
		Permissions: []domain.Grant{{Permission: domain.PermManageAccess, PropertyID: q.PropertyID}}})
	require.NoError(t, err)
	meKey, err := w.service.CreateAPIKey(w.ownerCtx, commands.CreateAPIKey{DisplayName: "me", Permissions: []domain.Grant{
		{Permission: domain.PermMe, UserID: u.UserID}, {Permission: domain.PermSupport, PropertyID: p.PropertyID}}})
	require.NoError(t, err)
	wideKey, err := w.service.CreateAPIKey(w.ownerCtx, commands.CreateAPIKey{DisplayName: "wide", Permissions: []domain.Grant{
		{Permission: domain.PermManageAccess}}})
	require.NoError(t, err)
	w.caughtUp()

	var lookups atomic.Int64
	counted := sql.OpenDB(liveIDsCounter{drv: w.db.DB.Driver(), dsn: "file:" + filepath.Join(w.dir, "readmodels.db"), n: &lookups})
	defer counted.Close()
	a := &API{entities: queries.NewEntities(&projections.DB{DB: counted, Dialect: projections.SQLite}), auth: newAuthCache(), waiter: w.waiter}

	actor, err := a.authenticate(w.ctx, meKey.Secret)
	require.NoError(t, err)
	assert.True(t, actor.Can(domain.PermSupport, p.PropertyID))
	assert.True(t, actor.Can(domain.PermManageAccess, q.PropertyID), "the user's grant")
	assert.Equal(t, u.UserID, actor.UserID)
	assert.EqualValues(t, 1, lookups.Load(), "one look-up of properties for the key's and the user's grants")

	actor, err = a.authenticate(w.ctx, wideKey.Secret)
	require.NoError(t, err)
	assert.True(t, actor.Can(domain.PermManageAccess, p.PropertyID))
	assert.EqualValues(t, 1, lookups.Load(), "none for an account-wide key")
}

// liveIDsCounter connects to a SQLite database and counts the queries of
// queries.Entities.LiveIDs that are prepared on its connections (its
// connections hide the driver's own QueryContext, so every query is
// prepared).
type liveIDsCounter struct {
	drv driver.Driver
	dsn string
	n   *atomic.Int64
}

func (c liveIDsCounter) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: conn, n: c.n}, nil
}

func (c liveIDsCounter) Driver() driver.Driver { return c.drv }

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c countingConn) Prepare(query string) (driver.Stmt, error) {
	if strings.Contains(query, "AND id IN (") {
		c.n.Add(1)
	}
	return c.Conn.Prepare(query)
}
