package projections_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Two rebuilds of one projection at once (two accessctl runs, or one
// beside a server rebuilding a raised version) share the `__rebuild`
// tables and checkpoint: the one that finds its checkpoint moved by the
// other must stop, not apply the other's events a second time.
func TestTwoRebuildsAtOnceApplyNothingTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const events = 12_000 // three rebuild batches
	for s := 0; s < events/1000; s++ {
		evs := make([]eventstore.TypedEvent, 1000)
		for i := range evs {
			evs[i] = ticked{N: 1}
		}
		f.append(t, fmt.Sprintf("tick-%d", s), evs...)
	}
	// pausedAfterFirstBatch runs a rebuild that stops after its first
	// batch until released, and returns its outcome.
	pausedAfterFirstBatch := func() (paused chan struct{}, release chan struct{}, done chan error) {
		paused, release, done = make(chan struct{}), make(chan struct{}), make(chan error, 1)
		first := true
		rb := &projections.Rebuild{DB: f.db, Store: f.store, Registry: f.registry, Projections: []projections.Projection{&tally{version: 1}},
			Progress: func(p projections.RebuildProgress) {
				if first && p.Position > p.From {
					first = false
					close(paused)
					<-release
				}
			}}
		go func() { done <- rb.Run(ctx) }()
		return paused, release, done
	}
	pausedA, releaseA, doneA := pausedAfterFirstBatch()
	<-pausedA // A applied 1..5000
	pausedB, releaseB, doneB := pausedAfterFirstBatch()
	<-pausedB // B resumed A's rebuild and applied 5001..10000
	close(releaseA)
	errA := <-doneA
	close(releaseB)
	errB := <-doneB

	require.True(t, (errA == nil) != (errB == nil), "exactly one rebuild swaps in: A %v, B %v", errA, errB)
	got, total := f.totals(t)
	require.Equal(t, events, got, "each event applied once")
	require.Equal(t, events, total)
}

// Two rebuilds that set up at once (on PostgreSQL, each creating the
// `__rebuild` tables in its own transaction) do not fail on each other's
// half-made tables: their set-ups take turns, and each run either swaps
// in or stops saying another rebuild ran, leaving every event applied
// once.
func TestTwoRebuildsSettingUpAtOnce(t *testing.T) {
	for round := range 5 {
		f := newFixture(t)
		ctx := context.Background()
		evs := make([]eventstore.TypedEvent, 100)
		for i := range evs {
			evs[i] = ticked{N: 1}
		}
		f.append(t, "tick", evs...)
		start := make(chan struct{})
		done := make(chan error, 2)
		for range 2 {
			rb := &projections.Rebuild{DB: f.db, Store: f.store, Registry: f.registry, Projections: []projections.Projection{&tally{version: 1}}}
			go func() {
				<-start
				done <- rb.Run(ctx)
			}()
		}
		close(start)
		errs := []error{<-done, <-done}
		swapped := 0
		for _, err := range errs {
			if err == nil {
				swapped++
				continue
			}
			require.ErrorContains(t, err, "another rebuild of it ran meanwhile", "round %d", round)
		}
		require.NotZero(t, swapped, "round %d: neither rebuild swapped in: %v", round, errs)
		got, total := f.totals(t)
		require.Equal(t, len(evs), got, "round %d: each event applied once", round)
		require.Equal(t, len(evs), total, "round %d", round)
	}
}
