package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
)

func TestGroupCommitBatches(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	const writers, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("w-%d", w)
			for i := range each {
				exp := eventstore.Exact(uint64(i - 1))
				if i == 0 {
					exp = eventstore.NoStream
				}
				if _, err := s.Append(ctx, stream, exp, event("E", i)); err != nil {
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
	st := s.Stats()
	if st.Appends != writers*each || st.Events != writers*each {
		t.Fatalf("stats %+v, want %d appends", st, writers*each)
	}
	if st.Commits >= st.Appends/2 {
		t.Errorf("%d commits for %d appends: appends were not grouped", st.Commits, st.Appends)
	}
	t.Logf("%d appends in %d commits", st.Appends, st.Commits)

	// Positions 1…n without gaps, each stream's revisions in order.
	all, err := s.ReadAll(ctx, 0, writers*each+10, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]uint64{}
	for i, ev := range all {
		if ev.Position != uint64(i+1) {
			t.Fatalf("event %d at position %d", i, ev.Position)
		}
		if ev.Revision != next[ev.Stream] {
			t.Fatalf("%s: revision %d, want %d", ev.Stream, ev.Revision, next[ev.Stream])
		}
		next[ev.Stream]++
	}
	if len(all) != writers*each {
		t.Fatalf("read %d events", len(all))
	}
}

func TestReopenKeepsEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "nested", "events.db")
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("path %s, want %s", s.Path(), path)
	}
	a := event("A", 1)
	mustAppend(t, s, "s-1", eventstore.NoStream, a, event("B", 2))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("no file at %s: %v", path, err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if head, _ := s.HeadPosition(ctx); head != 2 {
		t.Fatalf("head after reopen %d, want 2", head)
	}
	// Idempotency survives the reopen; positions carry on.
	if res := mustAppend(t, s, "s-1", eventstore.NoStream, a); res.Position != 1 {
		t.Errorf("retry after reopen: %+v", res)
	}
	if res := mustAppend(t, s, "s-2", eventstore.NoStream, event("C", 3)); res.Position != 3 {
		t.Errorf("next position %d, want 3", res.Position)
	}
}

func TestClosedStore(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	mustAppend(t, s, "s-1", eventstore.NoStream, event("A", 1))
	sub, err := s.Subscribe(ctx, 0, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := sub.Next(ctx)
		ended <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("waiting Next after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Append(ctx, "s-1", eventstore.Any, event("A", 2)); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("append: %v", err)
	}
	if _, err := s.ReadStream(ctx, "s-1", eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("read stream: %v", err)
	}
	if _, err := s.ReadAll(ctx, 0, 10, eventstore.Filter{}); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("read all: %v", err)
	}
	if _, err := s.Subscribe(ctx, 0, eventstore.Filter{}); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("subscribe: %v", err)
	}
	if _, err := s.HeadPosition(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("head: %v", err)
	}
}

func TestCloseWhileAppending(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				_, err := s.Append(ctx, fmt.Sprintf("w-%d", w), eventstore.Any, event("E", i))
				if errors.Is(err, eventstore.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	for s.Stats().Events < 50 {
		runtimeGosched()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// TestDiskFullIsUnavailable makes the file unable to grow (as a full disk
// would) and expects ErrUnavailable, with nothing of the failed batch kept.
func TestDiskFullIsUnavailable(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	mustAppend(t, s, "s-1", eventstore.NoStream, event("A", 1))
	var pages int64
	if err := s.wdb.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	big := event("A", 0)
	big.Data = []byte(fmt.Sprintf(`"%0100000d"`, 0))
	_, err := s.Append(ctx, "s-1", eventstore.Exact(0), big)
	if !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("append to a full file: %v", err)
	}
	t.Log(err)
	if head, _ := s.HeadPosition(ctx); head != 1 {
		t.Fatalf("head %d after a failed append, want 1", head)
	}
	if _, err := s.wdb.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if res := mustAppend(t, s, "s-1", eventstore.Exact(0), big); res.Position != 2 {
		t.Fatalf("append after space came back: %+v", res)
	}
}

// TestTwoStoresOnOneFile checks that the writer notices appends made through
// another connection to the same file (another process, in practice) and
// neither reuses a position nor misses a stream's new head.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustAppend(t, a, "s-1", eventstore.NoStream, event("A", 0))
	mustAppend(t, b, "s-1", eventstore.Exact(0), event("A", 1))
	if _, err := a.Append(context.Background(), "s-1", eventstore.Exact(0), event("A", 2)); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Fatalf("stale head used: %v", err)
	}
	if res := mustAppend(t, a, "s-1", eventstore.Exact(1), event("A", 3)); res.Position != 3 {
		t.Fatalf("position %d, want 3", res.Position)
	}
}

// TestSeesAppendsOfAnotherStore checks that a subscription and HeadPosition
// see events another connection (another process, in practice) appended,
// without an append of their own.
func TestSeesAppendsOfAnotherStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	a, err := Open(path, WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path, WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := a.Subscribe(ctx, 0, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ev := event("A", 1)
	mustAppend(t, b, "s-1", eventstore.NoStream, ev)
	got, err := sub.Next(ctx)
	if err != nil || got.ID != ev.ID {
		t.Fatalf("next: %+v, %v", got, err)
	}
	if head, _ := a.HeadPosition(ctx); head != 1 {
		t.Fatalf("head %d, want 1", head)
	}
}
