package webhooks_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/webhooks"
)

// The last of the MaxAttempts attempts, cut short by a server that stopped
// before recording its outcome, is still the last: when its lease runs
// out the delivery is failed and poisoned, and no ninth attempt is made.
func TestDeliveryLastAttemptCutShortMakesNoNinth(t *testing.T) {
	clock := &testClock{now: time.Now()}
	f := newFixture(t, webhooks.WithBackoff(2*time.Minute, 2*time.Minute), webhooks.WithClock(clock.Now),
		webhooks.WithRetryPoll(5*time.Millisecond))
	rcv := newReceiver(t, always(http.StatusServiceUnavailable))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	f.publish(f.event("LockInstalled"))
	for n := 1; n < webhooks.MaxAttempts; n++ {
		f.waitFor("a failed attempt recorded", func() bool {
			d, ok := f.only(hook)
			// Its outcome, not its claim (due after the lease, 1 min).
			return ok && d.Attempts == n && d.LastAttemptAt != nil && d.NextAttemptAt != nil &&
				d.NextAttemptAt.Sub(*d.LastAttemptAt) == 2*time.Minute
		})
		if n < webhooks.MaxAttempts-1 {
			clock.set(clock.Now().Add(3 * time.Minute))
		}
	}

	// The last attempt is claimed, as deliver records it, and the server
	// stops before it has an outcome.
	f.stop()
	d, _ := f.only(hook)
	f.inTx(func(tx projections.Tx) error {
		_, err := tx.Exec(f.ctx, `UPDATE `+webhooks.DeliveriesTable+` SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, queued_at = NULL
			WHERE delivery_id = ?`, webhooks.MaxAttempts, clock.Now().UnixMilli(), clock.Now().Add(time.Minute).UnixMilli(), d.DeliveryID.String())
		return err
	})
	clock.set(clock.Now().Add(2 * time.Minute))
	f.start()

	d = f.settled(hook, 1)[0]
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Equal(t, webhooks.MaxAttempts, d.Attempts)
	attempts, _ := rcv.counts()
	require.Equal(t, webhooks.MaxAttempts-1, attempts, "a ninth attempt was made")
	poisoned := f.nextPoison()
	require.Equal(t, d.DeliveryID.String(), poisoned.Metadata.Get(webhooks.MetaDeliveryID))
}
