package overlay_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
	"github.com/accessd/accessd/eventstore/overlay"
)

func ev(n int) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "Thing", Data: []byte(fmt.Sprintf(`{"n":%d}`, n)), Metadata: []byte(`{}`)}
}

func ids(evs []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// based returns a memstore holding a-0, a-1, b-0 and an overlay over it.
func based(t *testing.T) (*memstore.Store, *overlay.Store, []eventstore.EventData) {
	t.Helper()
	ctx := context.Background()
	base := memstore.New(memstore.WithPositionStride(10))
	seed := []eventstore.EventData{ev(0), ev(1), ev(2)}
	_, err := base.Append(ctx, "a-1", eventstore.NoStream, seed[0], seed[1])
	require.NoError(t, err)
	_, err = base.Append(ctx, "b-1", eventstore.NoStream, seed[2])
	require.NoError(t, err)
	o, err := overlay.New(ctx, base, nil)
	require.NoError(t, err)
	return base, o, seed
}

func TestOverlayAppendsStayOutOfTheBase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, o, seed := based(t)
	added := []eventstore.EventData{ev(3), ev(4)}
	res, err := o.Append(ctx, "a-1", eventstore.Exact(1), added...)
	require.NoError(t, err)
	require.Equal(t, uint64(3), res.NextExpectedRevision)
	require.Equal(t, uint64(32), res.Position, "positions follow the base head (30)")
	fresh, err := o.Append(ctx, "c-1", eventstore.NoStream, ev(5))
	require.NoError(t, err)
	require.Equal(t, uint64(0), fresh.NextExpectedRevision)

	head, err := base.HeadPosition(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(30), head)
	got, err := base.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	_, err = base.ReadStream(ctx, "c-1", eventstore.ReadStreamOptions{})
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)

	fwd, err := o.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{seed[0].ID, seed[1].ID, added[0].ID, added[1].ID}, ids(fwd))
	for i, e := range fwd {
		require.Equal(t, uint64(i), e.Revision)
	}
	page, err := o.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{From: 1, Max: 2})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{seed[1].ID, added[0].ID}, ids(page))
	back, err := o.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 3})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{added[1].ID, added[0].ID, seed[1].ID}, ids(back))
	back, err = o.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 2})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{added[0].ID, seed[1].ID, seed[0].ID}, ids(back))

	all, err := o.ReadAll(ctx, 0, 100, eventstore.Filter{})
	require.NoError(t, err)
	require.Len(t, all, 6)
	for i := 1; i < len(all); i++ {
		require.Greater(t, all[i].Position, all[i-1].Position)
	}
	tail, err := o.ReadAll(ctx, 20, 2, eventstore.Filter{StreamPrefixes: []string{"a-", "c-"}})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{added[0].ID, added[1].ID}, ids(tail), "b-1 at 30 is filtered out")
	oh, err := o.HeadPosition(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(33), oh)
	require.Len(t, o.Appended(), 3)
}

func TestOverlayExpectedRevision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, o, _ := based(t)
	var wrong *eventstore.WrongExpectedVersionError
	_, err := o.Append(ctx, "a-1", eventstore.NoStream, ev(9))
	require.ErrorAs(t, err, &wrong)
	require.Equal(t, int64(1), wrong.Actual)
	_, err = o.Append(ctx, "a-1", eventstore.Exact(0), ev(9))
	require.ErrorIs(t, err, eventstore.ErrWrongExpectedVersion)
	_, err = o.Append(ctx, "new-1", eventstore.StreamExists, ev(9))
	require.ErrorAs(t, err, &wrong)
	require.Equal(t, int64(-1), wrong.Actual)
	_, err = o.Append(ctx, "a-1", eventstore.Exact(2), ev(9))
	require.ErrorIs(t, err, eventstore.ErrWrongExpectedVersion)
	res, err := o.Append(ctx, "a-1", eventstore.StreamExists)
	require.NoError(t, err, "zero events only check the condition")
	require.Equal(t, uint64(1), res.NextExpectedRevision)
	require.Equal(t, uint64(20), res.Position)
	res, err = o.Append(ctx, "a-1", eventstore.Any, ev(9))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res.NextExpectedRevision)
	_, err = o.Append(ctx, "a-1", eventstore.Exact(2), eventstore.EventData{Type: "Thing"})
	require.ErrorIs(t, err, eventstore.ErrInvalidEvent)
}

func TestOverlayIdempotentAppends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, o, seed := based(t)
	// The base's own events again at their place: a no-op reporting them.
	res, err := o.Append(ctx, "a-1", eventstore.NoStream, seed[0], seed[1])
	require.NoError(t, err)
	require.Equal(t, eventstore.AppendResult{NextExpectedRevision: 1, Position: 20}, res)
	added := ev(3)
	first, err := o.Append(ctx, "a-1", eventstore.Exact(1), added)
	require.NoError(t, err)
	again, err := o.Append(ctx, "a-1", eventstore.Exact(1), added)
	require.NoError(t, err)
	require.Equal(t, first, again)
	again, err = o.Append(ctx, "a-1", eventstore.Any, added)
	require.NoError(t, err)
	require.Equal(t, first, again)
	// The first id is there but the next is not: EventStoreDB's conflict.
	_, err = o.Append(ctx, "a-1", eventstore.Any, seed[1], ev(8))
	require.ErrorIs(t, err, eventstore.ErrWrongExpectedVersion)
	got, err := o.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Len(t, got, 3)
}

// TestOverlayIsASnapshot: what the base takes after the overlay was made is
// not part of the copy, so revisions and positions stay consistent.
func TestOverlayIsASnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, o, seed := based(t)
	_, err := base.Append(ctx, "a-1", eventstore.Exact(1), ev(7))
	require.NoError(t, err)
	_, err = base.Append(ctx, "d-1", eventstore.NoStream, ev(8))
	require.NoError(t, err)

	got, err := o.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{seed[0].ID, seed[1].ID}, ids(got))
	back, err := o.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{seed[1].ID, seed[0].ID}, ids(back))
	_, err = o.ReadStream(ctx, "d-1", eventstore.ReadStreamOptions{})
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)
	all, err := o.ReadAll(ctx, 0, 100, eventstore.Filter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	res, err := o.Append(ctx, "a-1", eventstore.Exact(1), ev(9))
	require.NoError(t, err, "the copy's a-1 is still at revision 1")
	require.Equal(t, uint64(2), res.NextExpectedRevision)
	require.Equal(t, uint64(31), res.Position)
}

func TestOverlayRefusesSubscriptionsAndKeepsTheBaseOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, o, _ := based(t)
	_, err := o.Subscribe(ctx, 0, eventstore.Filter{})
	require.True(t, errors.Is(err, overlay.ErrNoSubscriptions))
	require.NoError(t, o.Close())
	_, err = o.Append(ctx, "a-1", eventstore.Any, ev(1))
	require.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = o.ReadStream(ctx, "a-1", eventstore.ReadStreamOptions{})
	require.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = base.Append(ctx, "a-1", eventstore.Exact(1), ev(2))
	require.NoError(t, err)
}
