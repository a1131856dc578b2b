package postgres

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
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

// After a clock steps back, an event is recorded no earlier than the last
// one, also when the last one came from another process sharing the table
// whose clock runs ahead: recorded times follow positions, which cutting
// the log by time (replay --until, the audit's at) relies on.
func TestRecordedTimesNeverGoBackwards(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	noon := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := newSteppingClock(noon)
	s := openURL(t, url, withClock(clock.Now))
	mustAppend(t, s, "lock-1", eventstore.Any, event("LockRenamed", 1))
	clock.set(noon.Add(-time.Hour))
	mustAppend(t, s, "lock-1", eventstore.Any, event("LockRenamed", 2))

	ahead := openURL(t, url, withClock(newSteppingClock(noon.Add(time.Minute)).Now))
	behind := openURL(t, url, withClock(newSteppingClock(noon.Add(-24*time.Hour)).Now))
	mustAppend(t, ahead, "lock-2", eventstore.Any, event("LockRenamed", 3))
	mustAppend(t, behind, "lock-1", eventstore.Any, event("LockRenamed", 4))
	mustAppend(t, s, "lock-2", eventstore.Any, event("LockRenamed", 5))

	got, err := s.ReadAll(t.Context(), 0, 100, eventstore.Filter{})
	require.NoError(t, err)
	want := []time.Time{noon, noon, noon.Add(time.Minute), noon.Add(time.Minute), noon.Add(time.Minute)}
	require.Len(t, got, len(want))
	for i, ev := range got {
		assert.True(t, ev.RecordedAt.Equal(want[i]), "event at position %d recorded at %s, want %s", ev.Position, ev.RecordedAt, want[i])
	}
}
