package webhooks_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections/webhooks"
)

// A receiver that accepts requests and never answers (until the client
// gives up) holds up no other webhook's deliveries, however many of its
// own are queued ahead of them.
func TestDeliveryAHangingReceiverHoldsUpNoOther(t *testing.T) {
	for _, backend := range []string{onGoChannel, onNATS} {
		t.Run(backend, func(t *testing.T) {
			f := newFixtureOn(t, backend, webhooks.WithBackoff(time.Minute, time.Minute))
			release := make(chan struct{})
			hang := newReceiver(t, always(http.StatusOK))
			hang.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
					hang.serve(w, r)
				case <-r.Context().Done():
				}
			})
			var once sync.Once
			t.Cleanup(func() { once.Do(func() { close(release) }) })
			good := newReceiver(t, always(http.StatusOK))
			hangHook := f.register(hang.srv.URL, "LockInstalled")
			goodHook := f.register(good.srv.URL, "LockUninstalled")
			hang.secret, good.secret = secretFor(hangHook), secretFor(goodHook)

			for range 40 {
				f.publish(f.event("LockInstalled"))
			}
			start := time.Now()
			f.publish(f.event("LockUninstalled"))
			f.settled(goodHook, 1)
			require.Less(t, time.Since(start), 3*time.Second, "the healthy webhook waited for the hanging one")

			// Once the receiver answers, every delivery put off for it is
			// made, each in one attempt: putting one off is no attempt.
			once.Do(func() { close(release) })
			for _, d := range f.settled(hangHook, 40) {
				require.Equal(t, webhooks.StatusDelivered, d.Status)
				require.Equal(t, 1, d.Attempts)
			}
			_, delivered := hang.counts()
			require.Len(t, delivered, 40)
		})
	}
}

// A receiver that answers slowly gets its deliveries one after another as
// its attempts end, not once the deliveries put off for it fall due again.
func TestDeliveryASlowReceiverIsKeptBusy(t *testing.T) {
	f := newFixture(t, webhooks.WithBackoff(time.Minute, time.Minute))
	slow := newReceiver(t, always(http.StatusOK))
	slow.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		slow.serve(w, r)
	})
	hook := f.register(slow.srv.URL, "LockInstalled")
	slow.secret = secretFor(hook)
	start := time.Now()
	for range 24 {
		f.publish(f.event("LockInstalled"))
	}
	for _, d := range f.settled(hook, 24) {
		require.Equal(t, webhooks.StatusDelivered, d.Status)
		require.Equal(t, 1, d.Attempts)
	}
	require.Less(t, time.Since(start), 10*time.Second)
}

// A receiver that answers 2xx within 15 s has the event delivered, at the
// first attempt, however long it took to answer below that bound (the
// README promises 15 s).
func TestDeliveryAnAnswerWithinFifteenSecondsIsADelivery(t *testing.T) {
	f := newFixture(t, webhooks.WithBackoff(time.Minute, time.Minute))
	slow := newReceiver(t, always(http.StatusOK))
	slow.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(11 * time.Second):
			slow.serve(w, r)
		case <-r.Context().Done():
		}
	})
	hook := f.register(slow.srv.URL, "LockInstalled")
	slow.secret = secretFor(hook)
	f.publish(f.event("LockInstalled"))
	var d webhooks.DeliveryRecord
	f.waitFor("the first attempt's outcome", func() bool {
		var ok bool
		d, ok = f.only(hook)
		return ok && (d.Status != webhooks.StatusPending || d.LastError != nil)
	})
	if d.LastError != nil {
		t.Fatalf("an answer within 15 s failed the attempt: %s", *d.LastError)
	}
	require.Equal(t, webhooks.StatusDelivered, d.Status)
	require.Equal(t, 1, d.Attempts)
}
