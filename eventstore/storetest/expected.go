package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

var expectedRevisionTests = []test{
	{"NoStreamOnNewStream", func(t *testing.T, s *store) {
		_, res := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 1))
		require.Equal(t, uint64(0), res.NextExpectedRevision)
	}},
	{"NoStreamOnExistingStream", func(t *testing.T, s *store) {
		want, _ := mustAppend(t, s, "lock-1", es.NoStream, events("LockProvisioned", 1, 2)...)
		_, err := s.Append(t.Context(), "lock-1", es.NoStream, event("LockInstalled", 3))
		requireWrongExpected(t, err, "lock-1", es.NoStream, 1)
		requireEvents(t, want, readStream(t, s, "lock-1", es.ReadStreamOptions{}))
	}},
	{"StreamExistsOnNewStream", func(t *testing.T, s *store) {
		_, err := s.Append(t.Context(), "lock-1", es.StreamExists, event("LockInstalled", 1))
		requireWrongExpected(t, err, "lock-1", es.StreamExists, -1)
		requireStreamNotFound(t, s, "lock-1")
		requireHead(t, s, 0)
	}},
	{"StreamExistsOnExistingStream", func(t *testing.T, s *store) {
		first, _ := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 1))
		second, res := mustAppend(t, s, "lock-1", es.StreamExists, event("LockInstalled", 2))
		require.Equal(t, uint64(1), res.NextExpectedRevision)
		requireEvents(t, concat(first, second), readStream(t, s, "lock-1", es.ReadStreamOptions{}))
	}},
	{"AnyOnNewAndExistingStream", func(t *testing.T, s *store) {
		first, res := mustAppend(t, s, "lock-1", es.Any, event("LockProvisioned", 1))
		require.Equal(t, uint64(0), res.NextExpectedRevision)
		second, res := mustAppend(t, s, "lock-1", es.Any, events("LockInstalled", 2, 2)...)
		require.Equal(t, uint64(2), res.NextExpectedRevision)
		requireEvents(t, concat(first, second), readStream(t, s, "lock-1", es.ReadStreamOptions{}))
	}},
	{"ExactAtLastRevision", func(t *testing.T, s *store) {
		first, _ := mustAppend(t, s, "lock-1", es.NoStream, events("LockProvisioned", 1, 3)...)
		second, res := mustAppend(t, s, "lock-1", es.Exact(2), event("LockInstalled", 4))
		require.Equal(t, uint64(3), res.NextExpectedRevision)
		third, res := mustAppend(t, s, "lock-1", es.Exact(3), event("LockRenamed", 5))
		require.Equal(t, uint64(4), res.NextExpectedRevision)
		requireEvents(t, concat(first, second, third), readStream(t, s, "lock-1", es.ReadStreamOptions{}))
	}},
	{"ExactNotAtLastRevision", func(t *testing.T, s *store) {
		want, _ := mustAppend(t, s, "lock-1", es.NoStream, events("LockProvisioned", 1, 3)...)
		for _, r := range []uint64{0, 1, 3, 100} {
			_, err := s.Append(t.Context(), "lock-1", es.Exact(r), event("LockInstalled", 4))
			requireWrongExpected(t, err, "lock-1", es.Exact(r), 2)
		}
		requireEvents(t, want, readStream(t, s, "lock-1", es.ReadStreamOptions{}))
	}},
	{"ExactOnMissingStream", func(t *testing.T, s *store) {
		mustAppend(t, s, "lock-2", es.NoStream, event("LockProvisioned", 1))
		for _, r := range []uint64{0, 1} {
			_, err := s.Append(t.Context(), "lock-1", es.Exact(r), event("LockInstalled", 2))
			requireWrongExpected(t, err, "lock-1", es.Exact(r), -1)
		}
		requireStreamNotFound(t, s, "lock-1")
	}},
	{"ZeroEventsOnlyCheck", func(t *testing.T, s *store) {
		ctx := t.Context()
		// On a stream with no events.
		_, err := s.Append(ctx, "lock-1", es.NoStream)
		require.NoError(t, err, "zero events at no-stream on a new stream")
		_, err = s.Append(ctx, "lock-1", es.Any)
		require.NoError(t, err, "zero events at any on a new stream")
		_, err = s.Append(ctx, "lock-1", es.StreamExists)
		requireWrongExpected(t, err, "lock-1", es.StreamExists, -1)
		_, err = s.Append(ctx, "lock-1", es.Exact(0))
		requireWrongExpected(t, err, "lock-1", es.Exact(0), -1)
		requireStreamNotFound(t, s, "lock-1")
		requireHead(t, s, 0)

		// On a stream with two events.
		want, res := mustAppend(t, s, "lock-1", es.NoStream, events("LockProvisioned", 1, 2)...)
		headBefore := head(t, s)
		for _, exp := range []es.ExpectedRevision{es.Exact(1), es.StreamExists, es.Any} {
			got, err := s.Append(ctx, "lock-1", exp)
			require.NoError(t, err, "zero events at %s", exp)
			require.Equal(t, res.NextExpectedRevision, got.NextExpectedRevision, "zero events at %s: next expected revision", exp)
		}
		_, err = s.Append(ctx, "lock-1", es.NoStream)
		requireWrongExpected(t, err, "lock-1", es.NoStream, 1)
		_, err = s.Append(ctx, "lock-1", es.Exact(0))
		requireWrongExpected(t, err, "lock-1", es.Exact(0), 1)
		_, err = s.Append(ctx, "lock-1", es.Exact(2))
		requireWrongExpected(t, err, "lock-1", es.Exact(2), 1)
		requireEvents(t, want, readStream(t, s, "lock-1", es.ReadStreamOptions{}))
		requireHead(t, s, headBefore)
	}},
	{"StreamsAreIndependent", func(t *testing.T, s *store) {
		mustAppend(t, s, "lock-1", es.NoStream, events("LockProvisioned", 1, 3)...)
		_, res := mustAppend(t, s, "lock-2", es.NoStream, event("LockProvisioned", 4))
		require.Equal(t, uint64(0), res.NextExpectedRevision, "a stream's revisions start at 0 whatever the others hold")
		_, err := s.Append(t.Context(), "lock-2", es.Exact(2), event("LockInstalled", 5))
		requireWrongExpected(t, err, "lock-2", es.Exact(2), 0)
	}},
}

var appendResultTests = []test{
	{"NextExpectedRevisionAndPosition", func(t *testing.T, s *store) {
		type step struct {
			stream   string
			expected es.ExpectedRevision
			count    int
			nextRev  uint64
		}
		steps := []step{
			{"lock-1", es.NoStream, 1, 0},
			{"area-1", es.NoStream, 2, 1},
			{"lock-1", es.Exact(0), 3, 3},
			{"user-1", es.Any, 1, 0},
			{"area-1", es.StreamExists, 1, 2},
			{"lock-1", es.Any, 2, 5},
		}
		var all []appended
		var last uint64
		for i, st := range steps {
			evs, res := mustAppend(t, s, st.stream, st.expected, events("Something", i*10, st.count)...)
			require.Equal(t, st.nextRev, res.NextExpectedRevision, "step %d: next expected revision", i)
			require.Greater(t, res.Position, last, "step %d: position must exceed every earlier one, across streams", i)
			last = res.Position
			tail := readStream(t, s, st.stream, es.ReadStreamOptions{Direction: es.Backwards, From: es.StreamEnd, Max: 1})
			require.Len(t, tail, 1)
			require.Equal(t, evs[len(evs)-1].ID, tail[0].ID, "step %d: last event of the stream", i)
			require.Equal(t, res.Position, tail[0].Position, "step %d: result position is the last event's", i)
			require.Equal(t, res.NextExpectedRevision, tail[0].Revision, "step %d: result revision is the last event's", i)
			all = append(all, evs...)
		}
		got := readAll(t, s, 0, es.Filter{})
		requireEvents(t, all, got)
		requireIncreasing(t, got)
		requireHead(t, s, last)
	}},
}

var atomicTests = []test{
	{"ThreeEventsInOneAppend", func(t *testing.T, s *store) {
		before, _ := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 0))
		mustAppend(t, s, "area-1", es.NoStream, event("AreaCreated", 0))
		batch, res := mustAppend(t, s, "lock-1", es.Exact(0), events("LockChanged", 1, 3)...)
		require.Equal(t, uint64(3), res.NextExpectedRevision)
		got := readStream(t, s, "lock-1", es.ReadStreamOptions{})
		requireEvents(t, concat(before, batch), got)
		requireIncreasing(t, got)
		require.Equal(t, res.Position, got[3].Position)
		// Nothing else came between them in $all.
		all := readAll(t, s, 0, es.Filter{})
		require.Len(t, all, 5)
		for i, ev := range all[2:] {
			require.Equal(t, batch[i].ID, ev.ID, "the append's events sit together in $all")
		}
	}},
	{"InvalidSecondEventStoresNone", func(t *testing.T, s *store) {
		want, _ := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 0))
		h := head(t, s)
		noType := event("", 2)
		batch := []es.EventData{event("LockInstalled", 1), noType, event("LockRenamed", 3)}
		_, err := s.Append(t.Context(), "lock-1", es.Exact(0), batch...)
		require.ErrorIs(t, err, es.ErrInvalidEvent)
		_, err = s.Append(t.Context(), "lock-2", es.NoStream, batch...)
		require.ErrorIs(t, err, es.ErrInvalidEvent)
		requireNothingOf(t, s, h, want, batch)
	}},
	{"OversizedSecondEventStoresNone", func(t *testing.T, s *store) {
		want, _ := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 0))
		h := head(t, s)
		batch := []es.EventData{event("LockInstalled", 1), sizedEvent("LockPhoto", es.DefaultMaxEventSize+1), event("LockRenamed", 3)}
		_, err := s.Append(t.Context(), "lock-1", es.Exact(0), batch...)
		require.ErrorIs(t, err, es.ErrEventTooLarge)
		_, err = s.Append(t.Context(), "lock-2", es.NoStream, batch...)
		require.ErrorIs(t, err, es.ErrEventTooLarge)
		requireNothingOf(t, s, h, want, batch)
	}},
}

// requireNothingOf checks that a failed append left no trace: lock-1 holds
// only want, lock-2 does not exist, the head has not moved, and the first
// event of the failed batch can still be appended as a new event.
func requireNothingOf(t *testing.T, s *store, head uint64, want []appended, batch []es.EventData) {
	t.Helper()
	requireEvents(t, want, readStream(t, s, "lock-1", es.ReadStreamOptions{}))
	requireStreamNotFound(t, s, "lock-2")
	requireHead(t, s, head)
	require.Empty(t, readAll(t, s, head, es.Filter{}))
	again, res := mustAppend(t, s, "lock-1", es.Exact(0), batch[0])
	require.Equal(t, uint64(1), res.NextExpectedRevision, "the valid event of the failed append was not stored before")
	requireEvents(t, concat(want, again), readStream(t, s, "lock-1", es.ReadStreamOptions{}))
}
