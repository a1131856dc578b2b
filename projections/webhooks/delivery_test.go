package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/projections/webhooks"
)

// fixture is the delivery over a real read model (SQLite unless
// readmodeltest says otherwise) and a real bus, as the server runs it:
// "gochannel" has the events on an in-process pub/sub that blocks each
// Publish until the fan-out acknowledged it (as the forwarder's does) and
// the deliveries on a queue of their own that does not block; "nats" has
// both on JetStream (the machine's server; skipped outside CI when it is
// not reachable), the deliveries handed out to several workers. Retries are
// scheduled, not awaited: tests wait for the deliveries to settle.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	db       *projections.DB
	delivery *webhooks.Delivery
	position uint64
	account  uuid.UUID
	backend  string

	// events carries the event messages; queue the deliveries and poison
	// topics.
	events  message.Publisher
	queue   message.Publisher
	bus     *bus.Bus              // nats
	pubsub  *gochannel.GoChannel  // gochannel: the events
	queueCh *gochannel.GoChannel  // gochannel: the deliveries
	poison  chan *message.Message // what reached the poison topic
	opts    []webhooks.Option
	stop    func()
}

const (
	onGoChannel = "gochannel"
	onNATS      = "nats"
)

func newFixture(t *testing.T, opts ...webhooks.Option) *fixture {
	return newFixtureOn(t, onGoChannel, opts...)
}

// newFixtureOn builds the fixture on backend.
func newFixtureOn(t *testing.T, backend string, opts ...webhooks.Option) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db := readmodeltest.Open(ctx, t, filepath.Join(t.TempDir(), "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, ctx: ctx, db: db, account: uuid.New(), backend: backend, poison: make(chan *message.Message, 100)}
	f.inTx(func(tx projections.Tx) error { return webhooks.New().Setup(ctx, tx) })

	var poisoned <-chan *message.Message
	switch backend {
	case onGoChannel:
		f.pubsub = gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
		f.queueCh = gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, watermill.NopLogger{})
		t.Cleanup(func() { f.pubsub.Close(); f.queueCh.Close() })
		// A router closes its handlers' publishers when it stops; the
		// queue outlives a restart.
		f.events, f.queue = f.pubsub, keepOpen{f.queueCh}
		var err error
		poisoned, err = f.queueCh.Subscribe(ctx, webhooks.PoisonTopic)
		require.NoError(t, err)
	case onNATS:
		cfg := natsConfig(t)
		b, err := bus.OpenConfig(ctx, cfg, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		f.bus, f.events, f.queue = b, b.Publisher(), b.Publisher()
		watch, err := b.Subscriber("poison-watch")
		require.NoError(t, err)
		poisoned, err = watch.Subscribe(ctx, webhooks.PoisonTopic)
		require.NoError(t, err)
	default:
		t.Fatalf("unknown backend %s", backend)
	}
	go func() {
		for m := range poisoned {
			m.Ack()
			f.poison <- m
		}
	}()
	// The receivers are httptest servers on 127.0.0.1, so internal
	// addresses are allowed unless a test's options refuse them again.
	f.opts = append([]webhooks.Option{webhooks.WithBackoff(time.Millisecond, 2*time.Millisecond),
		webhooks.WithLogger(slog.New(slog.DiscardHandler)), webhooks.WithPrivateTargets(true),
		webhooks.WithTopics(bus.TopicPrefix + "lock")}, opts...)
	f.start()
	return f
}

// keepOpen is a publisher its users do not close.
type keepOpen struct{ message.Publisher }

func (keepOpen) Close() error { return nil }

// keepSubscribing is a subscriber its users do not close.
type keepSubscribing struct{ message.Subscriber }

func (keepSubscribing) Close() error { return nil }

// natsConfig is a bus configuration of streams and subjects of the test's
// own on the test NATS server, deleted at cleanup.
func natsConfig(t *testing.T) bus.Config {
	t.Helper()
	url := servicetest.NATSURL(t)
	id := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	cfg := bus.Config{URL: url, Stream: "TEST_" + id, SubjectPrefix: "t" + id + "."}
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		if js, err := nc.JetStream(); err == nil {
			_ = js.DeleteStream(cfg.Stream)
			_ = js.DeleteStream(cfg.Stream + bus.InternalStreamSuffix)
		}
	})
	return cfg
}

// start runs a Delivery over the fixture's database and bus, as a server
// (re)started does; extra options come after the fixture's.
func (f *fixture) start(extra ...webhooks.Option) {
	t := f.t
	t.Helper()
	opts := append(append([]webhooks.Option(nil), f.opts...), extra...)
	var sub, queueSub message.Subscriber
	switch f.backend {
	case onGoChannel:
		// A router closes its subscribers when it stops; the pub/subs
		// outlive a restart (their subscriptions end with the router's).
		sub, queueSub = keepSubscribing{f.pubsub}, keepSubscribing{f.queueCh}
	case onNATS:
		var err error
		sub, err = f.bus.Subscriber("webhooks")
		require.NoError(t, err)
		queueSub, err = f.bus.Subscriber("webhooks", bus.Workers(8))
		require.NoError(t, err)
	}
	opts = append(opts, webhooks.WithQueue(f.queue, queueSub))
	var err error
	f.delivery, err = webhooks.NewDelivery(f.ctx, f.db, f.events, sub, secretFor, opts...)
	require.NoError(t, err)
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	require.NoError(t, err)
	require.NoError(t, f.delivery.AddHandlers(router))
	done := make(chan struct{})
	var runErr error
	go func() { defer close(done); runErr = router.Run(f.ctx) }()
	select {
	case <-router.Running():
	case <-done:
		t.Fatalf("router: %v", runErr)
	}
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			require.NoError(t, router.Close())
			<-done
			if f.backend == onNATS {
				// As a stopping server's Bus.Close does.
				require.NoError(t, sub.Close())
				require.NoError(t, queueSub.Close())
			}
		})
	}
	t.Cleanup(f.stop)
}

// waitFor polls cond until it holds.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settled waits until hook has n deliveries, none pending, and returns them.
func (f *fixture) settled(hook uuid.UUID, n int) []webhooks.DeliveryRecord {
	f.t.Helper()
	var got []webhooks.DeliveryRecord
	f.waitFor(fmt.Sprintf("%d settled deliveries", n), func() bool {
		got = f.deliveries(hook)
		if len(got) != n {
			return false
		}
		for _, d := range got {
			if d.Status == webhooks.StatusPending {
				return false
			}
		}
		return true
	})
	return got
}

// only returns the one delivery of hook, if recorded yet.
func (f *fixture) only(hook uuid.UUID) (webhooks.DeliveryRecord, bool) {
	got := f.deliveries(hook)
	if len(got) != 1 {
		return webhooks.DeliveryRecord{}, false
	}
	return got[0], true
}

// nextPoison returns the next message of the poison topic.
func (f *fixture) nextPoison() *message.Message {
	f.t.Helper()
	select {
	case m := <-f.poison:
		return m
	case <-time.After(30 * time.Second):
		f.t.Fatal("no poison message")
		return nil
	}
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
	require.NoError(f.t, f.events.Publish(bus.Topic(ev.Stream), msg))
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
	// bodies are the bodies of the delivered events, as received.
	bodies [][]byte
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
		r.bodies = append(r.bodies, body)
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

	got := f.settled(hook, 1)
	attempts, delivered := rcv.counts()
	require.Equal(t, 4, attempts)
	require.Len(t, delivered, 1)
	require.Equal(t, ev.ID, delivered[0].EventID)
	require.Equal(t, "LockInstalled", delivered[0].Type)
	require.JSONEq(t, `{"lockId":"x"}`, string(delivered[0].Data))

	d := got[0]
	require.Equal(t, webhooks.DeliveryID(hook, ev.ID), d.DeliveryID)
	require.Equal(t, ev.ID, d.EventID)
	require.Equal(t, "LockInstalled", d.EventType)
	require.Equal(t, webhooks.StatusDelivered, d.Status)
	require.Equal(t, 4, d.Attempts)
	require.Nil(t, d.LastError)
	require.NotNil(t, d.LastAttemptAt)
	require.NotNil(t, d.DeliveredAt)
	require.Nil(t, d.NextAttemptAt)

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

	d := f.settled(hook, 1)[0]
	attempts, delivered := rcv.counts()
	require.Zero(t, attempts, "the receiver counts only requests whose signature verifies")
	require.Empty(t, delivered)
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Equal(t, webhooks.MaxAttempts, d.Attempts)
	require.NotNil(t, d.LastError)
	require.Contains(t, *d.LastError, "401")
}

// (a) On either bus, a receiver that always fails gets exactly MaxAttempts
// attempts; the delivery is then failed, its message is on the poison
// topic, and replay delivers it.
func TestDeliveryPoisonedAfterEightFailuresThenReplayed(t *testing.T) {
	for _, backend := range []string{onGoChannel, onNATS} {
		t.Run(backend, func(t *testing.T) {
			f := newFixtureOn(t, backend)
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

			ev := f.event("LockUninstalled")
			f.publish(ev)

			d := f.settled(hook, 1)[0]
			m := f.nextPoison()
			attempts, delivered := rcv.counts()
			require.Equal(t, webhooks.MaxAttempts, attempts)
			require.Empty(t, delivered)
			require.Equal(t, webhooks.StatusFailed, d.Status)
			require.Equal(t, webhooks.MaxAttempts, d.Attempts)
			require.NotNil(t, d.LastError)
			require.Contains(t, *d.LastError, "500")
			require.Nil(t, d.DeliveredAt)
			require.Nil(t, d.NextAttemptAt)

			require.Equal(t, d.DeliveryID.String(), m.Metadata.Get(webhooks.MetaDeliveryID))
			require.Equal(t, hook.String(), m.Metadata.Get(webhooks.MetaWebhookID))
			require.Contains(t, m.Metadata.Get("reason_poisoned"), "500")
			var body bus.Event
			require.NoError(t, json.Unmarshal(m.Payload, &body))
			require.Equal(t, ev.ID, body.EventID)

			// Nothing more is attempted once it failed.
			time.Sleep(50 * time.Millisecond)
			attempts, _ = rcv.counts()
			require.Equal(t, webhooks.MaxAttempts, attempts)

			// A delivery that is not failed cannot be replayed; an unknown one is not found.
			require.ErrorIs(t, f.delivery.Replay(f.ctx, hook, uuid.New()), domain.ErrNotFound)
			require.ErrorIs(t, f.delivery.Replay(f.ctx, uuid.New(), d.DeliveryID), domain.ErrNotFound)

			failing.Lock()
			down = false
			failing.Unlock()
			require.NoError(t, f.delivery.Replay(f.ctx, hook, d.DeliveryID))

			d = f.settled(hook, 1)[0]
			attempts, delivered = rcv.counts()
			require.Equal(t, webhooks.MaxAttempts+1, attempts)
			require.Len(t, delivered, 1)
			require.Equal(t, ev.ID, delivered[0].EventID)
			require.Equal(t, webhooks.StatusDelivered, d.Status)
			require.Equal(t, webhooks.MaxAttempts+1, d.Attempts)
			require.ErrorIs(t, f.delivery.Replay(f.ctx, hook, d.DeliveryID), webhooks.ErrNotFailed)
		})
	}
}

// A replayed delivery gets a whole new round of MaxAttempts.
func TestDeliveryReplayGivesANewRound(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusBadGateway))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	f.publish(f.event("LockInstalled"))
	d := f.settled(hook, 1)[0]
	f.nextPoison()
	require.NoError(t, f.delivery.Replay(f.ctx, hook, d.DeliveryID))
	d = f.settled(hook, 1)[0]
	f.nextPoison()
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Equal(t, 2*webhooks.MaxAttempts, d.Attempts)
	attempts, _ := rcv.counts()
	require.Equal(t, 2*webhooks.MaxAttempts, attempts)
}

// (b) On either bus, while a receiver fails (slowly), the deliveries of
// another webhook arrive at once, long before the failing one's retries
// end.
func TestDeliveryAFailingReceiverHoldsUpNoOther(t *testing.T) {
	for _, backend := range []string{onGoChannel, onNATS} {
		t.Run(backend, func(t *testing.T) {
			f := newFixtureOn(t, backend, webhooks.WithBackoff(150*time.Millisecond, 600*time.Millisecond))
			bad := newReceiver(t, always(http.StatusServiceUnavailable))
			// Each attempt takes 300 ms, side by side.
			bad.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(300 * time.Millisecond)
				bad.serve(w, r)
			})
			good := newReceiver(t, always(http.StatusOK))
			badHook := f.register(bad.srv.URL, "LockInstalled")
			goodHook := f.register(good.srv.URL, "LockInstalled", "LockUninstalled")
			bad.secret, good.secret = secretFor(badHook), secretFor(goodHook)

			// Failing deliveries first, then the healthy webhook's own
			// events behind them, then events both take.
			for range 4 {
				f.publish(f.event("LockInstalled"))
			}
			start := time.Now()
			for range 6 {
				f.publish(f.event("LockUninstalled"))
			}
			for range 2 {
				f.publish(f.event("LockInstalled"))
			}
			f.settled(goodHook, 12)
			took := time.Since(start)
			// The failing receiver's 8 attempts take at least 8 × 300 ms
			// plus 3.45 s of backoff.
			require.Less(t, took, 2*time.Second, "the healthy webhook waited for the failing one")
			for _, d := range f.deliveries(badHook) {
				require.Equal(t, webhooks.StatusPending, d.Status)
				require.Less(t, d.Attempts, 4)
			}
			_, delivered := good.counts()
			require.Len(t, delivered, 12)

			for _, d := range f.settled(badHook, 6) {
				require.Equal(t, webhooks.StatusFailed, d.Status)
				require.Equal(t, webhooks.MaxAttempts, d.Attempts)
			}
			attempts, _ := bad.counts()
			require.Equal(t, 6*webhooks.MaxAttempts, attempts)
		})
	}
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// (c) With the default backoff, the next attempt after each failure is due
// 1 s later, then 2, 4, ... doubling to at most 1 min: 8 attempts in about
// 2 minutes. The due times are read from the deliveries, as recorded.
func TestDeliveryBackoffDoubles(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	// The default schedule, with the test's clock; the loop looks for due
	// deliveries often so the test need not wait.
	f := newFixture(t, webhooks.WithBackoff(time.Second, time.Minute), webhooks.WithClock(clock.Now),
		webhooks.WithRetryPoll(2*time.Millisecond))
	// Each attempt answers a status of its own, so the test can tell when
	// its failure is recorded.
	rcv := newReceiver(t, func(attempt int) int { return 500 + attempt })
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	first := clock.Now()
	f.publish(f.event("LockInstalled"))

	var gaps []time.Duration
	for attempt := 1; attempt < webhooks.MaxAttempts; attempt++ {
		var d webhooks.DeliveryRecord
		f.waitFor(fmt.Sprintf("attempt %d recorded", attempt), func() bool {
			var ok bool
			d, ok = f.only(hook)
			return ok && d.Attempts == attempt && d.LastError != nil && strings.Contains(*d.LastError, strconv.Itoa(500+attempt))
		})
		require.Equal(t, webhooks.StatusPending, d.Status)
		require.NotNil(t, d.NextAttemptAt)
		require.Equal(t, clock.Now(), d.LastAttemptAt.UTC())
		gaps = append(gaps, d.NextAttemptAt.Sub(*d.LastAttemptAt))

		// Not due yet: nothing is attempted.
		clock.set(d.NextAttemptAt.Add(-time.Millisecond))
		time.Sleep(20 * time.Millisecond)
		attempts, _ := rcv.counts()
		require.Equal(t, attempt, attempts, "attempted before it was due")
		clock.set(*d.NextAttemptAt)
	}
	d := f.settled(hook, 1)[0]
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Equal(t, webhooks.MaxAttempts, d.Attempts)
	require.Contains(t, *d.LastError, "508")
	require.Equal(t, []time.Duration{
		time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute,
	}, gaps)
	require.Equal(t, 123*time.Second, clock.Now().Sub(first), "8 attempts in about 2 minutes")
	f.nextPoison()
}

// (d) On either bus, a delivery message that comes again (the broker
// redelivers it, or two processes published it) makes no second attempt
// of an attempt already made.
func TestDeliveryRedeliveredMessageMakesNoSecondAttempt(t *testing.T) {
	for _, backend := range []string{onGoChannel, onNATS} {
		t.Run(backend, func(t *testing.T) {
			// The retry is not due within the test.
			f := newFixtureOn(t, backend, webhooks.WithBackoff(time.Hour, time.Hour))
			var mu sync.Mutex
			var got []*http.Request
			rcv := newReceiver(t, func(int) int { return http.StatusInternalServerError })
			rcv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = append(got, r)
				mu.Unlock()
				rcv.serve(w, r)
			})
			hook := f.register(rcv.srv.URL, "LockInstalled")
			rcv.secret = secretFor(hook)
			ev := f.event("LockInstalled")
			f.publish(ev)
			var d webhooks.DeliveryRecord
			f.waitFor("the first attempt recorded", func() bool {
				var ok bool
				d, ok = f.only(hook)
				return ok && d.Attempts == 1 && d.LastError != nil
			})

			// The first attempt's message again, as a broker redelivers it
			// (same id) and as another process would publish it (new id).
			msg, err := bus.Encode(ev)
			require.NoError(t, err)
			for _, id := range []string{d.DeliveryID.String(), uuid.NewString()} {
				m := message.NewMessage(id, msg.Payload)
				m.Metadata.Set(webhooks.MetaDeliveryID, d.DeliveryID.String())
				m.Metadata.Set(webhooks.MetaAttempt, "1")
				require.NoError(t, f.queue.Publish(webhooks.DeliveriesTopic, m))
			}
			// And the event again: its delivery was attempted, so the
			// fan-out does not publish it again.
			f.publish(ev)
			time.Sleep(300 * time.Millisecond)

			attempts, _ := rcv.counts()
			require.Equal(t, 1, attempts)
			again := f.deliveries(hook)[0]
			require.Equal(t, 1, again.Attempts)
			require.Equal(t, webhooks.StatusPending, again.Status)
			require.Equal(t, d.NextAttemptAt, again.NextAttemptAt)
		})
	}
}

// (e) On either bus, a Delivery started anew over the same database (a
// restart) takes up the retries the stopped one had scheduled.
func TestDeliveryRestartResumesPendingRetries(t *testing.T) {
	for _, backend := range []string{onGoChannel, onNATS} {
		t.Run(backend, func(t *testing.T) {
			clock := &testClock{now: time.Now()}
			f := newFixtureOn(t, backend, webhooks.WithBackoff(time.Minute, time.Hour), webhooks.WithClock(clock.Now),
				webhooks.WithRetryPoll(5*time.Millisecond))
			var mu sync.Mutex
			status := http.StatusInternalServerError
			rcv := newReceiver(t, func(int) int {
				mu.Lock()
				defer mu.Unlock()
				return status
			})
			hook := f.register(rcv.srv.URL, "LockInstalled")
			rcv.secret = secretFor(hook)
			f.publish(f.event("LockInstalled"))
			var d webhooks.DeliveryRecord
			f.waitFor("the first attempt recorded", func() bool {
				var ok bool
				d, ok = f.only(hook)
				return ok && d.Attempts == 1 && d.LastError != nil
			})
			require.Equal(t, clock.Now().Add(time.Minute).UnixMilli(), d.NextAttemptAt.UnixMilli())

			// The server stops; when it is back, the retry is due.
			f.stop()
			mu.Lock()
			status = http.StatusOK
			mu.Unlock()
			clock.set(clock.Now().Add(2 * time.Minute))
			f.start()

			d = f.settled(hook, 1)[0]
			require.Equal(t, webhooks.StatusDelivered, d.Status)
			require.Equal(t, 2, d.Attempts)
			attempts, delivered := rcv.counts()
			require.Equal(t, 2, attempts)
			require.Len(t, delivered, 1)
		})
	}
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

	f.settled(hook, 1)
	attempts, delivered := rcv.counts()
	require.Equal(t, 1, attempts)
	require.Len(t, delivered, 1)
	require.Equal(t, wanted.ID, delivered[0].EventID)
}

func TestDeliveryStopsForADeletedWebhook(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	before := f.event("LockInstalled")
	f.publish(before)
	f.settled(hook, 1)

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

	d := f.settled(hook, 1)
	attempts, _ := rcv.counts()
	require.Zero(t, attempts)
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
		d := f.settled(hook, 1)
		time.Sleep(20 * time.Millisecond)
		attempts, delivered := rcv.counts()
		require.Equal(t, 1, attempts)
		require.Equal(t, ev.ID, delivered[0].EventID)
		require.Equal(t, 1, d[0].Attempts)
		require.Equal(t, webhooks.StatusDelivered, d[0].Status)
	}
}

// recordPending writes a pending delivery of ev to hook as a server of the
// version before the retry schedule did (no due time, nothing queued), as
// if its message had then been lost.
func (f *fixture) recordPending(hook uuid.UUID, ev eventstore.RecordedEvent, attempts int) {
	f.insertPending(hook, ev, attempts, nil)
}

// recordQueued writes a pending delivery of ev to hook as the fan-out
// leaves it: due and queued at once, in one statement (a retry pass seeing
// the row before it was queued would send it).
func (f *fixture) recordQueued(hook uuid.UUID, ev eventstore.RecordedEvent) {
	f.insertPending(hook, ev, 0, time.Now().UnixMilli())
}

func (f *fixture) insertPending(hook uuid.UUID, ev eventstore.RecordedEvent, attempts int, dueAndQueuedAt any) {
	f.t.Helper()
	msg, err := bus.Encode(ev)
	require.NoError(f.t, err)
	_, err = f.db.ExecContext(f.ctx, f.db.Dialect.Rebind(`INSERT INTO webhook_deliveries
		(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, created_at,
		 next_attempt_at, queued_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, 0, ?, ?)`),
		webhooks.DeliveryID(hook, ev.ID).String(), hook.String(), f.account.String(), ev.ID.String(), ev.Type,
		int64(ev.Position), string(msg.Payload), attempts, dueAndQueuedAt, dueAndQueuedAt)
	require.NoError(f.t, err)
}

func TestDeliveryTakesUpPendingDeliveriesOfTheTable(t *testing.T) {
	// Deliveries recorded whose messages never reached the deliver stage
	// (the publish failed, the process stopped between the two, or a
	// server stopped mid-retries) are taken up from the table.
	f := newFixture(t)
	f.stop()
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	first, second := f.event("LockInstalled"), f.event("LockInstalled")
	f.recordPending(hook, first, 0)
	f.recordPending(hook, second, 3) // cut short mid-retries by a stop
	f.start()
	f.publish(f.event("LockInstalled"))

	got := f.settled(hook, 3)
	n, err := f.delivery.Resume(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	attempts, delivered := rcv.counts()
	require.Equal(t, 3, attempts)
	require.Len(t, delivered, 3)
	for _, d := range got {
		require.Equal(t, webhooks.StatusDelivered, d.Status)
	}
	require.Equal(t, 4, got[1].Attempts)
}

func TestDeliveryResumeRepublishesLostMessages(t *testing.T) {
	// An in-process queue loses the messages it held when the server
	// stops; Resume has them published again at once.
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "LockInstalled")
	rcv.secret = secretFor(hook)
	ev := f.event("LockInstalled")
	f.recordQueued(hook, ev)
	time.Sleep(50 * time.Millisecond)
	attempts, _ := rcv.counts()
	require.Zero(t, attempts, "its message is taken to be out")

	n, err := f.delivery.Resume(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	d := f.settled(hook, 1)[0]
	require.Equal(t, webhooks.StatusDelivered, d.Status)
	require.Equal(t, 1, d.Attempts)
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
	f.settled(hook, 5)
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
	require.NoError(t, f.queue.Publish(webhooks.DeliveriesTopic, message.NewMessage(uuid.NewString(), []byte(`{}`))))
	m := f.nextPoison()
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

			d := f.settled(hook, 1)[0]
			after, _ := rcv.counts()
			require.Equal(t, before, after, "nothing reached the receiver")
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
		d := f.settled(hook, 1)[0]
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

	d := f.settled(hook, 1)[0]
	attempts, _ := target.counts()
	require.Zero(t, attempts, "the redirect's target was not posted to")
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
	earlyHook := f.register(early.srv.URL, "LockInstalled")
	early.secret = secretFor(earlyHook)
	first := f.event("LockInstalled")
	lateHook := f.register(late.srv.URL, "LockInstalled")
	late.secret = secretFor(lateHook)
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
	f.settled(earlyHook, 2)
	f.settled(lateHook, 1)
	require.ElementsMatch(t, []uuid.UUID{second.ID, first.ID}, ids(early))
	require.Equal(t, []uuid.UUID{second.ID}, ids(late), "registered after the first event")

	newestHook := f.register(newest.srv.URL, "LockInstalled")
	newest.secret = secretFor(newestHook)
	live := f.event("LockInstalled")
	f.publish(live)
	f.settled(newestHook, 1)
	f.settled(earlyHook, 3)
	require.Equal(t, []uuid.UUID{live.ID}, ids(newest))
	require.ElementsMatch(t, []uuid.UUID{second.ID, first.ID, live.ID}, ids(early))
}

// countingHandler counts the records at each level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

// A retry loop whose table cannot be read says so once, not at every
// pass, and says when it works again.
func TestRetryLoopFailingWarnsOnce(t *testing.T) {
	logs := &countingHandler{counts: map[slog.Level]int{}}
	f := newFixture(t, webhooks.WithRetryPoll(5*time.Millisecond), webhooks.WithLogger(slog.New(logs)))
	_, err := f.db.ExecContext(f.ctx, `ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return logs.count(slog.LevelWarn) > 0 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // dozens of passes
	require.Equal(t, 1, logs.count(slog.LevelWarn), "one warning for a run of failed passes")
	_, err = f.db.ExecContext(f.ctx, `ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries`)
	require.NoError(t, err)
	infos := logs.count(slog.LevelInfo)
	require.Eventually(t, func() bool { return logs.count(slog.LevelInfo) > infos }, 5*time.Second, 5*time.Millisecond,
		"says it works again")
	require.Equal(t, 1, logs.count(slog.LevelWarn))
}

// redeliver hands an event to the fan-out as PUT /events/{eventId}/process
// does: the forwarder's message, marked as the re-delivery redelivery.
func (f *fixture) redeliver(ev eventstore.RecordedEvent, redelivery string) {
	f.t.Helper()
	msg, err := bus.Encode(ev)
	require.NoError(f.t, err)
	msg.Metadata.Set(bus.MetaRedelivery, redelivery)
	require.NoError(f.t, f.events.Publish(bus.Topic(ev.Stream), msg))
}

// deliveredAfter waits until hook's one delivery is delivered after attempts.
func (f *fixture) deliveredAfter(hook uuid.UUID, attempts int) webhooks.DeliveryRecord {
	f.t.Helper()
	var d webhooks.DeliveryRecord
	f.waitFor(fmt.Sprintf("delivered after %d attempts", attempts), func() bool {
		var ok bool
		d, ok = f.only(hook)
		return ok && d.Status == webhooks.StatusDelivered && d.Attempts == attempts
	})
	return d
}

// A re-delivered event (PUT /events/{eventId}/process) is POSTed again to
// the webhook that took it, with the same event id, once per re-delivery;
// the forwarder's repeats of the event, and a re-delivery's message that
// comes twice, POST nothing. Every message below is handed over in order
// on one topic, so each duplicate was fanned out before the re-delivery
// after it.
func TestDeliveryRedeliveredEventIsPostedAgain(t *testing.T) {
	for _, backend := range []string{onGoChannel, onNATS} {
		t.Run(backend, func(t *testing.T) {
			f := newFixtureOn(t, backend)
			rcv := newReceiver(t, always(http.StatusOK))
			hook := f.register(rcv.srv.URL, "LockInstalled")
			rcv.secret = secretFor(hook)
			ev := f.event("LockInstalled")
			f.publish(ev)
			f.deliveredAfter(hook, 1)

			f.publish(ev) // the forwarder's repeat
			first := uuid.NewString()
			f.redeliver(ev, first)
			f.deliveredAfter(hook, 2)

			f.redeliver(ev, first) // the same re-delivery's message again
			f.publish(ev)
			f.redeliver(ev, uuid.NewString())
			d := f.deliveredAfter(hook, 3)

			attempts, delivered := rcv.counts()
			require.Equal(t, 3, attempts)
			for _, got := range delivered {
				require.Equal(t, ev.ID, got.EventID) // the receiver checked x-accessd-event-id against it
			}
			require.Equal(t, webhooks.DeliveryID(hook, ev.ID), d.DeliveryID)
			require.NotNil(t, d.DeliveredAt)
			require.Nil(t, d.NextAttemptAt)
		})
	}
}
