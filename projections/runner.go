package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// maxBatch bounds how many events one read-model transaction applies. A
// variable only so that a benchmark can apply the log in live-sized batches.
var maxBatch = 1000

// deferredLinger is how long the deferred lane lets a batch grow while
// nobody waits for it. Its read models index every event at scattered keys,
// and a commit writes each page it dirtied once, however many events
// dirtied it: 25-event batches wrote about 97 KiB per event, 1,000-event
// batches 19 KiB (BenchmarkLiveApply). A reader of the lane that has to
// wait cuts the linger short (see Progress.Wait), so only the lane's
// idle moments are spent batching.
var deferredLinger = 200 * time.Millisecond

// batching is how a runner gathers events into transactions.
type batching struct {
	// linger, when positive, keeps a batch open for more events until it
	// has passed, the batch is full, or hurry receives.
	linger time.Duration
	hurry  <-chan struct{}
}

// Runner keeps one projection up to date with the log.
type Runner struct {
	db         *DB
	store      eventstore.Store
	registry   *eventstore.Registry
	projection Projection
	log        *slog.Logger
	handles    map[string]bool

	progress Progress      // last $all position applied and committed
	failures atomic.Uint64 // batches that failed and were retried
	applying atomic.Int64  // nanoseconds spent applying batches, committed or not
	changes  atomic.Uint64 // committed writes and starts and stops (see Changes)
	live     atomic.Bool   // this process applies the projection's events
}

// ApplyTime is how long the runner has spent applying events (its share
// of the read-model writer's time; commits are the DB's, see WriterTimes).
func (r *Runner) ApplyTime() time.Duration { return time.Duration(r.applying.Load()) }

// NewRunner returns a runner for p, refusing nil dependencies.
func NewRunner(db *DB, store eventstore.Store, registry *eventstore.Registry, p Projection, log *slog.Logger) (*Runner, error) {
	if db == nil || store == nil || registry == nil || p == nil || log == nil {
		return nil, errors.New("projections: runner needs a database, a store, a registry, a projection and a logger")
	}
	handles := map[string]bool{}
	for _, t := range p.EventTypes() {
		handles[t] = true
	}
	return &Runner{db: db, store: store, registry: registry, projection: p,
		log: log.With("projection", p.Name()), handles: handles}, nil
}

// Name is the projection's name.
func (r *Runner) Name() string { return r.projection.Name() }

// Position is the $all position of the last event the read model reflects.
func (r *Runner) Position() uint64 { return r.progress.Load() }

// Failures counts batches that failed to apply and were retried.
func (r *Runner) Failures() uint64 { return r.failures.Load() }

// Prepare creates the projection's tables and loads its checkpoint; a
// stored version other than the projection's resets the read model so it is
// rebuilt from position 0.
func (r *Runner) Prepare(ctx context.Context) error {
	dropped := false
	defer func() {
		if dropped {
			r.db.schemaChanged()
		}
	}()
	return r.inTx(ctx, func(tx Tx) error {
		if err := ensureCheckpointTable(ctx, tx); err != nil {
			return err
		}
		version, pos, found, err := readCheckpoint(ctx, tx, r.projection.Name())
		if err != nil {
			return err
		}
		if found && version != r.projection.Version() {
			r.log.Info("projection version changed; rebuilding from the start", "from", version, "to", r.projection.Version())
			if err := dropTables(ctx, tx, r.projection); err != nil {
				return err
			}
			dropped = true
			pos, found = 0, false
		}
		if err := setupLive(ctx, tx, r.projection); err != nil {
			return err
		}
		if !found {
			if err := writeCheckpoint(ctx, tx, r.projection.Name(), r.projection.Version(), 0); err != nil {
				return err
			}
		}
		r.advance(pos)
		return nil
	})
}

// Reset drops the read model and its checkpoint so the next Run rebuilds it
// from position 0. Call it only while the runner is stopped.
func (r *Runner) Reset(ctx context.Context) error {
	err := r.inTx(ctx, func(tx Tx) error {
		if err := ensureCheckpointTable(ctx, tx); err != nil {
			return err
		}
		if err := dropTables(ctx, tx, r.projection); err != nil {
			return err
		}
		if err := setupLive(ctx, tx, r.projection); err != nil {
			return err
		}
		return writeCheckpoint(ctx, tx, r.projection.Name(), r.projection.Version(), 0)
	})
	r.db.schemaChanged()
	if err == nil {
		r.changed()
		r.progress.Set(0)
	}
	return err
}

// Run follows the log from the checkpoint until ctx ends. A batch that fails
// is rolled back and retried from the checkpoint after a pause, so an event
// is never skipped.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.Prepare(ctx); err != nil {
		return err
	}
	for {
		err := r.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.failures.Add(1)
		r.log.Error("projection stopped; retrying from its checkpoint", "err", err, "position", r.Position())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// follow subscribes from the checkpoint and applies batches until an error.
func (r *Runner) follow(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := r.store.Subscribe(ctx, r.Position(), eventstore.Filter{})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Close()
	r.setLive(true)
	defer r.setLive(false)

	return inBatches(ctx, sub, batchingOf([]*Runner{r}), func(batch []eventstore.RecordedEvent) error {
		return r.applyBatch(ctx, batch)
	})
}

// batchingOf is how runners that share transactions batch: the deferred
// lane lingers until one of its runners is waited for.
func batchingOf(runners []*Runner) batching {
	if laneOf(runners[0].projection) != LaneDeferred {
		return batching{}
	}
	hurry := make(chan struct{}, 1)
	for _, r := range runners {
		r.progress.hurryOnWait(hurry)
	}
	return batching{linger: deferredLinger, hurry: hurry}
}

// inBatches reads a subscription until it fails, handing fn every event
// already delivered as one batch: one transaction per batch, not per event.
// Without a linger a lone live event is applied at once.
func inBatches(ctx context.Context, sub eventstore.Subscription, how batching, fn func([]eventstore.RecordedEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed := make(chan eventstore.RecordedEvent, maxBatch)
	readErr := make(chan error, 1)
	go func() {
		defer close(feed)
		for {
			ev, err := sub.Next(ctx)
			if err != nil {
				readErr <- err
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

	batch := make([]eventstore.RecordedEvent, 0, maxBatch)
	for {
		ev, ok := <-feed
		if !ok {
			return <-readErr
		}
		batch = append(batch[:0], ev)
		var timer *time.Timer
		var deadline <-chan time.Time
		if how.linger > 0 {
			timer = time.NewTimer(how.linger)
			deadline = timer.C
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case ev, ok := <-feed:
				if !ok {
					break drain
				}
				batch = append(batch, ev)
				continue
			default:
			}
			if deadline == nil {
				break drain
			}
			select {
			case ev, ok := <-feed:
				if !ok {
					break drain
				}
				batch = append(batch, ev)
			case <-deadline:
				break drain
			case <-how.hurry:
				break drain
			case <-ctx.Done():
				break drain
			}
		}
		if timer != nil {
			timer.Stop()
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
}

// applyBatch applies the events the projection handles and moves the
// checkpoint past the whole batch, in one transaction.
func (r *Runner) applyBatch(ctx context.Context, batch []eventstore.RecordedEvent) error {
	last := batch[len(batch)-1].Position
	err := r.inTx(ctx, func(tx Tx) error { return r.applyIn(ctx, tx, batch, nil) })
	if err != nil {
		return err
	}
	if r.handlesAny(batch) {
		r.changed()
	}
	r.advance(last)
	return nil
}

// applyIn applies, inside tx, the events of batch past the runner's
// checkpoint that it handles, and writes its new checkpoint. decoded shares
// decoded envelopes between the runners of a set (nil: decode here).
func (r *Runner) applyIn(ctx context.Context, tx Tx, batch []eventstore.RecordedEvent, decoded map[uint64]eventstore.Envelope) error {
	start := time.Now()
	defer func() { r.applying.Add(int64(time.Since(start))) }()
	last := batch[len(batch)-1].Position
	// The stored checkpoint can be ahead of this runner's: a rebuild
	// swapped in tables built further (see Rebuild).
	from := r.Position()
	if _, stored, found, err := claimCheckpoint(ctx, tx, r.projection.Name()); err != nil {
		return err
	} else if found && stored > from {
		from = stored
	}
	if last <= from {
		return nil
	}
	for _, rec := range batch {
		if rec.Position <= from || !r.handles[rec.Type] {
			continue
		}
		env, ok := decoded[rec.Position]
		if !ok {
			var err error
			env, err = r.registry.Decode(rec)
			if err != nil {
				// A stored event this build cannot read would stop the
				// read model forever; it is logged and counted instead.
				r.log.Error("undecodable event skipped", "err", err, "position", rec.Position, "type", rec.Type)
				continue
			}
			if decoded != nil {
				decoded[rec.Position] = env
			}
		}
		if !env.Known {
			continue
		}
		if err := r.projection.Apply(ctx, tx, env); err != nil {
			return fmt.Errorf("apply %s at %d to %s: %w", rec.Type, rec.Position, r.Name(), err)
		}
	}
	return writeCheckpoint(ctx, tx, r.projection.Name(), r.projection.Version(), last)
}

func (r *Runner) inTx(ctx context.Context, fn func(Tx) error) error {
	return inDBTx(ctx, r.db, "", func(tx Tx) error {
		if err := lockAgainstSwaps(ctx, tx, false); err != nil {
			return err
		}
		return fn(tx)
	})
}

func (r *Runner) advance(pos uint64) { r.progress.Set(pos) }

// WaitFor blocks until the read model reflects every event up to position,
// or ctx ends.
func (r *Runner) WaitFor(ctx context.Context, position uint64) error {
	if err := r.progress.Wait(ctx, position); err != nil {
		return fmt.Errorf("waiting for %s to reach %d: %w", r.Name(), position, err)
	}
	return nil
}

// Reprocess hands an event the projection has already applied to its
// Redeliver, in its own transaction, without moving the checkpoint. An
// event past the checkpoint is left to the runner, which will reach it;
// one of a type the projection does not handle is skipped, and so is every
// event for a projection that is no Redeliverer: its read model holds the
// event's effect already, as later events changed it, and applying the
// event again would set back what they changed (a renamed lock's name, a
// released lock, a deleted key, a lock that moved to another area).
func (r *Runner) Reprocess(ctx context.Context, rec eventstore.RecordedEvent) error {
	redeliverer, ok := r.projection.(Redeliverer)
	if !ok || rec.Position > r.Position() || !r.handles[rec.Type] {
		return nil
	}
	env, err := r.registry.Decode(rec)
	if err != nil || !env.Known {
		return err
	}
	defer r.changed()
	return r.inTx(ctx, func(tx Tx) error { return redeliverer.Redeliver(ctx, tx, env) })
}
