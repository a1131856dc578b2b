package sqlite

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
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

// After the clock steps back, an event is recorded no earlier than the
// last one: recorded times follow positions, which cutting the log by time
// (replay --until, the audit's at) relies on. This holds for the same
// store, for a store reopened on the file, and for another process's store
// appending to the same file.
func TestRecordedTimesNeverGoBackwards(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	noon := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := newSteppingClock(noon)
	s, err := Open(path, withClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "lock-1", eventstore.Any, event("LockRenamed", 1))
	clock.set(noon.Add(-time.Hour))
	mustAppend(t, s, "lock-1", eventstore.Any, event("LockRenamed", 2))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, withClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAppend(t, s, "lock-1", eventstore.Any, event("LockRenamed", 3))
	other, err := Open(path, withClock(newSteppingClock(noon.Add(-24*time.Hour)).Now))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	clock.set(noon.Add(time.Minute))
	mustAppend(t, s, "lock-1", eventstore.Any, event("LockRenamed", 4))
	mustAppend(t, other, "lock-1", eventstore.Any, event("LockRenamed", 5))
	clock.set(noon.Add(-time.Minute))
	mustAppend(t, s, "lock-1", eventstore.Any, event("LockRenamed", 6))

	got, err := s.ReadStream(ctx, "lock-1", eventstore.ReadStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{noon, noon, noon, noon.Add(time.Minute), noon.Add(time.Minute), noon.Add(time.Minute)}
	if len(got) != len(want) {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	for i, ev := range got {
		if !ev.RecordedAt.Equal(want[i]) {
			t.Errorf("event at position %d recorded at %s, want %s", ev.Position, ev.RecordedAt, want[i])
		}
	}
}
