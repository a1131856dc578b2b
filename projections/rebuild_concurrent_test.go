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
