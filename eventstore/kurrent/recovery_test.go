package kurrent

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

func lockEvent() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "LockChanged", Data: json.RawMessage(`{}`)}
}

// TestServerRestartKeepsSubscription restarts the server under an open
// subscription: it resumes where it was, and the store appends again.
func TestServerRestartKeepsSubscription(t *testing.T) {
	srv, s := openOnNewServer(t)

	first := lockEvent()
	_, err := s.Append(t.Context(), "lock-1", eventstore.NoStream, first)
	require.NoError(t, err)
	sub, err := s.Subscribe(t.Context(), 0, eventstore.Filter{})
	require.NoError(t, err)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ev, err := sub.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, first.ID, ev.ID)

	require.NoError(t, srv.Restart())
	second := lockEvent()
	_, err = s.Append(t.Context(), "lock-1", eventstore.Exact(0), second)
	require.NoError(t, err, "append after the server restarted")
	ev, err = sub.Next(ctx)
	require.NoError(t, err, "the subscription resumes after the restart")
	require.Equal(t, second.ID, ev.ID, "the next event, not a repeat")
}

// TestServerOutage stops the server: calls fail as unavailable, also once
// the client has given up rediscovering it, and succeed again when it is
// back.
func TestServerOutage(t *testing.T) {
	srv, s := openOnNewServer(t)
	_, err := s.Append(t.Context(), "lock-1", eventstore.NoStream, lockEvent())
	require.NoError(t, err)

	srv.Stop()
	// Whether the client has just lost the connection, is rediscovering
	// the server, or has given up and closed, a call fails as unavailable.
	for i := range 3 {
		_, err = s.Append(t.Context(), "lock-1", eventstore.Exact(0), lockEvent())
		require.ErrorIs(t, err, eventstore.ErrUnavailable, "call %d while the server is down", i)
	}
	require.NoError(t, srv.Restart())
	res, err := s.Append(t.Context(), "lock-1", eventstore.Exact(0), lockEvent())
	require.NoError(t, err, "append once the server is back")
	require.Equal(t, uint64(1), res.NextExpectedRevision)
}
