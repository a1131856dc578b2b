package sqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
)

func TestAppendThenRead(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	a, b, c := event("LockProvisioned", 1), event("LockInstalled", 2), event("LockRenamed", 3)
	c.Metadata = nil
	res := mustAppend(t, s, "lock-1", eventstore.NoStream, a, b)
	if res.NextExpectedRevision != 1 || res.Position != 2 {
		t.Fatalf("result %+v, want rev 1 pos 2", res)
	}
	res = mustAppend(t, s, "lock-1", eventstore.Exact(1), c)
	if res.NextExpectedRevision != 2 || res.Position != 3 {
		t.Fatalf("result %+v, want rev 2 pos 3", res)
	}

	got, err := s.ReadStream(ctx, "lock-1", eventstore.ReadStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []eventstore.EventData{a, b, c}
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	for i, ev := range got {
		w := want[i]
		if ev.ID != w.ID || ev.Type != w.Type || !bytes.Equal(ev.Data, w.Data) || !bytes.Equal(ev.Metadata, w.Metadata) {
			t.Errorf("event %d = %+v, want %+v", i, ev, w)
		}
		if ev.Stream != "lock-1" || ev.Revision != uint64(i) || ev.Position != uint64(i+1) {
			t.Errorf("event %d at %s@%d pos %d", i, ev.Stream, ev.Revision, ev.Position)
		}
		if ev.RecordedAt.Location() != time.UTC || time.Since(ev.RecordedAt) > time.Minute {
			t.Errorf("event %d recorded at %v", i, ev.RecordedAt)
		}
	}
	if got[2].Metadata != nil {
		t.Errorf("absent metadata read back as %q", got[2].Metadata)
	}

	back, err := s.ReadStream(ctx, "lock-1", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0].Revision != 2 || back[1].Revision != 1 {
		t.Fatalf("backwards read %+v", back)
	}
	fwd, err := s.ReadStream(ctx, "lock-1", eventstore.ReadStreamOptions{From: 5})
	if err != nil || len(fwd) != 0 {
		t.Fatalf("read past the end: %v, %v", fwd, err)
	}
	if _, err := s.ReadStream(ctx, "lock-2", eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("read of a missing stream: %v", err)
	}
	if head, _ := s.HeadPosition(ctx); head != 3 {
		t.Fatalf("head %d, want 3", head)
	}
}

func TestExpectedRevision(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	mustAppend(t, s, "s-1", eventstore.NoStream, event("A", 0))

	for _, tc := range []struct {
		exp    eventstore.ExpectedRevision
		actual int64
		stream string
	}{
		{eventstore.NoStream, 0, "s-1"},
		{eventstore.Exact(1), 0, "s-1"},
		{eventstore.Exact(^uint64(0)), 0, "s-1"},
		{eventstore.StreamExists, -1, "s-2"},
		{eventstore.Exact(0), -1, "s-2"},
	} {
		_, err := s.Append(ctx, tc.stream, tc.exp, event("A", 1))
		var wev *eventstore.WrongExpectedVersionError
		if !errors.As(err, &wev) || !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			t.Fatalf("%s at %s: err %v, want a wrong expected version", tc.stream, tc.exp, err)
		}
		if wev.Actual != tc.actual || wev.Stream != tc.stream || wev.Expected != tc.exp {
			t.Errorf("%s at %s: %+v", tc.stream, tc.exp, wev)
		}
	}
	mustAppend(t, s, "s-1", eventstore.StreamExists, event("A", 2))
	mustAppend(t, s, "s-1", eventstore.Any, event("A", 3))
	mustAppend(t, s, "s-3", eventstore.Any, event("A", 4))
	res := mustAppend(t, s, "s-1", eventstore.Exact(2))
	if res.NextExpectedRevision != 2 || res.Position != 3 {
		t.Errorf("empty append reports %+v", res)
	}
	if got := s.Stats().Events; got != 4 {
		t.Errorf("stored %d events, want 4", got)
	}
}

func TestIdempotentRetries(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	a, b := event("A", 1), event("B", 2)
	first := mustAppend(t, s, "s-1", eventstore.NoStream, a, b)
	mustAppend(t, s, "s-1", eventstore.Exact(1), event("C", 3))

	for _, exp := range []eventstore.ExpectedRevision{eventstore.NoStream, eventstore.Any, eventstore.StreamExists} {
		res, err := s.Append(ctx, "s-1", exp, a, b)
		if err != nil || res != first {
			t.Errorf("retry at %s: %+v, %v; want %+v", exp, res, err, first)
		}
	}
	// A retry of the second event alone, at its own expected place.
	if res, err := s.Append(ctx, "s-1", eventstore.Exact(0), b); err != nil || res != first {
		t.Errorf("retry of b: %+v, %v", res, err)
	}
	// Same ids, wrong order or one too many: a conflict.
	for _, evs := range [][]eventstore.EventData{{b, a}, {a, b, event("D", 4), event("E", 5)}} {
		if _, err := s.Append(ctx, "s-1", eventstore.NoStream, evs...); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			t.Errorf("NoStream with %d events: %v", len(evs), err)
		}
	}
	if _, err := s.Append(ctx, "s-1", eventstore.Any, a, event("X", 9)); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Errorf("Any with a stored first id then a new one: %v", err)
	}
	evs, _ := s.ReadStream(ctx, "s-1", eventstore.ReadStreamOptions{})
	if len(evs) != 3 {
		t.Fatalf("stream holds %d events after retries, want 3", len(evs))
	}
}

func TestConcurrentRetriesStoreOnce(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	a := event("A", 1)
	var wg sync.WaitGroup
	results := make([]eventstore.AppendResult, 32)
	errs := make([]error, 32)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.Append(ctx, "s-1", eventstore.NoStream, a)
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || results[i] != (eventstore.AppendResult{NextExpectedRevision: 0, Position: 1}) {
			t.Errorf("append %d: %+v, %v", i, results[i], errs[i])
		}
	}
	if head, _ := s.HeadPosition(ctx); head != 1 {
		t.Errorf("head %d, want 1", head)
	}
}

func TestValidation(t *testing.T) {
	s := openTemp(t, WithMaxEventSize(100))
	ctx := context.Background()
	big := event("A", 0)
	big.Data = json.RawMessage(`"` + strings.Repeat("x", 100) + `"`)
	if _, err := s.Append(ctx, "s-1", eventstore.Any, event("A", 1), big); !errors.Is(err, eventstore.ErrEventTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	bad := event("A", 0)
	bad.Data = json.RawMessage(`{`)
	if _, err := s.Append(ctx, "s-1", eventstore.Any, bad); !errors.Is(err, eventstore.ErrInvalidEvent) {
		t.Errorf("not JSON: %v", err)
	}
	if _, err := s.Append(ctx, "s-1", eventstore.Any, eventstore.EventData{Type: "A"}); !errors.Is(err, eventstore.ErrInvalidEvent) {
		t.Errorf("no id: %v", err)
	}
	if _, err := s.Append(ctx, "$all", eventstore.Any, event("A", 1)); !errors.Is(err, eventstore.ErrInvalidEvent) {
		t.Errorf("append to $all: %v", err)
	}
	if _, err := s.ReadStream(ctx, "s-1", eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("something was stored: %v", err)
	}
}

func TestObserver(t *testing.T) {
	var mu sync.Mutex
	var calls, events int
	s := openTemp(t, WithObserver(func(n int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		events += n
		if d <= 0 {
			t.Errorf("latency %v", d)
		}
	}))
	a := event("A", 1)
	mustAppend(t, s, "s-1", eventstore.NoStream, a, event("B", 2))
	mustAppend(t, s, "s-1", eventstore.NoStream, a)
	_, _ = s.Append(context.Background(), "s-1", eventstore.NoStream, event("C", 3))
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 || events != 2 {
		t.Errorf("observer saw %d calls and %d events, want 3 and 2", calls, events)
	}
}

func TestCancelledAppend(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, "s-1", eventstore.Any, event("A", 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled ctx: %v", err)
	}
	if head, _ := s.HeadPosition(context.Background()); head != 0 {
		t.Fatalf("head %d after a cancelled append", head)
	}
}
