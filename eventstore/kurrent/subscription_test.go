package kurrent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// TestSubscriptionResumesAfterDrop has the server drop its subscription
// calls twice, once after part of the stored events were delivered and once
// while live, and requires every event exactly once, in order, the later
// ones through resumed calls.
func TestSubscriptionResumesAfterDrop(t *testing.T) {
	srv, s := openOnNewServer(t)

	var want []uuid.UUID
	appendN := func(n int) {
		t.Helper()
		for range n {
			ev := eventstore.EventData{ID: uuid.New(), Type: "LockChanged", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, len(want)))}
			_, err := s.Append(t.Context(), "lock-1", eventstore.Any, ev)
			require.NoError(t, err)
			want = append(want, ev.ID)
		}
	}
	sub, err := s.Subscribe(t.Context(), 0, eventstore.Filter{StreamPrefixes: []string{"lock-"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Close() })
	var got []uuid.UUID
	take := func(n int) {
		t.Helper()
		for range n {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			ev, err := sub.Next(ctx)
			cancel()
			require.NoError(t, err, "event %d", len(got))
			got = append(got, ev.ID)
		}
	}

	appendN(5)
	take(2)
	srv.DropSubscriptions()
	// The dropped call may still be sending what it had; once the client
	// has resumed, what is appended next reaches it only through the
	// resumed call.
	require.Eventually(t, func() bool { return srv.Subscriptions() >= 2 }, 30*time.Second, 5*time.Millisecond, "the subscription was resumed")
	appendN(3)
	take(6)

	before := srv.Subscriptions()
	srv.DropSubscriptions()
	require.Eventually(t, func() bool { return srv.Subscriptions() > before }, 30*time.Second, 5*time.Millisecond, "the subscription was resumed again")
	appendN(2)
	take(2)
	require.Equal(t, want, got, "every event once, in order")

	// Nothing more is pending: the next event is one appended now.
	appendN(1)
	take(1)
	require.Equal(t, want, got)
}

// TestSubscriptionResumesInCatchUp drops the server's subscription call
// while it is still sending stored events (more than the store buffers and
// gRPC's windows hold): the resumed call must go on after the last event
// passed on, with every event exactly once, in order.
func TestSubscriptionResumesInCatchUp(t *testing.T) {
	srv, s := openOnNewServer(t)

	pad := strings.Repeat("x", 64<<10)
	var want []uuid.UUID
	for range 20 {
		batch := make([]eventstore.EventData, 20)
		for i := range batch {
			batch[i] = eventstore.EventData{ID: uuid.New(), Type: "LockChanged", Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, len(want), pad))}
			want = append(want, batch[i].ID)
		}
		_, err := s.Append(t.Context(), "lock-1", eventstore.Any, batch...)
		require.NoError(t, err)
	}
	sub, err := s.Subscribe(t.Context(), 0, eventstore.Filter{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var got []uuid.UUID
	take := func(n int) {
		t.Helper()
		for range n {
			ev, err := sub.Next(ctx)
			require.NoError(t, err, "event %d", len(got))
			got = append(got, ev.ID)
		}
	}
	take(5)
	srv.DropSubscriptions()
	take(len(want) - 5)
	require.GreaterOrEqual(t, srv.Subscriptions(), 2, "the subscription was resumed")
	require.Equal(t, want, got, "every event once, in order")
}
