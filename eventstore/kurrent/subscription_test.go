package kurrent

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/kurrent/kurrenttest"
)

// TestSubscriptionResumesAfterDrop has the server drop its subscription
// calls twice, once after part of the stored events were delivered and once
// while live, and requires every event exactly once, in order, the later
// ones through resumed calls.
func TestSubscriptionResumesAfterDrop(t *testing.T) {
	srv, err := kurrenttest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	s, err := Open(t.Context(), srv.URL())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })

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
	appendN(3) // appended after the drop: only a resumed call sees them
	take(6)
	require.GreaterOrEqual(t, srv.Subscriptions(), 2, "the subscription was resumed")

	before := srv.Subscriptions()
	srv.DropSubscriptions()
	appendN(2)
	take(2)
	require.Greater(t, srv.Subscriptions(), before, "the subscription was resumed again")
	require.Equal(t, want, got, "every event once, in order")

	// Nothing more is pending: the next event is one appended now.
	appendN(1)
	take(1)
	require.Equal(t, want, got)
}
