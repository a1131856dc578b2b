package commands_test

import (
	"bytes"
	"context"
	"sync"
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

// interleavingStore runs before, once, just ahead of the first append to
// stream (any stream when "") that carries an event of type eventType: another command's whole
// run slipped in between a command's reads and its append, as two
// requests at once (or two servers on one log) can do.
type interleavingStore struct {
	eventstore.Store
	stream, eventType string
	before            func()
	once              sync.Once
}

func (s *interleavingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if s.stream == "" || stream == s.stream {
		for _, e := range events {
			if e.Type == s.eventType {
				s.once.Do(s.before)
				break
			}
		}
	}
	return s.Store.Append(ctx, stream, expected, events...)
}

// newInterleaved is a service on an in-memory log seen through an
// interleavingStore (to be armed by the test), a read model that never
// shows an area's children, an owner's context and a property.
func newInterleaved(t *testing.T) (*commands.Service, *interleavingStore, context.Context, commands.NewProperty) {
	t.Helper()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	store := &interleavingStore{Store: mem}
	p, err := commands.NewPipeline(store, commands.NewRegistry(), func() time.Time { return clock })
	require.NoError(t, err)
	s, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	s.SetCounts(noChildren{})
	ctx := domain.WithActor(context.Background(), domain.Actor{
		AccountID: uuid.New(), APIKeyID: uuid.New(), Grants: []domain.Grant{{Permission: domain.PermOwner}},
	})
	prop, err := s.CreateProperty(ctx, commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	return s, store, ctx, prop
}

// TestConcurrentMovesMakeNoCycle: X under Y and Y under X at once. The
// second move runs whole between the first's reads (Y at the top) and
// its own append, or its mark of Y: both must not succeed, leaving a
// cycle; the first is refused as a cycle instead.
func TestConcurrentMovesMakeNoCycle(t *testing.T) {
	t.Parallel()
	t.Run("before the append", func(t *testing.T) {
		t.Parallel()
		testConcurrentMoves(t, false)
	})
	t.Run("before the mark", func(t *testing.T) {
		t.Parallel()
		testConcurrentMoves(t, true)
	})
}

// testConcurrentMoves moves Y under X in the middle of X's move under Y:
// before X marks Y (beforeMark) or before X appends its own move.
func testConcurrentMoves(t *testing.T, beforeMark bool) {
	s, store, ctx, prop := newInterleaved(t)
	store.eventType = area.AreaMoved{}.EventType()
	x, err := s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "X", AreaType: area.TypeCommon})
	require.NoError(t, err)
	y, err := s.CreateArea(ctx, commands.CreateArea{PropertyID: prop.PropertyID, DisplayName: "Y", AreaType: area.TypeCommon})
	require.NoError(t, err)

	var yErr error
	store.stream = "area-" + x.AreaID.String()
	if beforeMark {
		store.stream, store.eventType = "area-"+y.AreaID.String(), area.AreaTreeChecked{}.EventType()
	}
	store.before = func() {
		_, yErr = s.UpdateArea(ctx, prop.PropertyID, y.AreaID, commands.UpdateArea{
			DisplayName: "Y", AreaType: area.TypeCommon, ParentAreaID: x.AreaID, AccessList: []area.AccessEntry{}})
	}
	_, xErr := s.UpdateArea(ctx, prop.PropertyID, x.AreaID, commands.UpdateArea{
		DisplayName: "X", AreaType: area.TypeCommon, ParentAreaID: y.AreaID, AccessList: []area.AccessEntry{}})

	require.NoError(t, yErr, "Y went under X first")
	require.ErrorIs(t, xErr, area.ErrCycle, "X under Y, now that Y is under X, is a cycle")
	moved := func(id uuid.UUID) (n int) {
		recs, err := store.ReadStream(ctx, "area-"+id.String(), eventstore.ReadStreamOptions{})
		require.NoError(t, err)
		for _, r := range recs {
			if r.Type == (area.AreaMoved{}).EventType() {
				n++
			}
		}
		return n
	}
	assert.Equal(t, 0, moved(x.AreaID), "X stays at the top")
	assert.Equal(t, 1, moved(y.AreaID), "Y is under X")
}
