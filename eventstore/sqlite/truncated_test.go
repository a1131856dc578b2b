package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// otherProcess opens the store's file on a connection of its own, as
// sqlite3 or another program beside the server would.
func otherProcess(t *testing.T, s *Store) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func deleteLast(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	for range n {
		if _, err := db.Exec(`DELETE FROM events WHERE position = (SELECT MAX(position) FROM events)`); err != nil {
			t.Fatal(err)
		}
	}
}

func positions(t *testing.T, s *Store) []uint64 {
	t.Helper()
	evs, err := s.ReadAll(context.Background(), 0, 1000, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ps []uint64
	for _, ev := range evs {
		ps = append(ps, ev.Position)
	}
	return ps
}

func wantTruncated(t *testing.T, err error, lost string) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrLogTruncated) || !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("append after the log lost its end: %v, want ErrLogTruncated (and ErrUnavailable)", err)
	}
	if !strings.Contains(err.Error(), lost) {
		t.Fatalf("error %q does not name %q", err, lost)
	}
}

// An event removed from the end of the file by another process, before
// anything read it back: the next append must not take its position again.
func TestAppendRefusedAfterLastEventRemoved(t *testing.T) {
	s := openTemp(t, WithPollInterval(0)) // the writer alone must notice
	ctx := context.Background()
	mustAppend(t, s, "lock-1", eventstore.NoStream, event("A", 1), event("B", 2))
	mustAppend(t, s, "lock-2", eventstore.NoStream, event("A", 3))
	deleteLast(t, otherProcess(t, s), 1)

	_, err := s.Append(ctx, "lock-3", eventstore.NoStream, event("A", 4))
	wantTruncated(t, err, "position 3 was removed")
	// And every later one, whatever the file holds meanwhile.
	_, err = s.Append(ctx, "lock-1", eventstore.Exact(1), event("C", 5))
	wantTruncated(t, err, "position 3")
	if got := positions(t, s); len(got) != 2 || got[1] != 2 {
		t.Fatalf("positions after the refused appends: %v, want [1 2]: nothing written over the hole", got)
	}
	// A check that writes nothing is refused too: the store appends nothing more.
	_, err = s.Append(ctx, "lock-1", eventstore.Exact(1))
	wantTruncated(t, err, "position 3")
}

func TestAppendRefusedAfterSeveralEventsRemoved(t *testing.T) {
	s := openTemp(t, WithPollInterval(0))
	for i := range 5 {
		mustAppend(t, s, "lock-1", eventstore.Any, event("A", i))
	}
	deleteLast(t, otherProcess(t, s), 3)
	_, err := s.Append(context.Background(), "lock-1", eventstore.Any, event("A", 9))
	wantTruncated(t, err, "positions 3 to 5 were removed")
	if got := positions(t, s); len(got) != 2 {
		t.Fatalf("positions %v, want [1 2]", got)
	}
}

// The watcher notices the loss without an append, and events another
// process appended, which the watcher read and published, count too.
func TestWatcherNoticesRemovedEventsAnotherProcessAppended(t *testing.T) {
	s := openTemp(t, WithPollInterval(5*time.Millisecond))
	mustAppend(t, s, "lock-1", eventstore.NoStream, event("A", 1))
	other, err := Open(s.Path(), WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Append(context.Background(), "lock-2", eventstore.NoStream, event("A", 2), event("A", 3)); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.head.Load().pos == 3 }, "the watcher to publish position 3")
	deleteLast(t, otherProcess(t, s), 1)
	waitFor(t, func() bool { return s.truncated.Load() != nil }, "the watcher to notice the removed event")
	_, err = s.Append(context.Background(), "lock-3", eventstore.NoStream, event("A", 4))
	wantTruncated(t, err, "position 3")
}

// Appends racing the watcher are never taken for a loss.
func TestNoTruncationFoundUnderConcurrentAppends(t *testing.T) {
	s := openTemp(t, WithPollInterval(time.Microsecond))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if _, err := s.Append(context.Background(), "lock-"+string(rune('a'+w)), eventstore.Any, event("A", i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if s.truncated.Load() != nil {
		t.Fatalf("truncation found without one: %v", s.truncated.Load())
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
