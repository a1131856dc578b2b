package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// RefreshHead sees another process's appends at once (one query), not at
// the watcher's next tick, and wakes the subscriptions waiting for them.
func TestRefreshHeadSeesAnotherStoresAppendsAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	server, err := Open(path, WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	other, err := Open(path, WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	sub, err := server.Subscribe(ctx, 0, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	mustAppend(t, other, "s-1", eventstore.Any, event("E", 1), event("E", 2))
	if head, _ := server.HeadPosition(ctx); head != 0 {
		t.Fatalf("the watcher ran: head %d (the test needs it idle)", head)
	}
	head, err := server.RefreshHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head != 2 {
		t.Fatalf("RefreshHead = %d, want 2", head)
	}
	if got, _ := server.HeadPosition(ctx); got != 2 {
		t.Fatalf("HeadPosition after RefreshHead = %d, want 2", got)
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for want := uint64(1); want <= 2; want++ {
		ev, err := sub.Next(short)
		if err != nil {
			t.Fatalf("the subscription did not wake for position %d: %v", want, err)
		}
		if ev.Position != want {
			t.Fatalf("position %d, want %d", ev.Position, want)
		}
	}
	server.Close()
	if _, err := server.RefreshHead(ctx); err != eventstore.ErrClosed {
		t.Fatalf("RefreshHead after Close: %v, want ErrClosed", err)
	}
}

// RefreshHead on a file that lost its end (another process removed events
// this store published) publishes nothing and says so, as the watcher
// does: the store refuses appends from then on.
func TestRefreshHeadNoticesARemovedEnd(t *testing.T) {
	s := openTemp(t, WithPollInterval(0))
	mustAppend(t, s, "lock-1", eventstore.NoStream, event("A", 1), event("B", 2))
	deleteLast(t, otherProcess(t, s), 1)
	if _, err := s.RefreshHead(context.Background()); !errors.Is(err, eventstore.ErrLogTruncated) {
		t.Fatalf("RefreshHead over a removed end: %v, want ErrLogTruncated", err)
	}
	_, err := s.Append(context.Background(), "lock-2", eventstore.NoStream, event("A", 3))
	wantTruncated(t, err, "position 2")
}
