package storetest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

// steppingClock is a wall clock a test sets, as NTP or an operator steps
// a real one.
type steppingClock struct{ now atomic.Int64 }

func newSteppingClock(t time.Time) *steppingClock {
	c := &steppingClock{}
	c.set(t)
	return c
}

func (c *steppingClock) set(t time.Time) { c.now.Store(t.UnixNano()) }
func (c *steppingClock) Now() time.Time  { return time.Unix(0, c.now.Load()) }

// testRecordedTimesNeverGoBackwards: after a clock steps back, an event is
// recorded no earlier than the last one: recorded times follow positions,
// which cutting the log by time (replay --until, the audit's at) relies
// on. This holds for the same store, for a store reopened on the
// location, and for other processes' stores on it whose clocks run ahead
// or far behind.
func testRecordedTimesNeverGoBackwards(t *testing.T, b Backend) {
	if b.OpenAtWithClock == nil || b.NewLocation == nil {
		t.Skipf("%s: no OpenAtWithClock: its clock is not the test's to set", b.Name)
	}
	location := b.NewLocation(t)
	open := func(now func() time.Time) es.Store {
		s, err := b.OpenAtWithClock(location, now)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	noon := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := newSteppingClock(noon)

	s := open(clock.Now)
	mustAppend(t, s, "lock-1", es.Any, event("LockRenamed", 1))
	clock.set(noon.Add(-time.Hour))
	mustAppend(t, s, "lock-1", es.Any, event("LockRenamed", 2))
	require.NoError(t, s.Close())

	s = open(clock.Now)
	mustAppend(t, s, "lock-1", es.Any, event("LockRenamed", 3))
	ahead := open(newSteppingClock(noon.Add(time.Minute)).Now)
	behind := open(newSteppingClock(noon.Add(-24 * time.Hour)).Now)
	mustAppend(t, ahead, "lock-2", es.Any, event("LockRenamed", 4))
	mustAppend(t, behind, "lock-1", es.Any, event("LockRenamed", 5))
	clock.set(noon.Add(-time.Minute))
	mustAppend(t, s, "lock-2", es.Any, event("LockRenamed", 6))

	got := readAll(t, s, 0, es.Filter{})
	want := []time.Time{noon, noon, noon, noon.Add(time.Minute), noon.Add(time.Minute), noon.Add(time.Minute)}
	require.Len(t, got, len(want))
	for i, ev := range got {
		assert.True(t, ev.RecordedAt.Equal(want[i]), "event at position %d recorded at %s, want %s", ev.Position, ev.RecordedAt, want[i])
	}
}
