package commands_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// noChildren is a Counts that finds nothing inside anything.
type noChildren struct{}

func (noChildren) InstalledLocks(context.Context, uuid.UUID, uuid.UUID) (int, error) { return 0, nil }
func (noChildren) AreaChildren(context.Context, uuid.UUID, uuid.UUID) (int, int, error) {
	return 0, 0, nil
}

func newAreaService(t *testing.T) (*commands.Service, eventstore.Store, context.Context) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	p, err := commands.NewPipeline(store, commands.NewRegistry(), func() time.Time { return clock })
	require.NoError(t, err)
	s, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	s.SetCounts(noChildren{})
	ctx := domain.WithActor(context.Background(), domain.Actor{
		AccountID: uuid.New(), APIKeyID: uuid.New(), Grants: []domain.Grant{{Permission: domain.PermOwner}},
	})
	return s, store, ctx
}

func streamLength(t *testing.T, store eventstore.Store, stream string) int {
	t.Helper()
	recs, err := store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{Max: 100})
	require.NoError(t, err)
	return len(recs)
}

func TestCreateAreaIsIdempotent(t *testing.T) {
	t.Parallel()
	s, store, ctx := newAreaService(t)
	keyed := commands.WithIdempotencyKey(ctx, "req-1")
	prop, err := s.CreateProperty(keyed, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	again, err := s.CreateProperty(keyed, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	assert.Equal(t, prop.PropertyID, again.PropertyID)
	assert.True(t, again.Replayed)

	c := commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "Room 1", AreaType: area.TypeResident}
	first, err := s.CreateArea(keyed, c)
	require.NoError(t, err)
	second, err := s.CreateArea(keyed, c)
	require.NoError(t, err)
	assert.Equal(t, first.AreaID, second.AreaID)
	assert.Equal(t, first.AreaUserGroupID, second.AreaUserGroupID)
	assert.True(t, second.Replayed)
	assert.Equal(t, 1, streamLength(t, store, "area-"+first.AreaID.String()))
	assert.Equal(t, 1, streamLength(t, store, "group-"+first.AreaUserGroupID.String()))

	// Without a key, each request is a new area.
	other, err := s.CreateArea(ctx, c)
	require.NoError(t, err)
	assert.NotEqual(t, first.AreaID, other.AreaID)

	_, err = s.DeleteArea(keyed, prop.PropertyID, first.AreaID)
	require.NoError(t, err)
	_, err = s.DeleteArea(keyed, prop.PropertyID, first.AreaID)
	require.NoError(t, err, "a repeated keyed delete answers the first result")
	assert.Equal(t, 2, streamLength(t, store, "area-"+first.AreaID.String()))
	assert.Equal(t, 2, streamLength(t, store, "group-"+first.AreaUserGroupID.String()))
}

func TestRefusedAreaLeavesNoGroup(t *testing.T) {
	t.Parallel()
	s, store, ctx := newAreaService(t)
	prop, err := s.CreateProperty(ctx, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	before, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	for _, c := range []commands.CreateArea{
		{PropertyID: prop.PropertyID, DisplayName: "", AreaType: area.TypeResident},
		{PropertyID: prop.PropertyID, DisplayName: "x", AreaType: "garage"},
		{PropertyID: prop.PropertyID, DisplayName: "x", AreaType: area.TypeStaff, ParentAreaID: uuid.New()},
		{PropertyID: uuid.New(), DisplayName: "x", AreaType: area.TypeStaff},
	} {
		_, err := s.CreateArea(ctx, c)
		assert.Error(t, err)
	}
	after, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, after, "nothing appended")
}
