package projections_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// A cache reading a projection's tables learns of each write through
// Changes: the count moves with every batch holding an event the
// projection handles, by the time WaitFor returns, and with a
// re-delivery to a Redeliverer; not with events it does not handle, nor
// with a re-delivery a projection ignores. Run alone and beside another
// projection of the same database (one transaction per batch).
func TestChangesMoveWithEachWriteOfTheCoveredProjections(t *testing.T) {
	for _, together := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "together"}[together], func(t *testing.T) {
			f := newFixture(t)
			ps := []projections.Projection{recomputing{named{tally: &tally{version: 1}, name: "a", table: "tally_a"}}}
			if together {
				ps = append(ps, named{tally: &tally{version: 1}, name: "b", table: "tally_b"})
			}
			set, stop := startSet(t, f, ps...)
			defer stop()
			_, err := set.Changes("a", "nonesuch")
			require.Error(t, err, "a projection the set does not run")
			changes, err := set.Changes("a")
			require.NoError(t, err)

			last := f.append(t, "tick-1", ticked{N: 1})
			waitFor(t, set, last)
			before, ok := changes.Count()
			require.True(t, ok, "applied by this process")

			waitFor(t, set, f.append(t, "other", ignored{}))
			count, _ := changes.Count()
			assert.Equal(t, before, count, "an event the projection does not handle changes nothing")

			for i := 2; i <= 4; i++ {
				last = f.append(t, "tick-1", ticked{N: i})
				waitFor(t, set, last)
				count, ok = changes.Count()
				assert.True(t, ok)
				assert.Greater(t, count, before, "a write is counted before its position is reached")
				before = count
			}

			var ignoring *projections.Changes
			var ignored uint64
			if together {
				ignoring, err = set.Changes("b")
				require.NoError(t, err)
				ignored, _ = ignoring.Count()
			}
			require.NoError(t, set.Reprocess(context.Background(), last))
			count, _ = changes.Count()
			assert.Greater(t, count, before, "a re-delivery writes again")
			if together {
				count, _ := ignoring.Count()
				assert.Equal(t, ignored, count, "a projection that ignores re-deliveries writes nothing")
			}

			stop()
			count, ok = changes.Count()
			assert.False(t, ok, "nothing is applied here once the set stopped")
			assert.Greater(t, count, before)
		})
	}
}

// recomputing is a named tally that acts on re-deliveries, as the key maps
// do.
type recomputing struct{ named }

func (recomputing) Redeliver(context.Context, projections.Tx, eventstore.Envelope) error { return nil }

// neverLeased never grants the projections lease: another server holds it.
type neverLeased struct{}

func (neverLeased) Acquire(ctx context.Context, _ string) (projections.Lease, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A server that follows another's checkpoints learns of its writes a poll
// late, so its caches must read the tables: Changes says not ok there,
// while it says ok on the server applying the events.
func TestChangesAreNotOKWhereAnotherProcessApplies(t *testing.T) {
	f := newFixture(t)
	leader, stopLeader := startSet(t, f, &tally{version: 1})
	defer stopLeader()
	r, err := projections.NewRunner(f.db, f.store, f.registry, &tally{version: 1}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	follower := projections.NewSet(f.store, r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); follower.RunLeased(ctx, neverLeased{}) }()
	defer func() { cancel(); <-done }()

	last := f.append(t, "tick-1", ticked{N: 1})
	waitFor(t, leader, last)
	waitFor(t, follower, last) // through the checkpoint the leader stored
	for set, want := range map[*projections.Set]bool{leader: true, follower: false} {
		changes, err := set.Changes("tally")
		require.NoError(t, err)
		_, ok := changes.Count()
		assert.Equal(t, want, ok)
	}
}
