package storetest

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

// edgeTests are cases at the edges of the contract: big appends, reads past
// a stream's end, subscriptions starting inside an append, partial retries
// and writers racing with Any.
var edgeTests = []test{
	{"ManyEventsInOneAppend", func(t *testing.T, s *store) {
		const n = 5000
		mustAppend(t, s, "area-0", es.NoStream, event("AreaCreated", 0))
		batch, res := mustAppend(t, s, "lock-1", es.NoStream, events("LockChanged", 1, n)...)
		require.Equal(t, uint64(n-1), res.NextExpectedRevision)
		got := readStream(t, s, "lock-1", es.ReadStreamOptions{})
		requireEvents(t, batch, got)
		requireIncreasing(t, got)
		require.Equal(t, res.Position, got[n-1].Position)
		all := readAll(t, s, 0, es.Filter{})
		require.Len(t, all, n+1)
		requireEvents(t, batch, all[1:])
		sub := subscribe(t, s, all[0].Position, es.Filter{})
		requireEvents(t, batch, nextN(t, sub, n))
	}},
	{"LargeEventsInOneAppend", func(t *testing.T, s *store) {
		const n = 6
		batch := make([]es.EventData, n)
		for i := range batch {
			batch[i] = sizedEvent("LockPhoto", es.DefaultMaxEventSize)
		}
		want, res := mustAppend(t, s, "lock-1", es.NoStream, batch...)
		require.Equal(t, uint64(n-1), res.NextExpectedRevision)
		requireEvents(t, want, readStream(t, s, "lock-1", es.ReadStreamOptions{}))
		back := readStream(t, s, "lock-1", es.ReadStreamOptions{Direction: es.Backwards, From: es.StreamEnd})
		require.Len(t, back, n)
		require.Equal(t, want[n-1].ID, back[0].ID)
		requireEvents(t, want, readAll(t, s, 0, es.Filter{}))
		requireEvents(t, want, nextN(t, subscribe(t, s, 0, es.Filter{}), n))
		// The same append again is the idempotent no-op.
		again, err := s.Append(t.Context(), "lock-1", es.NoStream, batch...)
		require.NoError(t, err)
		require.Equal(t, res, again)
	}},
	{"ReadPastTheEnd", func(t *testing.T, s *store) {
		want, _ := mustAppend(t, s, "lock-1", es.NoStream, events("LockChanged", 0, 5)...)
		got := readStream(t, s, "lock-1", es.ReadStreamOptions{From: 5})
		require.Empty(t, got, "forwards from past the end of an existing stream")
		got = readStream(t, s, "lock-1", es.ReadStreamOptions{From: 1000, Max: 3})
		require.Empty(t, got, "forwards from far past the end")
		got = readStream(t, s, "lock-1", es.ReadStreamOptions{Direction: es.Backwards, From: 1000})
		require.Len(t, got, 5, "backwards from past the end starts at the last event")
		require.Equal(t, want[4].ID, got[0].ID)
		require.Equal(t, want[0].ID, got[4].ID)
		require.Empty(t, readAll(t, s, head(t, s)+1000, es.Filter{}), "$all after a position past the head")
	}},
	{"SubscribeFromInsideAnAppend", func(t *testing.T, s *store) {
		mustAppend(t, s, "lock-1", es.NoStream, events("LockChanged", 0, 4)...)
		all := readAll(t, s, 0, es.Filter{})
		sub := subscribe(t, s, all[1].Position, es.Filter{})
		requireSame(t, all[2:], nextN(t, sub, 2))
		later, _ := mustAppend(t, s, "lock-1", es.Exact(3), event("LockChanged", 4))
		requireEvents(t, later, nextN(t, sub, 1))
		// Resuming after the last event seen repeats nothing.
		last := readAll(t, s, 0, es.Filter{})[4]
		resumed := subscribe(t, s, last.Position, es.Filter{})
		more, _ := mustAppend(t, s, "lock-2", es.NoStream, event("LockChanged", 5))
		requireEvents(t, more, nextN(t, resumed, 1))
	}},
	{"PartialRetryIsAConflict", func(t *testing.T, s *store) {
		base, _ := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 0))
		batch := events("LockInstalled", 1, 3)
		added, _ := mustAppend(t, s, "lock-1", es.Exact(0), batch[:2]...)
		h := head(t, s)
		// The stored two and a third that was never appended.
		_, err := s.Append(t.Context(), "lock-1", es.Exact(0), batch...)
		requireWrongExpected(t, err, "lock-1", es.Exact(0), 2)
		requireUnchanged(t, s, h, concat(base, added))
	}},
	{"RacingWritersWithAny", func(t *testing.T, s *store) {
		const writers, each = 8, 40
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					_, err := s.Append(t.Context(), "lock-1", es.Any, event("LockChanged", w*each+i))
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		got := readStream(t, s, "lock-1", es.ReadStreamOptions{})
		require.Len(t, got, writers*each)
		seen := map[string]bool{}
		for i, ev := range got {
			require.Equal(t, uint64(i), ev.Revision)
			require.False(t, seen[ev.ID.String()], "event %s twice", ev.ID)
			seen[ev.ID.String()] = true
		}
		requireIncreasing(t, got)
	}},
}
