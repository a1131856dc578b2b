package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

var concurrencyTests = []test{
	{"RacingWritersOneStream", testRacingWriters},
	{"WritersWhileSubscribing", testWritersWhileSubscribing},
}

// testRacingWriters lets 8 writers race for the same revision, round after
// round: each round exactly one wins and the others see the winner's revision.
func testRacingWriters(t *testing.T, s *store) {
	const writers, rounds = 8, 50
	const stream = "lock-race"
	ctx := t.Context()
	var winners []uuid.UUID
	for round := range rounds {
		expected := es.NoStream
		if round > 0 {
			expected = es.Exact(uint64(round - 1))
		}
		start := make(chan struct{})
		evs := make([]es.EventData, writers)
		results := make([]es.AppendResult, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			evs[w] = event("LockRenamed", round*writers+w)
			wg.Go(func() {
				<-start
				results[w], errs[w] = s.Append(ctx, stream, expected, evs[w])
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for w, err := range errs {
			if err == nil {
				require.Equal(t, -1, won, "round %d: writers %d and %d both won at %s", round, won, w, expected)
				won = w
				continue
			}
			requireWrongExpected(t, err, stream, expected, int64(round))
		}
		require.NotEqual(t, -1, won, "round %d: nobody won at %s: %v", round, expected, errs)
		require.Equal(t, uint64(round), results[won].NextExpectedRevision, "round %d: winner's revision", round)
		winners = append(winners, evs[won].ID)
	}
	got := readStream(t, s, stream, es.ReadStreamOptions{})
	require.Len(t, got, rounds, "one event per round")
	seen := map[uuid.UUID]bool{}
	for i, ev := range got {
		require.Equal(t, uint64(i), ev.Revision)
		require.Equal(t, winners[i], ev.ID, "revision %d holds round %d's winner", i, i)
		require.False(t, seen[ev.ID], "event %s twice", ev.ID)
		seen[ev.ID] = true
	}
	requireIncreasing(t, got)
	require.Len(t, readAll(t, s, 0, es.Filter{}), rounds)
}

// testWritersWhileSubscribing has 8 writers append 10,000 events to 8 streams
// while one subscriber, started before them, and a second, started from 0
// halfway through (catching up, then handing over to live under load), read
// $all: each must see every event once, in $all order, as ReadAll returns it.
func testWritersWhileSubscribing(t *testing.T, s *store) {
	const writers, perWriter = 8, 1250
	const total = writers * perWriter
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	type result struct {
		evs []es.RecordedEvent
		err error
	}
	consume := func(sub es.Subscription, out chan<- result) {
		var r result
		for len(r.evs) < total {
			// Each event comes within waitTimeout, or the subscription stalled.
			nctx, cancel := context.WithTimeout(ctx, waitTimeout)
			ev, err := sub.Next(nctx)
			cancel()
			if err != nil {
				r.err = fmt.Errorf("after %d events: %w", len(r.evs), err)
				break
			}
			r.evs = append(r.evs, ev)
		}
		out <- r
	}

	first := subscribe(t, s, 0, es.Filter{})
	firstDone := make(chan result, 1)
	go consume(first, firstDone)

	var acked atomic.Int64
	halfway := make(chan struct{})
	var halfOnce sync.Once
	var wg sync.WaitGroup
	writeErrs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("load-%d", w)
			expected := es.NoStream
			for n, size := 0, 1; n < perWriter; size = size%5 + 1 {
				batch := events("LoadTested", w*perWriter+n, min(size, perWriter-n))
				res, err := s.Append(ctx, stream, expected, batch...)
				if err != nil {
					writeErrs[w] = fmt.Errorf("%s after %d events: %w", stream, n, err)
					return
				}
				n += len(batch)
				expected = es.Exact(res.NextExpectedRevision)
				if acked.Add(int64(len(batch))) >= total/2 {
					halfOnce.Do(func() { close(halfway) })
				}
			}
		})
	}

	secondDone := make(chan result, 1)
	go func() {
		select {
		case <-halfway:
		case <-ctx.Done():
			secondDone <- result{err: ctx.Err()}
			return
		}
		sub, err := s.Subscribe(ctx, 0, es.Filter{})
		if err != nil {
			secondDone <- result{err: fmt.Errorf("subscribe halfway: %w", err)}
			return
		}
		defer sub.Close()
		consume(sub, secondDone)
	}()

	wg.Wait()
	require.NoError(t, errors.Join(writeErrs...), "writers")
	r1, r2 := <-firstDone, <-secondDone
	require.NoError(t, r1.err, "subscriber started before the writers")
	require.NoError(t, r2.err, "subscriber started halfway")

	all := readAll(t, s, 0, es.Filter{})
	require.Len(t, all, total)
	requireIncreasing(t, all)
	revs := map[string]uint64{}
	for _, ev := range all {
		require.Equal(t, revs[ev.Stream], ev.Revision, "%s: revisions in $all order", ev.Stream)
		revs[ev.Stream]++
	}
	require.Len(t, revs, writers)
	for name, r := range map[string]result{"first": r1, "second": r2} {
		seen := make(map[uuid.UUID]bool, total)
		for i, ev := range r.evs {
			require.False(t, seen[ev.ID], "%s subscriber: event %s (%s@%d) twice", name, ev.ID, ev.Stream, ev.Revision)
			seen[ev.ID] = true
			want := all[i]
			require.Equal(t, want.ID, ev.ID, "%s subscriber: event %d of $all", name, i)
			require.Equal(t, want.Position, ev.Position, "%s subscriber: position of event %d", name, i)
			require.Equal(t, want.Stream, ev.Stream)
			require.Equal(t, want.Revision, ev.Revision)
		}
	}

	// Nothing more is pending: the next event either subscriber gets is one
	// appended now.
	_, res := mustAppend(t, s, "load-0", es.Exact(perWriter-1), event("LoadFinished", total))
	require.Equal(t, res.Position, next(t, first).Position, "first subscriber: event after the load")
}
