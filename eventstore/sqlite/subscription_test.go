package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// TestSubscribeCatchUpThenLive subscribes while writers append and expects
// every position exactly once, in order, across the hand-over.
func TestSubscribeCatchUpThenLive(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	for i := 0; i < 1500; i += 100 {
		evs := make([]eventstore.EventData, 100)
		for j := range evs {
			evs[j] = event("E", i+j)
		}
		mustAppend(t, s, "pre-1", eventstore.Any, evs...)
	}
	const writers, each = 8, 150
	total := 1500 + writers*each
	sub, err := s.Subscribe(ctx, 0, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.Append(ctx, fmt.Sprintf("live-%d", w), eventstore.Any, event("E", i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for want := uint64(1); want <= uint64(total); want++ {
		ev, err := sub.Next(tctx)
		if err != nil {
			t.Fatalf("next after %d: %v", want-1, err)
		}
		if ev.Position != want {
			t.Fatalf("got position %d, want %d", ev.Position, want)
		}
	}
	wg.Wait()
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if ev, err := sub.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after the last event: %+v, %v", ev, err)
	}
}

func TestSubscribeFiltered(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	// Many events filtered out between the matches, and look-alike names:
	// the prefix is case-sensitive and % or _ are not wildcards.
	streams := []string{"lock-1", "LOCK-2", "lockx-3", "lock_4", "user-5", "lock-%"}
	var wg sync.WaitGroup
	for k, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var evs []eventstore.EventData
			for i := k; i < 3000; i += len(streams) {
				typ := "Noise"
				if i%500 == 0 {
					typ = "LockInstalled"
				}
				evs = append(evs, event(typ, i))
				if len(evs) == 25 {
					if _, err := s.Append(ctx, st, eventstore.Any, evs...); err != nil {
						t.Error(err)
						return
					}
					evs = evs[:0]
				}
			}
		}()
	}
	wg.Wait()
	cases := []struct {
		name   string
		filter eventstore.Filter
		want   int
	}{
		{"prefix", eventstore.Filter{StreamPrefixes: []string{"lock-"}}, 1000},
		{"underscore prefix", eventstore.Filter{StreamPrefixes: []string{"lock_"}}, 500},
		{"two prefixes", eventstore.Filter{StreamPrefixes: []string{"user-", "LOCK-"}}, 1000},
		{"type", eventstore.Filter{EventTypes: []string{"LockInstalled"}}, 6},
		{"type and prefix", eventstore.Filter{EventTypes: []string{"LockInstalled", "Other"}, StreamPrefixes: []string{"lock-"}}, 2},
		{"empty prefix", eventstore.Filter{StreamPrefixes: []string{""}}, 3000},
		{"nothing", eventstore.Filter{EventTypes: []string{"Missing"}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// ReadAll in small pages.
			var got []eventstore.RecordedEvent
			after := uint64(0)
			for {
				page, err := s.ReadAll(ctx, after, 7, tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].Position
			}
			check(t, got, tc.filter, tc.want)

			// The subscription, then one live event that matches and one that does not.
			sub, err := s.Subscribe(ctx, 0, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			got = got[:0]
			for range tc.want {
				ev, err := sub.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ev)
			}
			check(t, got, tc.filter, tc.want)
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			if ev, err := sub.Next(short); err == nil {
				t.Fatalf("extra event %+v", ev)
			}
		})
	}
}

func check(t *testing.T, got []eventstore.RecordedEvent, f eventstore.Filter, want int) {
	t.Helper()
	if len(got) != want {
		t.Fatalf("%d events, want %d", len(got), want)
	}
	var last uint64
	for _, ev := range got {
		if !f.Match(ev.Stream, ev.Type) || ev.Position <= last {
			t.Fatalf("event %s %s at %d after %d", ev.Stream, ev.Type, ev.Position, last)
		}
		last = ev.Position
	}
}

func TestSubscriptionClose(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	mustAppend(t, s, "s-1", eventstore.Any, event("A", 1), event("A", 2))
	sub, err := s.Subscribe(ctx, 0, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	sub2, _ := s.Subscribe(ctx, 2, eventstore.Filter{})
	go func() {
		_, err := sub2.Next(ctx)
		ended <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := sub2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("blocked Next after Close: %v", err)
	}
	for range 2 {
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sub.Next(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
	// Subscribing from a later position starts after it.
	sub3, _ := s.Subscribe(ctx, 1, eventstore.Filter{})
	defer sub3.Close()
	if ev, err := sub3.Next(ctx); err != nil || ev.Position != 2 {
		t.Errorf("from 1: %+v, %v", ev, err)
	}
}
