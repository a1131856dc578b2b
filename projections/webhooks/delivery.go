package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/firmware"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
)

// Topics of the delivery stages. They are internal (bus.InternalTopicPrefix),
// not under the events' `accessd.>`.
const (
	// DeliveriesTopic carries one message per attempt of a delivery of an
	// event to a webhook.
	DeliveriesTopic = bus.InternalTopicPrefix + "webhook.deliveries"
	// PoisonTopic receives the deliveries that failed every attempt.
	PoisonTopic = bus.InternalTopicPrefix + "webhook.poison"
)

// MaxAttempts is how many times a delivery is tried before it is poisoned.
const MaxAttempts = 8

// Timing of the retries (see retry.go).
const (
	// defaultInitialBackoff and defaultMaxBackoff space the attempts: 1 s
	// after the first failure, doubling, at most 1 min: 8 attempts take
	// about 2 min.
	defaultInitialBackoff = time.Second
	defaultMaxBackoff     = time.Minute
	// defaultPoll is how often the retry loop looks for due deliveries
	// besides the times it knows of (those another process scheduled).
	defaultPoll = time.Second
	// attemptLease is how long an attempt may go without its outcome being
	// recorded (the HTTP client gives up after 15 s) before the next one is
	// due: the process that made it may have stopped.
	attemptLease = time.Minute
	// queuedFor is how long a published attempt's message may go
	// unhandled before it is published again (a lost message); a copy
	// that does come is ignored.
	queuedFor = time.Minute
	// retryBatch bounds the deliveries one pass of the retry loop queues.
	retryBatch = 256
	// defaultWorkers bounds the attempts under way at once.
	defaultWorkers = 16
	// defaultAckAfter is how long a delivery message waits for the
	// receiver's answer before it is acknowledged (see deliver).
	defaultAckAfter = time.Second
	// perWebhookAttempts bounds the attempts under way at once to one
	// webhook (see delivery_busy.go).
	perWebhookAttempts = 4
	// putOffFor is how long an attempt put off for its webhook's attempts
	// under way waits at most: the HTTP client's timeout. One of them
	// ending takes up a put-off one at once.
	putOffFor = 15 * time.Second
)

// Waiter waits until the webhooks read model reflects the log up to a
// position (projections.Set and projections.Runner are ones).
type Waiter interface {
	WaitFor(ctx context.Context, position uint64) error
}

// Delivery delivers an account's events to its webhooks. Its Store methods
// read the webhooks and their deliveries for the API.
type Delivery struct {
	*Store
	table deliveries
	sub   message.Subscriber
	// queuePub and queueSub carry the deliveries and poison topics.
	queuePub  message.Publisher
	queueSub  message.Subscriber
	secretFor func(webhookID uuid.UUID) []byte
	client    *http.Client
	now       func() time.Time
	waiter    Waiter
	topics    []string
	log       *slog.Logger

	// initialBackoff and maxBackoff space the attempts (WithBackoff);
	// poll is the retry loop's longest sleep.
	initialBackoff, maxBackoff, poll time.Duration
	retries                          retryLoop
	// slots bounds the attempts under way at once (WithWorkers).
	slots chan struct{}
	// busy counts the attempts under way per webhook (perWebhookAttempts).
	busy busyWebhooks
	// ackAfter is how long an attempt's message waits for the receiver's
	// answer before it is acknowledged.
	ackAfter time.Duration

	// allowPrivateTargets lets webhooks reach internal addresses (see
	// WithPrivateTargets).
	allowPrivateTargets bool

	cache subscriberCache
}

// Option changes a Delivery's defaults.
type Option func(*Delivery)

// WithBackoff sets the wait before the first retry and the most it grows
// to (doubling each time); the defaults are 1 s and 1 min. The retry loop
// then also looks for due deliveries at least every initial (if below 1 s).
func WithBackoff(initial, maximum time.Duration) Option {
	return func(d *Delivery) {
		d.initialBackoff, d.maxBackoff = initial, maximum
		d.poll = min(defaultPoll, max(initial, time.Millisecond))
	}
}

// WithWorkers sets how many attempts are made at once at most (16 by
// default): a receiver that is slow to answer holds up only its own
// deliveries, while fewer than that are slow at once.
func WithWorkers(n int) Option {
	return func(d *Delivery) { d.slots = make(chan struct{}, max(n, 1)) }
}

// WithRetryPoll sets how often the retry loop looks for due deliveries
// besides the times it knows of (1 s by default): those scheduled by
// another process, or whose message was lost.
func WithRetryPoll(every time.Duration) Option {
	return func(d *Delivery) { d.poll = max(every, time.Millisecond) }
}

// WithQueue carries the deliveries and poison topics on their own
// pub/sub. In process, give it a GoChannel that does not block publishers
// until acknowledged: the forwarder's GoChannel does, and one slow
// receiver's attempt would then hold up the events and the other
// webhooks' attempts. On NATS, give it a subscriber with several workers
// (bus.Workers) for the same reason.
func WithQueue(pub message.Publisher, sub message.Subscriber) Option {
	return func(d *Delivery) { d.queuePub, d.queueSub = pub, sub }
}

// WithHTTPClient replaces the client deliveries are POSTed with; checking
// the addresses it connects to is then up to that client.
func WithHTTPClient(c *http.Client) Option { return func(d *Delivery) { d.client = c } }

// WithPrivateTargets, when allowed, lets webhooks be registered for and
// delivered to loopback, private, link-local and other internal addresses
// (webhook.CheckAddress), for receivers on the operator's own network and
// for tests. By default such addresses are refused: at registration when
// the URL's host is one, and at delivery whatever a name resolved to.
func WithPrivateTargets(allowed bool) Option {
	return func(d *Delivery) { d.allowPrivateTargets = allowed }
}

// WithDeliveriesDB keeps the deliveries table in db instead of the
// read-model database NewDelivery reads the webhooks from. The deliveries
// record what has left the system and cannot be rebuilt from the log: with
// SQLite read models the server keeps them in integration.db, so that
// deleting the rebuildable readmodels.db delivers nothing again.
func WithDeliveriesDB(db *projections.DB) Option {
	return func(d *Delivery) {
		if db != nil {
			d.table = deliveries{db: db}
		}
	}
}

// WithClock replaces time.Now for the times deliveries record and sign.
func WithClock(now func() time.Time) Option { return func(d *Delivery) { d.now = now } }

// WithWaiter makes the fan-out wait until the webhooks read model has
// applied everything logged before an event, so a webhook registered just
// before it is not missed and one deleted just before it is not served.
// The server must set it; tests that write the read model directly need not.
func WithWaiter(w Waiter) Option { return func(d *Delivery) { d.waiter = w } }

// WithTopics replaces the event topics the fan-out subscribes to
// (EventTopics by default).
func WithTopics(topics ...string) Option { return func(d *Delivery) { d.topics = topics } }

// WithLogger sets the logger (slog.Default by default).
func WithLogger(l *slog.Logger) Option { return func(d *Delivery) { d.log = l } }

// EventTopics are the topics the forwarder publishes the domain's events
// to: one per stream category (bus.Topic). A category missing here is one
// whose events no webhook ever receives, although their types may be named.
func EventTopics() []string {
	var out []string
	for _, category := range []string{
		account.Category, apikey.Category, property.Category, area.Category, lock.Category, lock.AccessLogCategory,
		lock.KeyClaimCategory, group.Category, user.Category, device.Category, firmware.Category, firmware.AssignmentCategory,
		invitation.Category, booking.Category, booking.AreaIndexCategory, webhook.Category,
	} {
		out = append(out, bus.TopicPrefix+category)
	}
	return out
}

// NewDelivery returns the delivery over the read-model database db (where
// it reads the webhooks, and creates its deliveries table unless
// WithDeliveriesDB names another database); it consumes the forwarder's
// event messages from sub and publishes deliveries with pub (see
// WithQueue). secretFor gives a webhook's signing secret, as the bytes of
// the string the API answered when the webhook was registered.
func NewDelivery(ctx context.Context, db *projections.DB, pub message.Publisher, sub message.Subscriber,
	secretFor func(webhookID uuid.UUID) []byte, opts ...Option) (*Delivery, error) {
	if db == nil || pub == nil || sub == nil || secretFor == nil {
		return nil, errors.New("webhooks: delivery needs a database, a publisher, a subscriber and the secrets")
	}
	d := &Delivery{
		Store: NewStore(db), table: deliveries{db: db}, sub: sub, secretFor: secretFor,
		now: time.Now, topics: EventTopics(), log: slog.Default(),
		initialBackoff: defaultInitialBackoff, maxBackoff: defaultMaxBackoff, poll: defaultPoll,
		retries: newRetryLoop(), slots: make(chan struct{}, defaultWorkers), ackAfter: defaultAckAfter,
	}
	for _, o := range opts {
		o(d)
	}
	if d.client == nil {
		d.client = newHTTPClient(d.allowPrivateTargets)
	}
	if d.queuePub == nil || d.queueSub == nil {
		d.queuePub, d.queueSub = pub, sub
	}
	if err := d.table.setup(ctx); err != nil {
		return nil, err
	}
	// Payloads recorded before the bus withheld an access code's hash and
	// salt still hold them; sends withhold them anyway, and they should
	// not stay on disk either (done once per database). A database that
	// cannot be written (a read-only server's) keeps them: that is worth
	// a warning, not a stop.
	if n, err := d.table.scrubWithheldOnce(ctx, d.now()); err != nil {
		d.log.WarnContext(ctx, "webhooks: recorded deliveries still hold fields the bus withholds; they are withheld when sent", "err", err)
	} else if n > 0 {
		d.log.InfoContext(ctx, "webhooks: withheld fields removed from recorded deliveries", "count", n)
	}
	return d, nil
}

// AddHandlers adds the stages to router: one fan-out handler per event
// topic; the deliver handler, which makes one attempt per message and
// records the outcome, its poison queue; and the retry loop, which
// publishes the next attempt of each delivery when it is due. No handler
// waits out a backoff: a failing receiver holds up nothing but its own
// deliveries. Add them to one router only.
func (d *Delivery) AddHandlers(router *message.Router) error {
	if d.table.unscheduled != nil {
		return d.table.unscheduled
	}
	// The poisoned copy gets an id of its own: JetStream would drop it as a
	// duplicate of the delivery message it copies.
	poison, err := middleware.PoisonQueueWithFilter(renamingPublisher{d.queuePub}, PoisonTopic, func(err error) bool {
		return errors.Is(err, errPermanent) || errors.Is(err, errExhausted)
	})
	if err != nil {
		return fmt.Errorf("webhooks: poison queue: %w", err)
	}
	for _, topic := range d.topics {
		// A failed read or write of the read-model database is retried
		// briefly before the event goes back to the broker.
		router.AddHandler("webhooks.fanout."+topic, topic, d.sub, DeliveriesTopic, d.queuePub, d.fanOut).
			AddMiddleware(middleware.Retry{MaxRetries: 3, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2}.Middleware)
	}
	router.AddConsumerHandler("webhooks.deliver", DeliveriesTopic, d.queueSub, d.deliver).AddMiddleware(poison)
	router.AddConsumerHandler("webhooks.retry", retryTicksTopic, &retryTicks{d: d, running: router.Running()}, d.retryDue)
	return nil
}

// PrivateTargetsAllowed reports whether webhooks may target internal
// addresses (WithPrivateTargets); registration checks URLs with it.
func (d *Delivery) PrivateTargetsAllowed() bool { return d.allowPrivateTargets }

// Deliveries returns one page of a webhook's deliveries, newest event first,
// before the cursor (0: from the newest), and the next page's cursor (0 on
// the last). The caller checks that the webhook is the account's.
func (d *Delivery) Deliveries(ctx context.Context, webhookID uuid.UUID, before uint64, size int) ([]DeliveryRecord, uint64, error) {
	return d.table.list(ctx, webhookID, before, size)
}
