package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

var subscriptionTests = []test{
	{"CatchUpThenLive", func(t *testing.T, s *store) {
		stored, _ := mustAppend(t, s, "lock-1", es.NoStream, events("LockChanged", 0, 3)...)
		sub := subscribe(t, s, 0, es.Filter{})
		for _, want := range stored {
			requireEvent(t, want, next(t, sub))
		}
		live, _ := mustAppend(t, s, "lock-2", es.NoStream, events("LockChanged", 3, 2)...)
		for _, want := range live {
			requireEvent(t, want, next(t, sub))
		}
		// Waiting for an event that is appended while Next blocks.
		got := make(chan es.RecordedEvent, 1)
		errc := make(chan error, 1)
		go func() {
			ev, err := sub.Next(t.Context())
			errc <- err
			got <- ev
		}()
		more, _ := mustAppend(t, s, "lock-1", es.Exact(2), event("LockChanged", 5))
		select {
		case err := <-errc:
			require.NoError(t, err)
			requireEvent(t, more[0], <-got)
		case <-time.After(waitTimeout):
			t.Fatalf("an event appended while Next waited was not delivered in %s", waitTimeout)
		}
	}},
	{"FromPosition", func(t *testing.T, s *store) {
		stored, _ := mustAppend(t, s, "lock-1", es.NoStream, events("LockChanged", 0, 4)...)
		all := readAll(t, s, 0, es.Filter{})
		sub := subscribe(t, s, all[1].Position, es.Filter{})
		requireEvent(t, stored[2], next(t, sub))
		requireEvent(t, stored[3], next(t, sub))
		fromHead := subscribe(t, s, head(t, s), es.Filter{})
		live, _ := mustAppend(t, s, "lock-1", es.Exact(3), event("LockChanged", 4))
		requireEvent(t, live[0], next(t, sub))
		requireEvent(t, live[0], next(t, fromHead))
	}},
	{"EmptyStoreThenLive", func(t *testing.T, s *store) {
		sub := subscribe(t, s, 0, es.Filter{})
		live, _ := mustAppend(t, s, "lock-1", es.NoStream, events("LockChanged", 0, 2)...)
		requireEvent(t, live[0], next(t, sub))
		requireEvent(t, live[1], next(t, sub))
	}},
	{"NextHonoursContext", func(t *testing.T, s *store) {
		mustAppend(t, s, "lock-1", es.NoStream, event("LockChanged", 0))
		sub := subscribe(t, s, head(t, s), es.Filter{})

		done, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := sub.Next(done)
		require.ErrorIs(t, err, context.Canceled, "Next with a cancelled context")

		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := sub.Next(ctx)
			errc <- err
		}()
		cancel()
		select {
		case err := <-errc:
			require.ErrorIs(t, err, context.Canceled, "Next cancelled while waiting")
		case <-time.After(waitTimeout):
			t.Fatalf("Next did not return within %s of its context being cancelled", waitTimeout)
		}

		deadline, stop := context.WithTimeout(t.Context(), time.Millisecond)
		defer stop()
		_, err = sub.Next(deadline)
		require.ErrorIs(t, err, context.DeadlineExceeded, "Next past its deadline")
	}},
	{"CloseEndsIt", func(t *testing.T, s *store) {
		mustAppend(t, s, "lock-1", es.NoStream, events("LockChanged", 0, 3)...)
		// A subscription waiting in Next.
		waiting := subscribe(t, s, head(t, s), es.Filter{})
		errc := make(chan error, 1)
		go func() {
			_, err := waiting.Next(t.Context())
			errc <- err
		}()
		require.NoError(t, waiting.Close())
		select {
		case err := <-errc:
			require.ErrorIs(t, err, es.ErrClosed, "Next waiting when the subscription closed")
		case <-time.After(waitTimeout):
			t.Fatalf("closing a subscription did not end its Next within %s", waitTimeout)
		}
		require.NoError(t, waiting.Close(), "closing twice")
		_, err := waiting.Next(t.Context())
		require.ErrorIs(t, err, es.ErrClosed, "Next after Close")

		// A subscription with events still to deliver.
		pending := subscribe(t, s, 0, es.Filter{})
		next(t, pending)
		require.NoError(t, pending.Close())
		_, err = pending.Next(t.Context())
		require.ErrorIs(t, err, es.ErrClosed, "Next after Close, events pending")

		// The store goes on.
		_, err = s.Append(t.Context(), "lock-1", es.Exact(2), event("LockChanged", 3))
		require.NoError(t, err)
	}},
	{"StoreCloseEndsSubscriptions", func(t *testing.T, s *store) {
		mustAppend(t, s, "lock-1", es.NoStream, events("LockChanged", 0, 2)...)
		waiting := subscribe(t, s, head(t, s), es.Filter{})
		idle := subscribe(t, s, head(t, s), es.Filter{EventTypes: []string{"LockChanged"}})
		errc := make(chan error, 1)
		go func() {
			_, err := waiting.Next(t.Context())
			errc <- err
		}()
		require.NoError(t, s.Close())
		select {
		case err := <-errc:
			require.ErrorIs(t, err, es.ErrClosed, "Next waiting when the store closed")
		case <-time.After(waitTimeout):
			t.Fatalf("closing the store did not end a waiting Next within %s", waitTimeout)
		}
		ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
		defer cancel()
		_, err := idle.Next(ctx)
		require.ErrorIs(t, err, es.ErrClosed, "Next on a subscription of a closed store")
		_, err = waiting.Next(ctx)
		require.ErrorIs(t, err, es.ErrClosed, "Next again")

		_, err = s.Append(ctx, "lock-1", es.Any, event("LockChanged", 2))
		require.ErrorIs(t, err, es.ErrClosed, "Append after Close")
		_, err = s.ReadStream(ctx, "lock-1", es.ReadStreamOptions{})
		require.ErrorIs(t, err, es.ErrClosed, "ReadStream after Close")
		_, err = s.ReadAll(ctx, 0, 10, es.Filter{})
		require.ErrorIs(t, err, es.ErrClosed, "ReadAll after Close")
		_, err = s.HeadPosition(ctx)
		require.ErrorIs(t, err, es.ErrClosed, "HeadPosition after Close")
		_, err = s.Subscribe(ctx, 0, es.Filter{})
		require.ErrorIs(t, err, es.ErrClosed, "Subscribe after Close")
	}},
	{"HeadPosition", func(t *testing.T, s *store) {
		requireHead(t, s, 0)
		var last uint64
		for i := range 5 {
			_, res := mustAppend(t, s, "lock-1", es.Any, events("LockChanged", i*3, i%3+1)...)
			requireHead(t, s, res.Position)
			require.Greater(t, res.Position, last)
			last = res.Position
		}
		all := readAll(t, s, 0, es.Filter{})
		require.Equal(t, all[len(all)-1].Position, last)
		// Zero events, a conflict and an invalid append leave it.
		_, err := s.Append(t.Context(), "lock-1", es.StreamExists)
		require.NoError(t, err)
		_, err = s.Append(t.Context(), "lock-1", es.NoStream, event("LockChanged", 99))
		require.ErrorIs(t, err, es.ErrWrongExpectedVersion)
		_, err = s.Append(t.Context(), "lock-1", es.Any, event("", 100))
		require.ErrorIs(t, err, es.ErrInvalidEvent)
		requireHead(t, s, last)
	}},
}
