package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/projections/webhooks"
)

// fixture is the delivery over a real SQLite read model and an in-process
// Watermill pub/sub that blocks each Publish until every consumer has
// acknowledged: a Publish of an event returns once its deliveries, retries
// included, are settled, so the tests need no waiting.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	db       *projections.DB
	pubsub   *gochannel.GoChannel
	delivery *webhooks.Delivery
	position uint64
	account  uuid.UUID
}

func newFixture(t *testing.T, opts ...webhooks.Option) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db := readmodeltest.Open(ctx, t, filepath.Join(t.TempDir(), "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, ctx: ctx, db: db, account: uuid.New()}
	f.inTx(func(tx projections.Tx) error { return webhooks.New().Setup(ctx, tx) })

	f.pubsub = gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
	// The receivers are httptest servers on 127.0.0.1, so internal
	// addresses are allowed unless a test's options refuse them again.
	opts = append([]webhooks.Option{webhooks.WithBackoff(time.Millisecond, 2*time.Millisecond),
		webhooks.WithLogger(slog.New(slog.DiscardHandler)), webhooks.WithPrivateTargets(true)}, opts...)
	var err error
	f.delivery, err = webhooks.NewDelivery(ctx, db, f.pubsub, f.pubsub, secretFor, opts...)
	require.NoError(t, err)
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	require.NoError(t, err)
	require.NoError(t, f.delivery.AddHandlers(router))
	done := make(chan struct{})
	go func() { defer close(done); _ = router.Run(ctx) }()
	<-router.Running()
	t.Cleanup(func() {
		require.NoError(t, router.Close())
		<-done
		require.NoError(t, f.pubsub.Close())
	})
	return f
}

// secretFor stands for the command service's derivation: what matters here
// is that the receiver checks with the same string the API answered.
func secretFor(id uuid.UUID) []byte {
	sum := sha256.Sum256([]byte("test-secret:" + id.String()))
	return []byte(hex.EncodeToString(sum[:]))
}

func (f *fixture) inTx(fn func(projections.Tx) error) {
	f.t.Helper()
	require.NoError(f.t, f.db.Update(f.ctx, fn))
}

func (f *fixture) apply(ev domain.Event) {
	f.t.Helper()
	f.position++
	env := eventstore.Envelope{ID: uuid.New(), Type: ev.EventType(), Position: f.position, Event: ev, Known: true}
	f.inTx(func(tx projections.Tx) error { return webhooks.New().Apply(f.ctx, tx, env) })
}

// register records a webhook of the fixture's account in the read model.
func (f *fixture) register(url string, types ...string) uuid.UUID {
	id := uuid.New()
	f.apply(webhook.WebhookRegistered{WebhookID: id, AccountID: f.account, URL: url, EventTypes: types,
		CreatedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)})
	return id
}

// event logs an event of the fixture's account (it is not published yet).
func (f *fixture) event(eventType string) eventstore.RecordedEvent {
	f.position++
	return eventstore.RecordedEvent{
		ID: uuid.New(), Type: eventType, Stream: "lock-" + uuid.NewString(), Position: f.position,
		RecordedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Data:       json.RawMessage(`{"lockId":"x"}`),
		Metadata:   json.RawMessage(`{"accountId":"` + f.account.String() + `"}`),
	}
}

// publish hands an event to the fan-out as the forwarder would.
func (f *fixture) publish(ev eventstore.RecordedEvent) {
	f.t.Helper()
	msg, err := bus.Encode(ev)
	require.NoError(f.t, err)
	require.NoError(f.t, f.pubsub.Publish(bus.Topic(ev.Stream), msg))
}

func (f *fixture) deliveries(hook uuid.UUID) []webhooks.DeliveryRecord {
	f.t.Helper()
	out, _, err := f.delivery.Deliveries(f.ctx, hook, 0, 100)
	require.NoError(f.t, err)
	return out
}

// receiver is a webhook endpoint that checks every request's signature with
// the webhook's secret and answers what status says for each attempt.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret []byte
	status func(attempt int) int

	mu        sync.Mutex
	attempts  int
	delivered []bus.Event
}

func newReceiver(t *testing.T, status func(attempt int) int) *receiver {
	r := &receiver{t: t, status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ts := req.Header.Get("X-Accessd-Timestamp")
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(req.Header.Get("X-Accessd-Signature"))) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		http.Error(w, "bad timestamp", http.StatusBadRequest)
		return
	}
	var ev bus.Event
	if err := json.Unmarshal(body, &ev); err != nil || req.Header.Get("X-Accessd-Event-Id") != ev.EventID.String() {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.attempts++
	status := r.status(r.attempts)
	if status/100 == 2 {
		r.delivered = append(r.delivered, ev)
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) counts() (attempts int, delivered []bus.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts, append([]bus.Event(nil), r.delivered...)
}

func always(status int) func(int) int { return func(int) int { return status } }

func TestDeliverySignsAndDeliversAfterRetries(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, func(attempt int) int {
		if attempt <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	hook := f.register(rcv.srv.URL+"/in", "LockInstalled")
	rcv.secret = secretFor(hook)

	ev := f.event("LockInstalled")
	f.publish(ev)

	attempts, delivered := rcv.counts()
	require.Equal(t, 4, attempts)
	require.Len(t, delivered, 1)
	require.Equal(t, ev.ID, delivered[0].EventID)
	require.Equal(t, "LockInstalled", delivered[0].Type)
	require.JSONEq(t, `{"lockId":"x"}`, string(delivered[0].Data))

	got := f.deliveries(hook)
	require.Len(t, got, 1)
	d := got[0]
	require.Equal(t, webhooks.DeliveryID(hook, ev.ID), d.DeliveryID)
	require.Equal(t, ev.ID, d.EventID)
	require.Equal(t, "LockInstalled", d.EventType)
	require.Equal(t, webhooks.StatusDelivered, d.Status)
	require.Equal(t, 4, d.Attempts)
	require.Nil(t, d.LastError)
	require.NotNil(t, d.LastAttemptAt)
	require.NotNil(t, d.DeliveredAt)

	// Every delivery write went through the read models' writing connection.
	f.inTx(func(projections.Tx) error { return nil })
	require.Zero(t, f.db.ForeignCommits())
}

func TestDeliveryWrongSecretIsRefusedByTheReceiver(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = []byte("not the webhook's secret")

	f.publish(f.event("LockInstalled"))

	attempts, delivered := rcv.counts()
	require.Zero(t, attempts, "the receiver counts only requests whose signature verifies")
	require.Empty(t, delivered)
	d := f.deliveries(hook)[0]
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Equal(t, webhooks.MaxAttempts, d.Attempts)
	require.NotNil(t, d.LastError)
	require.Contains(t, *d.LastError, "401")
}

func TestDeliveryPoisonedAfterEightFailuresThenReplayed(t *testing.T) {
	f := newFixture(t)
	poisoned, err := f.pubsub.Subscribe(f.ctx, webhooks.PoisonTopic)
	require.NoError(t, err)
	var failing sync.Mutex
	down := true
	rcv := newReceiver(t, func(int) int {
		failing.Lock()
		defer failing.Unlock()
		if down {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	hook := f.register(rcv.srv.URL, "LockInstalled", "LockUninstalled")
	rcv.secret = secretFor(hook)

	poison := make(chan *message.Message, 1)
	go func() {
		for m := range poisoned {
			m.Ack()
			poison <- m
		}
	}()
	ev := f.event("LockUninstalled")
	f.publish(ev)

	attempts, delivered := rcv.counts()
	require.Equal(t, webhooks.MaxAttempts, attempts)
	require.Empty(t, delivered)
	d := f.deliveries(hook)[0]
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Equal(t, webhooks.MaxAttempts, d.Attempts)
	require.NotNil(t, d.LastError)
	require.Contains(t, *d.LastError, "500")
	require.Nil(t, d.DeliveredAt)

	// The poison queue holds the delivery (the publish above returned after
	// the poison message was handed over).
	var m *message.Message
	select {
	case m = <-poison:
	case <-f.ctx.Done():
		t.Fatal("no poison message")
	}
	require.Equal(t, d.DeliveryID.String(), m.Metadata.Get(webhooks.MetaDeliveryID))
	require.Contains(t, m.Metadata.Get("reason_poisoned"), "500")

	// A delivery that is not failed cannot be replayed; an unknown one is not found.
	require.ErrorIs(t, f.delivery.Replay(f.ctx, hook, uuid.New()), domain.ErrNotFound)
	require.ErrorIs(t, f.delivery.Replay(f.ctx, uuid.New(), d.DeliveryID), domain.ErrNotFound)

	failing.Lock()
	down = false
	failing.Unlock()
	require.NoError(t, f.delivery.Replay(f.ctx, hook, d.DeliveryID))

	attempts, delivered = rcv.counts()
	require.Equal(t, webhooks.MaxAttempts+1, attempts)
	require.Len(t, delivered, 1)
	require.Equal(t, ev.ID, delivered[0].EventID)
	d = f.deliveries(hook)[0]
	require.Equal(t, webhooks.StatusDelivered, d.Status)
	require.Equal(t, webhooks.MaxAttempts+1, d.Attempts)
	require.ErrorIs(t, f.delivery.Replay(f.ctx, hook, d.DeliveryID), webhooks.ErrNotFailed)
}

func TestDeliveryOnlySubscribedTypesOfTheAccount(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)

	f.publish(f.event("LockUninstalled"))
	other := f.event("LockInstalled")
	other.Metadata = json.RawMessage(`{"accountId":"` + uuid.NewString() + `"}`)
	f.publish(other)
	system := f.event("LockInstalled")
	system.Metadata = json.RawMessage(`{}`)
	f.publish(system)
	wanted := f.event("LockInstalled")
	f.publish(wanted)

	attempts, delivered := rcv.counts()
	require.Equal(t, 1, attempts)
	require.Len(t, delivered, 1)
	require.Equal(t, wanted.ID, delivered[0].EventID)
	require.Len(t, f.deliveries(hook), 1)
}

func TestDeliveryStopsForADeletedWebhook(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	before := f.event("LockInstalled")
	f.publish(before)

	f.apply(webhook.WebhookDeleted{WebhookID: hook, AccountID: f.account})
	f.publish(f.event("LockInstalled"))

	attempts, delivered := rcv.counts()
	require.Equal(t, 1, attempts)
	require.Equal(t, before.ID, delivered[0].EventID)
	require.Len(t, f.deliveries(hook), 1)
	require.ErrorIs(t, f.delivery.Replay(f.ctx, hook, webhooks.DeliveryID(hook, before.ID)), domain.ErrNotFound)
}

func TestDeliveryPendingForADeletedWebhookIsDropped(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	ev := f.event("LockInstalled")
	f.apply(webhook.WebhookDeleted{WebhookID: hook, AccountID: f.account})

	// The event was logged before the deletion, so it fans out to the
	// webhook; by the time it is delivered the webhook is gone.
	f.publish(ev)

	attempts, _ := rcv.counts()
	require.Zero(t, attempts)
	d := f.deliveries(hook)
	require.Len(t, d, 1)
	require.Equal(t, webhooks.StatusFailed, d[0].Status)
	require.Zero(t, d[0].Attempts)
	require.Equal(t, "the webhook was deleted", *d[0].LastError)
}

func TestDeliveryIgnoresARedeliveredEvent(t *testing.T) {
	f := newFixture(t)
	first, second := newReceiver(t, always(http.StatusAccepted)), newReceiver(t, always(http.StatusOK))
	firstHook := f.register(first.srv.URL, "LockInstalled")
	secondHook := f.register(second.srv.URL, "LockInstalled", "LockUninstalled")
	first.secret, second.secret = secretFor(firstHook), secretFor(secondHook)

	ev := f.event("LockInstalled")
	f.publish(ev)
	f.publish(ev)

	for hook, rcv := range map[uuid.UUID]*receiver{firstHook: first, secondHook: second} {
		attempts, delivered := rcv.counts()
		require.Equal(t, 1, attempts)
		require.Equal(t, ev.ID, delivered[0].EventID)
		d := f.deliveries(hook)
		require.Len(t, d, 1)
		require.Equal(t, 1, d[0].Attempts)
		require.Equal(t, webhooks.StatusDelivered, d[0].Status)
	}
}

// recordPending writes a pending delivery of ev to hook as the fan-out
// does, as if its message had then been lost.
func (f *fixture) recordPending(hook uuid.UUID, ev eventstore.RecordedEvent, attempts int) {
	f.t.Helper()
	msg, err := bus.Encode(ev)
	require.NoError(f.t, err)
	_, err = f.db.ExecContext(f.ctx, f.db.Dialect.Rebind(`INSERT INTO webhook_deliveries
		(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, 0)`),
		webhooks.DeliveryID(hook, ev.ID).String(), hook.String(), f.account.String(), ev.ID.String(), ev.Type,
		int64(ev.Position), string(msg.Payload), attempts)
	require.NoError(f.t, err)
}

func TestDeliveryRepublishesAnUnattemptedDelivery(t *testing.T) {
	// A delivery recorded whose message never reached the deliver stage
	// (the publish failed, or the process stopped between the two) is
	// published again when its event comes again.
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	ev := f.event("LockInstalled")
	f.recordPending(hook, ev, 0)

	f.publish(ev)

	attempts, delivered := rcv.counts()
	require.Equal(t, 1, attempts)
	require.Len(t, delivered, 1)
	require.Equal(t, webhooks.StatusDelivered, f.deliveries(hook)[0].Status)
}

func TestDeliveryResumeQueuesPendingDeliveries(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	first, second := f.event("LockInstalled"), f.event("LockInstalled")
	f.recordPending(hook, first, 0)
	f.recordPending(hook, second, 3) // cut short mid-retries by a stop
	f.publish(f.event("LockInstalled"))

	n, err := f.delivery.Resume(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	attempts, delivered := rcv.counts()
	require.Equal(t, 3, attempts)
	require.Len(t, delivered, 3)
	for _, d := range f.deliveries(hook) {
		require.Equal(t, webhooks.StatusDelivered, d.Status)
	}
	require.Equal(t, 4, f.deliveries(hook)[1].Attempts)
	n, err = f.delivery.Resume(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestDeliveryOnItsOwnQueue(t *testing.T) {
	// With the deliveries on a queue of their own that does not block the
	// publisher, the event's publish returns before the delivery is made;
	// the poison queue is on that queue too.
	queue := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	t.Cleanup(func() { queue.Close() })
	poisoned, err := queue.Subscribe(context.Background(), webhooks.PoisonTopic)
	require.NoError(t, err)
	f := newFixture(t, webhooks.WithQueue(queue, queue))
	rcv := newReceiver(t, always(http.StatusTeapot))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)

	f.publish(f.event("LockInstalled"))

	m := <-poisoned
	m.Ack()
	require.Equal(t, hook.String(), m.Metadata.Get(webhooks.MetaWebhookID))
	attempts, _ := rcv.counts()
	require.Equal(t, webhooks.MaxAttempts, attempts)
	require.Equal(t, webhooks.StatusFailed, f.deliveries(hook)[0].Status)
}

func TestDeliveriesPageNewestFirst(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	var events []uuid.UUID
	for range 5 {
		ev := f.event("LockInstalled")
		f.publish(ev)
		events = append(events, ev.ID)
	}
	var seen []uuid.UUID
	cursor := uint64(0)
	for {
		page, next, err := f.delivery.Deliveries(f.ctx, hook, cursor, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2)
		for _, d := range page {
			seen = append(seen, d.EventID)
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	require.Equal(t, []uuid.UUID{events[4], events[3], events[2], events[1], events[0]}, seen)
}

func TestDeliveryMalformedMessageIsPoisoned(t *testing.T) {
	f := newFixture(t)
	poisoned, err := f.pubsub.Subscribe(f.ctx, webhooks.PoisonTopic)
	require.NoError(t, err)
	got := make(chan *message.Message, 1)
	go func() {
		for m := range poisoned {
			m.Ack()
			got <- m
		}
	}()
	require.NoError(t, f.pubsub.Publish(webhooks.DeliveriesTopic, message.NewMessage(uuid.NewString(), []byte(`{}`))))
	m := <-got
	require.Contains(t, m.Metadata.Get("reason_poisoned"), "names no delivery")
}

func TestDeliveryRefusesInternalAddresses(t *testing.T) {
	rcv := newReceiver(t, always(http.StatusOK))
	port := rcv.srv.URL[strings.LastIndexByte(rcv.srv.URL, ':')+1:]
	for name, target := range map[string]string{
		// A name passes registration (it is not resolved then); what it
		// resolves to is checked when connecting.
		"a name that resolves to loopback": "http://localhost:" + port + "/in",
		// Recorded before the check existed, or by a server that allowed it.
		"a loopback literal": rcv.srv.URL + "/in",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, webhooks.WithPrivateTargets(false))
			require.False(t, f.delivery.PrivateTargetsAllowed())
			hook := f.register(target, "LockInstalled")
			rcv.secret = secretFor(hook)
			before, _ := rcv.counts()

			f.publish(f.event("LockInstalled"))

			after, _ := rcv.counts()
			require.Equal(t, before, after, "nothing reached the receiver")
			d := f.deliveries(hook)[0]
			require.Equal(t, webhooks.StatusFailed, d.Status, "a refused address fails like any other attempt")
			require.Equal(t, webhooks.MaxAttempts, d.Attempts)
			require.NotNil(t, d.LastError)
			require.Regexp(t, `^address not allowed: (127\.0\.0\.1|::1) is loopback$`, *d.LastError)
		})
	}

	t.Run("allowed", func(t *testing.T) {
		f := newFixture(t, webhooks.WithPrivateTargets(true))
		require.True(t, f.delivery.PrivateTargetsAllowed())
		hook := f.register("http://localhost:"+port+"/in", "LockInstalled")
		rcv.secret = secretFor(hook)
		f.publish(f.event("LockInstalled"))
		d := f.deliveries(hook)[0]
		require.Equal(t, webhooks.StatusDelivered, d.Status)
		require.Nil(t, d.LastError)
	})
}

func TestDeliveryDoesNotFollowRedirects(t *testing.T) {
	f := newFixture(t)
	target := newReceiver(t, always(http.StatusOK))
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL+"/in", http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	hook := f.register(redirect.URL, "LockInstalled")
	target.secret = secretFor(hook)

	f.publish(f.event("LockInstalled"))

	attempts, _ := target.counts()
	require.Zero(t, attempts, "the redirect's target was not posted to")
	d := f.deliveries(hook)[0]
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Contains(t, *d.LastError, "307")
}

// positionWaiter is a read model that has applied everything the fixture
// applied so far, as a projections.Set reports it.
type positionWaiter struct{ f *fixture }

func (*positionWaiter) WaitFor(context.Context, uint64) error { return nil }
func (w *positionWaiter) Position() uint64                    { return w.f.position }

// A fan-out replaying history, with the read model far ahead of the events,
// gives each event to the webhooks registered before it, not to those
// registered since; a live event after a new registration reaches it.
func TestDeliveryReplayingHistoryGivesEachEventToTheWebhooksOfItsTime(t *testing.T) {
	waiter := &positionWaiter{}
	f := newFixture(t, webhooks.WithWaiter(waiter))
	waiter.f = f
	early, late, newest := newReceiver(t, always(http.StatusOK)), newReceiver(t, always(http.StatusOK)), newReceiver(t, always(http.StatusOK))
	early.secret = secretFor(f.register(early.srv.URL, "LockInstalled"))
	first := f.event("LockInstalled")
	late.secret = secretFor(f.register(late.srv.URL, "LockInstalled"))
	second := f.event("LockInstalled")

	// Out of order, so the second answer comes from what the first loaded.
	f.publish(second)
	f.publish(first)
	ids := func(r *receiver) []uuid.UUID {
		_, got := r.counts()
		var out []uuid.UUID
		for _, ev := range got {
			out = append(out, ev.EventID)
		}
		return out
	}
	require.Equal(t, []uuid.UUID{second.ID, first.ID}, ids(early))
	require.Equal(t, []uuid.UUID{second.ID}, ids(late), "registered after the first event")

	newest.secret = secretFor(f.register(newest.srv.URL, "LockInstalled"))
	live := f.event("LockInstalled")
	f.publish(live)
	require.Equal(t, []uuid.UUID{live.ID}, ids(newest))
	require.Equal(t, []uuid.UUID{second.ID, first.ID, live.ID}, ids(early))
}
