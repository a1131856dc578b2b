package projections

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// Set runs several projections over one store and one read-model database.
type Set struct {
	store   eventstore.Store
	runners []*Runner
	ready   atomic.Bool
}

// NewSet groups runners that share a store.
func NewSet(store eventstore.Store, runners ...*Runner) *Set {
	return &Set{store: store, runners: runners}
}

// Runners lists the set's runners.
func (s *Set) Runners() []*Runner { return s.runners }

// Runner is the runner of the projection named name, or nil.
func (s *Set) Runner(name string) *Runner {
	for _, r := range s.runners {
		if r.Name() == name {
			return r
		}
	}
	return nil
}

// Run prepares every projection, runs them until ctx ends, and marks the set
// ready once each has caught up with the head of the log as it was at start.
// Projections that share one database run together: one subscription and
// one transaction per batch for all of them (each skipping what is at or
// below its own checkpoint), instead of a transaction per projection.
func (s *Set) Run(ctx context.Context) error {
	seen := map[string]bool{}
	for _, r := range s.runners {
		if seen[r.Name()] {
			return fmt.Errorf("projections: %q runs twice; each projection needs one runner", r.Name())
		}
		seen[r.Name()] = true
	}
	// A projection whose version changed is rebuilt beside its old tables,
	// then runs on its own (see rebuildThenRun).
	changed, err := s.versionChanged(ctx)
	if err != nil {
		return err
	}
	for _, r := range s.runners {
		if changed[r] {
			continue
		}
		if err := r.Prepare(ctx); err != nil {
			return err
		}
	}
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return fmt.Errorf("projections: head position: %w", err)
	}
	var wg sync.WaitGroup
	if len(changed) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); s.rebuildThenRun(ctx, changed) }()
	}
	for _, group := range s.byDatabase(changed) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if len(group) == 1 {
				group[0].Run(ctx)
				return
			}
			runTogether(ctx, s.store, group)
		}()
	}
	if err := s.WaitFor(ctx, head); err == nil {
		s.ready.Store(true)
	}
	wg.Wait()
	return nil
}

// byDatabase groups the runners by the database they write to, leaving
// out those in skip.
func (s *Set) byDatabase(skip map[*Runner]bool) [][]*Runner {
	type key struct {
		db   *DB
		lane string
	}
	var groups [][]*Runner
	index := map[key]int{}
	for _, r := range s.runners {
		if skip[r] {
			continue
		}
		k := key{r.db, laneOf(r.projection)}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}

// runTogether follows the log for runners sharing a database until ctx
// ends; a failed batch is rolled back for all and retried from their
// checkpoints, so no projection skips an event.
func runTogether(ctx context.Context, store eventstore.Store, runners []*Runner) {
	for {
		err := followTogether(ctx, store, runners)
		if ctx.Err() != nil {
			return
		}
		for _, r := range runners {
			r.failures.Add(1)
		}
		runners[0].log.Error("projections stopped; retrying from their checkpoints", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func followTogether(ctx context.Context, store eventstore.Store, runners []*Runner) error {
	from := runners[0].Position()
	for _, r := range runners[1:] {
		from = min(from, r.Position())
	}
	sub, err := store.Subscribe(ctx, from, eventstore.Filter{})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Close()
	for _, r := range runners {
		r.setLive(true)
		defer r.setLive(false)
	}
	return inBatches(ctx, sub, batchingOf(runners), func(batch []eventstore.RecordedEvent) error {
		decoded := decodeAhead(batch, runners)
		err := runners[0].inTx(ctx, func(tx Tx) error {
			for _, r := range runners {
				if err := r.applyIn(ctx, tx, batch, decoded); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range runners {
			if r.handlesAny(batch) {
				r.changed()
			}
		}
		last := batch[len(batch)-1].Position
		for _, r := range runners {
			if last > r.Position() {
				r.advance(last)
			}
		}
		return nil
	})
}

// decodeAhead decodes the events of batch some runner handles, and splits
// their payloads into fields, before the batch waits for the writer's turn:
// the other lane can write meanwhile. Nil when the runners do not share one
// registry; an event that does not decode is left to applyIn, which logs it.
func decodeAhead(batch []eventstore.RecordedEvent, runners []*Runner) map[uint64]eventstore.Envelope {
	registry := runners[0].registry
	for _, r := range runners[1:] {
		if r.registry != registry {
			return nil
		}
	}
	decoded := make(map[uint64]eventstore.Envelope, len(batch))
	for _, rec := range batch {
		if !slices.ContainsFunc(runners, func(r *Runner) bool { return r.handles[rec.Type] }) {
			continue
		}
		env, err := registry.Decode(rec)
		if err != nil {
			continue
		}
		env.Fields()
		decoded[rec.Position] = env
	}
	return decoded
}

// WriterTimes sums DB.WriterTimes over the databases the set writes to.
func (s *Set) WriterTimes() (wait, commit time.Duration) {
	for _, db := range s.databases() {
		w, c := db.WriterTimes()
		wait, commit = wait+w, commit+c
	}
	return wait, commit
}

// ForeignCommits sums DB.ForeignCommits over the databases the set writes to.
func (s *Set) ForeignCommits() (n uint64) {
	for _, db := range s.databases() {
		n += db.ForeignCommits()
	}
	return n
}

// databases lists the distinct databases the set's projections write to.
func (s *Set) databases() []*DB {
	var out []*DB
	seen := map[*DB]bool{}
	for _, r := range s.runners {
		if !seen[r.db] {
			seen[r.db] = true
			out = append(out, r.db)
		}
	}
	return out
}

// Ready reports whether every projection caught up with the log at start.
func (s *Set) Ready() bool { return s.ready.Load() }

// WaitFor blocks until every projection reflects the log up to position.
func (s *Set) WaitFor(ctx context.Context, position uint64) error {
	for _, r := range s.runners {
		if err := r.WaitFor(ctx, position); err != nil {
			return err
		}
	}
	return nil
}

// Position is how far every projection reflects the log: the least of the
// runners' committed checkpoints.
func (s *Set) Position() uint64 {
	var least uint64
	for i, r := range s.runners {
		if p := r.Position(); i == 0 || p < least {
			least = p
		}
	}
	return least
}

// WaitForCommands blocks until every projection outside the deferred lane
// reflects the log up to position: what a command's answer waits for.
func (s *Set) WaitForCommands(ctx context.Context, position uint64) error {
	for _, r := range s.runners {
		if laneOf(r.projection) == LaneDeferred {
			continue
		}
		if err := r.WaitFor(ctx, position); err != nil {
			return err
		}
	}
	return nil
}

// Lag returns, per projection, the head position minus its checkpoint, and
// the head position.
func (s *Set) Lag(ctx context.Context) (map[string]uint64, uint64, error) {
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return nil, 0, err
	}
	lag := make(map[string]uint64, len(s.runners))
	for _, r := range s.runners {
		p := r.Position()
		if p >= head {
			lag[r.Name()] = 0
		} else {
			lag[r.Name()] = head - p
		}
	}
	return lag, head, nil
}

// Reprocess re-delivers the event at position to every projection.
func (s *Set) Reprocess(ctx context.Context, position uint64) error {
	if position == 0 {
		return fmt.Errorf("reprocess: no event at position 0")
	}
	recs, err := s.store.ReadAll(ctx, position-1, 1, eventstore.Filter{})
	if err != nil {
		return fmt.Errorf("reprocess: %w", err)
	}
	if len(recs) == 0 || recs[0].Position != position {
		return fmt.Errorf("reprocess: no event at position %d", position)
	}
	for _, r := range s.runners {
		if err := r.Reprocess(ctx, recs[0]); err != nil {
			return fmt.Errorf("reprocess %s: %w", r.Name(), err)
		}
	}
	return nil
}
