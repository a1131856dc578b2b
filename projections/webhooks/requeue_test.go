package webhooks_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections/webhooks"
)

// An operator replays the poison queue from the deliveries table (as
// accessctl webhooks replay does, from another process): the running
// delivery takes the failed deliveries up again, for a new round, and
// leaves the delivered ones and other webhooks' alone.
func TestDeliveryRequeueFailedByTheOperator(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	down := true
	status := func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusBadGateway
		}
		return http.StatusOK
	}
	rcv, other := newReceiver(t, status), newReceiver(t, always(http.StatusBadGateway))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	otherHook := f.register(other.srv.URL, "LockInstalled")
	rcv.secret, other.secret = secretFor(hook), secretFor(otherHook)
	f.publish(f.event("LockInstalled"))
	f.publish(f.event("LockInstalled"))
	f.settled(hook, 2)
	f.settled(otherHook, 2)

	mu.Lock()
	down = false
	mu.Unlock()
	n, err := webhooks.RequeueFailed(f.ctx, f.db, hook, uuid.Nil, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	f.waitFor("the replayed deliveries delivered", func() bool {
		for _, d := range f.deliveries(hook) {
			if d.Status != webhooks.StatusDelivered {
				return false
			}
		}
		return true
	})
	for _, d := range f.deliveries(hook) {
		require.Equal(t, webhooks.MaxAttempts+1, d.Attempts)
	}
	_, delivered := rcv.counts()
	require.Len(t, delivered, 2)
	for _, d := range f.deliveries(otherHook) {
		require.Equal(t, webhooks.StatusFailed, d.Status)
		require.Equal(t, webhooks.MaxAttempts, d.Attempts)
	}
	// Nothing failed is left of that webhook.
	n, err = webhooks.RequeueFailed(f.ctx, f.db, hook, uuid.Nil, time.Now())
	require.NoError(t, err)
	require.Zero(t, n)
}
