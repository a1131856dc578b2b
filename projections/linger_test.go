package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
)

// lateTally is tally in the deferred lane.
type lateTally struct{ tally }

func (*lateTally) Lane() string { return projections.LaneDeferred }

func TestDeferredLaneBatchesUntilSomeoneWaits(t *testing.T) {
	defer projections.SetDeferredLinger(time.Hour)()
	f := newFixture(t)
	p := &lateTally{}
	set, stop := startSet(t, f, p)
	defer stop()
	// Ready once the set has waited for the head it found at start;
	// appending before that would make that wait a reader to hurry for.
	require.Eventually(t, set.Ready, 10*time.Second, time.Millisecond)

	var last uint64
	for i := 1; i <= 3; i++ {
		last = f.append(t, "clock-1", ticked{N: i})
	}
	// A check that does not wait (a cancelled context) must not end the
	// batch: only a reader that waits does.
	checked, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, set.WaitFor(checked, last))
	time.Sleep(300 * time.Millisecond)
	require.Zero(t, set.Position(), "nobody waited, so the lane still holds its batch open")
	require.Zero(t, p.applied.Load())

	waitFor(t, set, last) // an hour's linger, cut short by the wait
	events, total := f.totals(t)
	require.Equal(t, 3, events)
	require.Equal(t, 6, total)
}
