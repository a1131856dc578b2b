package webhooks

import (
	"context"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
)

// The retries are scheduled in the deliveries table, not in a handler: a
// failed attempt records when the next is due (backoff), the message is
// acknowledged, and the retry loop publishes the next attempt's message
// once it is due. Nothing waits inside a handler, so a receiver that fails
// or hangs delays only its own deliveries; a restart loses nothing, since
// the table says what is due; and on NATS a message is acknowledged well
// within the ack wait, so none is handed out again for lack of an ack.
// Each attempt's message names the attempt; claiming it in the table
// (deliveries.claim) makes a copy of it that comes twice, or from two
// processes' loops, do nothing.

// backoff is the wait after the failed attempt round (1 for the first of
// the round): the initial backoff, doubled for each further attempt, at
// most the maximum.
func (d *Delivery) backoff(round int) time.Duration {
	wait := d.initialBackoff
	for i := 1; i < round && wait < d.maxBackoff; i++ {
		wait *= 2
	}
	return min(wait, d.maxBackoff)
}

// retryTicksTopic is the topic of retryTicks (nothing is published to it).
const retryTicksTopic = "webhooks.retry.ticks"

// retryLoop is when the retry loop runs next: the soonest due time it
// knows of, or after the poll interval.
type retryLoop struct {
	mu   sync.Mutex
	next time.Time // zero: none known
	wake chan struct{}
	// failing counts the passes in a row that failed, and warned is when
	// the last of them was logged: a store that is down is said once,
	// then once a minute, not at every pass. Only the loop's pass uses
	// them, one pass at a time.
	failing int
	warned  time.Time
}

// retryWarnEvery is how often a retry loop that keeps failing says so again.
const retryWarnEvery = time.Minute

// failed logs a failed pass: the first of a run, then once a minute.
func (d *Delivery) failed(ctx context.Context, msg string, err error) {
	l := &d.retries
	l.failing++
	if l.failing == 1 || d.now().Sub(l.warned) >= retryWarnEvery {
		d.log.WarnContext(ctx, msg, "err", err, "failedPasses", l.failing)
		l.warned = d.now()
	}
}

// succeeded ends a run of failed passes, saying so.
func (d *Delivery) succeeded(ctx context.Context) {
	if l := &d.retries; l.failing > 0 {
		d.log.InfoContext(ctx, "webhooks: retrying due deliveries works again", "failedPasses", l.failing)
		l.failing = 0
	}
}

func newRetryLoop() retryLoop {
	// The first pass runs at once: a restart takes up what is due.
	return retryLoop{next: time.Unix(0, 0), wake: make(chan struct{}, 1)}
}

// wakeAt has the loop run by at.
func (l *retryLoop) wakeAt(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next.IsZero() || at.Before(l.next) {
		l.next = at
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// retryTicks is a subscriber whose one topic carries a message each time
// the retry loop is to run; the router thus runs and stops the loop with
// the other handlers, and waits for a pass under way when it closes. A
// tick goes out once the previous one was acknowledged.
type retryTicks struct {
	d *Delivery
	// running is the router's Running: the first tick waits for every
	// handler to have subscribed, the queue's among them. On a bus that
	// keeps nothing for absent subscribers (GoChannel, the embedded
	// default) an attempt queued before would be lost, and marked queued,
	// sent again only after queuedFor.
	running <-chan struct{}
}

func (t *retryTicks) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	out := make(chan *message.Message)
	d := t.d
	go func() {
		defer close(out)
		select {
		case <-t.running:
		case <-ctx.Done():
			return
		}
		for {
			d.retries.mu.Lock()
			wait := d.poll
			if !d.retries.next.IsZero() {
				wait = min(wait, max(d.retries.next.Sub(d.now()), 0))
			}
			d.retries.mu.Unlock()
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-d.retries.wake:
				timer.Stop()
				continue
			case <-ctx.Done():
				timer.Stop()
				return
			}
			tick := message.NewMessage(uuid.NewString(), nil)
			tctx, cancel := context.WithCancel(ctx)
			tick.SetContext(tctx)
			select {
			case out <- tick:
			case <-ctx.Done():
				cancel()
				return
			}
			select {
			case <-tick.Acked():
			case <-tick.Nacked():
			case <-ctx.Done():
			}
			cancel()
		}
	}()
	return out, nil
}

func (*retryTicks) Close() error { return nil }

// retryDue is one pass of the retry loop: it publishes the next attempt of
// every delivery that is due (up to retryBatch) and notes when the next
// one falls due. Errors are logged; the next pass tries again.
func (d *Delivery) retryDue(msg *message.Message) error {
	ctx := msg.Context()
	d.retries.mu.Lock()
	d.retries.next = time.Time{}
	d.retries.mu.Unlock()
	n, err := d.queueDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.failed(ctx, "webhooks: retrying due deliveries failed", err)
		}
		return nil
	}
	if n == retryBatch {
		d.succeeded(ctx)
		d.retries.wakeAt(d.now()) // more are due
		return nil
	}
	next, err := d.table.nextDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.failed(ctx, "webhooks: reading the next due delivery failed", err)
		}
		return nil
	}
	d.succeeded(ctx)
	if !next.IsZero() {
		d.retries.wakeAt(next)
	}
	return nil
}

// queueDue publishes the next attempt of the deliveries due now and
// answers how many it found due.
func (d *Delivery) queueDue(ctx context.Context) (int, error) {
	now := d.now()
	stale := now.Add(-queuedFor)
	due, err := d.table.due(ctx, now, stale, retryBatch)
	if err != nil {
		return 0, err
	}
	var (
		msgs []*message.Message
		ids  []uuid.UUID
	)
	for _, rec := range due {
		taken, err := d.table.queue(ctx, rec.DeliveryID, rec.Attempts, now, stale)
		if err != nil {
			return len(due), err
		}
		if taken {
			msgs = append(msgs, deliveryMessage(uuid.NewString(), rec))
			ids = append(ids, rec.DeliveryID)
		}
	}
	if len(msgs) == 0 {
		return len(due), nil
	}
	if err := d.queuePub.Publish(DeliveriesTopic, msgs...); err != nil {
		// Due again at the next pass.
		_, uerr := d.table.unqueue(context.WithoutCancel(ctx), ids...)
		if uerr != nil {
			d.log.WarnContext(ctx, "webhooks: cannot note unpublished retries; they go out after a while", "err", uerr)
		}
		return len(due), err
	}
	return len(due), nil
}

// renamingPublisher publishes copies of messages under ids of their own,
// derived from the originals' (a copy published twice keeps one id).
type renamingPublisher struct{ message.Publisher }

// poisonNamespace derives the ids of poisoned copies.
var poisonNamespace = uuid.MustParse("0b6f3a8e-4d0c-5b43-9a55-7d2f6c1e9a10")

func (p renamingPublisher) Publish(topic string, messages ...*message.Message) error {
	out := make([]*message.Message, len(messages))
	for i, m := range messages {
		c := m.Copy()
		c.UUID = uuid.NewSHA1(poisonNamespace, []byte(topic+"/"+m.UUID)).String()
		out[i] = c
	}
	return p.Publisher.Publish(topic, out...)
}

// Close leaves the publisher to its owner: the router closes a handler's
// publisher, but this one is shared.
func (renamingPublisher) Close() error { return nil }
