package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
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

// A property deleted through this server stops its grants at once even
// when the read models do not show the deletion yet (the settle timed
// out): the key's next request, cached or not, holds no grant in it.
func TestPropertyDeletedHereStopsItsGrantsBeforeTheReadModelShowsIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	defer store.Close()
	db := readmodeltest.Open(ctx, t, filepath.Join(dir, "readmodels.db"))
	defer db.Close()
	registry := commands.NewRegistry()
	pipeline, err := commands.NewPipeline(store, registry, time.Now)
	require.NoError(t, err)
	service, err := commands.NewService(pipeline, bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	runner, err := projections.NewRunner(db, store, registry, entities.New(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	set := projections.NewSet(store, runner)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(runCtx) }()
	caughtUp := func() {
		t.Helper()
		head, err := store.HeadPosition(ctx)
		require.NoError(t, err)
		require.NoError(t, set.WaitFor(ctx, head))
	}

	const root = "test-root-key-0123456789abcdef0123456789"
	_, err = service.Bootstrap(ctx, root)
	require.NoError(t, err)
	caughtUp()
	waiter := &recordingWaiter{}
	a := &API{entities: queries.NewEntities(db), auth: newAuthCache(), waiter: waiter}
	owner, err := a.authenticate(ctx, root)
	require.NoError(t, err)
	ownerCtx := domain.WithActor(ctx, owner)
	p, err := service.CreateProperty(ownerCtx, commands.CreateProperty{DisplayName: "P"})
	require.NoError(t, err)
	q, err := service.CreateProperty(ownerCtx, commands.CreateProperty{DisplayName: "Q"})
	require.NoError(t, err)
	key, err := service.CreateAPIKey(ownerCtx, commands.CreateAPIKey{DisplayName: "k", Permissions: []domain.Grant{
		{Permission: domain.PermManageAccess, PropertyID: p.PropertyID}, {Permission: domain.PermSupport, PropertyID: q.PropertyID}}})
	require.NoError(t, err)
	caughtUp()

	actor, err := a.authenticate(ctx, key.Secret)
	require.NoError(t, err)
	require.True(t, actor.Can(domain.PermManageAccess, p.PropertyID))

	// The read models stop here: they go on showing P.
	stop()
	<-done
	waiter.failCommands = true
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
