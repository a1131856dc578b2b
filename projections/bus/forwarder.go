package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// DefaultForwarderName names the forwarder's checkpoint row.
const DefaultForwarderName = "bus"

// defaultBatch is how many events one publish and one checkpoint cover.
const defaultBatch = 1000

// Forwarder publishes every event of $all, in position order, as one
// message each (Encode) on its category's topic (Topic). Delivery is
// at-least-once: the checkpoint is saved only after the broker took the
// batch, so a crash between the two re-publishes that batch, which
// consumers (and JetStream, by Nats-Msg-Id) drop by message UUID.
type Forwarder struct {
	store eventstore.Store
	db    *projections.DB
	pub   message.Publisher
	log   *slog.Logger

	name       string
	batch      int
	minBackoff time.Duration
	maxBackoff time.Duration

	progress projections.Progress // last $all position published and checkpointed
	failures atomic.Uint64        // failed attempts, each retried from the checkpoint
	skipped  atomic.Uint64        // events passed over because no message can carry them
}

// ForwarderOption tunes a Forwarder.
type ForwarderOption func(*Forwarder)

// WithName names the checkpoint (default DefaultForwarderName), for more
// than one forwarder over one checkpoint database.
func WithName(name string) ForwarderOption { return func(f *Forwarder) { f.name = name } }

// WithBatch sets how many events one publish and checkpoint cover (default 1000).
func WithBatch(n int) ForwarderOption {
	return func(f *Forwarder) {
		if n > 0 {
			f.batch = n
		}
	}
}

// WithBackoff sets the pause after a failure, doubled on each further one
// up to max (default 100ms to 30s).
func WithBackoff(minimum, maximum time.Duration) ForwarderOption {
	return func(f *Forwarder) {
		if minimum > 0 && maximum >= minimum {
			f.minBackoff, f.maxBackoff = minimum, maximum
		}
	}
}

// NewForwarder returns a forwarder from store to pub that keeps its
// checkpoint in db, refusing nil dependencies. db must outlive the read
// models (integration.db on SQLite): losing the checkpoint publishes the
// whole log again.
func NewForwarder(store eventstore.Store, db *projections.DB, pub message.Publisher, log *slog.Logger, opts ...ForwarderOption) (*Forwarder, error) {
	if store == nil || db == nil || pub == nil || log == nil {
		return nil, errors.New("bus: forwarder needs a store, a database, a publisher and a logger")
	}
	f := &Forwarder{store: store, db: db, pub: pub, name: DefaultForwarderName, batch: defaultBatch,
		minBackoff: 100 * time.Millisecond, maxBackoff: 30 * time.Second}
	for _, o := range opts {
		o(f)
	}
	if f.name == "" {
		return nil, errors.New("bus: forwarder needs a name")
	}
	f.log = log.With("forwarder", f.name)
	return f, nil
}

// Position is the $all position of the last event published and checkpointed.
func (f *Forwarder) Position() uint64 { return f.progress.Load() }

// Failures counts failed attempts (each retried from the checkpoint).
func (f *Forwarder) Failures() uint64 { return f.failures.Load() }

// Skipped counts the events passed over because they cannot be encoded as
// a message (their data or metadata is not JSON).
func (f *Forwarder) Skipped() uint64 { return f.skipped.Load() }

// Lag returns the head position of $all minus Position, and the head.
func (f *Forwarder) Lag(ctx context.Context) (lag, head uint64, err error) {
	head, err = f.store.HeadPosition(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("bus: lag: %w", err)
	}
	if p := f.Position(); p < head {
		return head - p, head, nil
	}
	return 0, head, nil
}

// Prepare creates the checkpoint table and loads the checkpoint. Run calls it.
func (f *Forwarder) Prepare(ctx context.Context) error {
	if err := SetupCheckpoints(ctx, f.db); err != nil {
		return err
	}
	pos, err := readCheckpoint(ctx, f.db, f.name)
	if err != nil {
		return err
	}
	f.advance(pos)
	return nil
}

// Run forwards events until ctx ends. A failed publish or checkpoint is
// logged and retried from the checkpoint after a growing pause, so no event
// is skipped, except one that no message can carry (see forward).
func (f *Forwarder) Run(ctx context.Context) error {
	if err := f.Prepare(ctx); err != nil {
		return err
	}
	f.log.Info("forwarding integration events", "from", f.Position())
	backoff := f.minBackoff
	for {
		before := f.Position()
		err := f.follow(ctx)
		if ctx.Err() != nil {
			f.log.Info("forwarder stopped", "position", f.Position())
			return nil
		}
		if f.Position() > before {
			backoff = f.minBackoff // it made progress: a new failure, not the same one
		}
		f.failures.Add(1)
		f.log.Error("forwarding failed; retrying from the checkpoint", "err", err, "position", f.Position(), "retryIn", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, f.maxBackoff)
	}
}

// follow subscribes from the checkpoint and forwards batches until an error.
func (f *Forwarder) follow(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := f.store.Subscribe(ctx, f.Position(), eventstore.Filter{})
	if err != nil {
		return fmt.Errorf("subscribe to $all after %d: %w", f.Position(), err)
	}
	defer sub.Close()

	feed := make(chan eventstore.RecordedEvent, f.batch)
	readErr := make(chan error, 1)
	go func() {
		defer close(feed)
		for {
			ev, err := sub.Next(ctx)
			if err != nil {
				readErr <- fmt.Errorf("read $all: %w", err)
				return
			}
			select {
			case feed <- ev:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
		}
	}()

	// A batch is whatever the reader already delivered, so a backlog goes
	// in large batches and a lone live event goes at once.
	batch := make([]eventstore.RecordedEvent, 0, f.batch)
	for {
		ev, ok := <-feed
		if !ok {
			return <-readErr
		}
		batch = append(batch[:0], ev)
	drain:
		for len(batch) < f.batch {
			select {
			case ev, ok := <-feed:
				if !ok {
					break drain
				}
				batch = append(batch, ev)
			default:
				break drain
			}
		}
		if err := f.forward(ctx, batch); err != nil {
			return err
		}
	}
}

// forward publishes a batch, then saves the checkpoint past it. An event
// that cannot be encoded (data or metadata that is not JSON, which another
// writer can put in a KurrentDB log) would fail the same way on every
// retry and stop the forwarder for good: it is left out, and logged and
// counted once the checkpoint has passed it.
func (f *Forwarder) forward(ctx context.Context, batch []eventstore.RecordedEvent) error {
	out := make([]outgoing, 0, len(batch))
	var unencodable []eventstore.RecordedEvent
	var encodeErrs []error
	for _, ev := range batch {
		msg, err := Encode(ev)
		if err != nil {
			unencodable, encodeErrs = append(unencodable, ev), append(encodeErrs, err)
			continue
		}
		out = append(out, outgoing{topic: Topic(ev.Stream), msg: msg})
	}
	first, last := batch[0].Position, batch[len(batch)-1].Position
	if len(out) > 0 {
		if err := f.publish(ctx, out); err != nil {
			return fmt.Errorf("publish events %d..%d: %w", first, last, err)
		}
	}
	if err := writeCheckpoint(ctx, f.db, f.name, last); err != nil {
		return err
	}
	for i, ev := range unencodable {
		f.skipped.Add(1)
		f.log.Error("skipped an event that cannot be published: its data or metadata is not JSON",
			"eventId", ev.ID, "stream", ev.Stream, "position", ev.Position, "type", ev.Type, "err", encodeErrs[i])
	}
	f.advance(last)
	f.log.Debug("forwarded", "events", len(batch), "position", last)
	return nil
}

// publish sends out in order: in one call if the publisher takes mixed
// topics, else one Publish per run of messages of one topic.
func (f *Forwarder) publish(ctx context.Context, out []outgoing) error {
	if bp, ok := f.pub.(batchPublisher); ok {
		return bp.publishBatch(ctx.Done(), out)
	}
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && out[end].topic == out[start].topic {
			end++
		}
		msgs := make([]*message.Message, 0, end-start)
		for _, o := range out[start:end] {
			msgs = append(msgs, o.msg)
		}
		if err := f.pub.Publish(out[start].topic, msgs...); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (f *Forwarder) advance(pos uint64) { f.progress.Set(pos) }

// WaitFor blocks until every event up to position is published and
// checkpointed, or ctx ends.
func (f *Forwarder) WaitFor(ctx context.Context, position uint64) error {
	if err := f.progress.Wait(ctx, position); err != nil {
		return fmt.Errorf("bus: waiting for the forwarder to reach %d: %w", position, err)
	}
	return nil
}
