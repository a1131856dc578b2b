package projections

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

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

// Run prepares every projection, runs them until ctx ends, and marks the set
// ready once each has caught up with the head of the log as it was at start.
func (s *Set) Run(ctx context.Context) error {
	for _, r := range s.runners {
		if err := r.Prepare(ctx); err != nil {
			return err
		}
	}
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return fmt.Errorf("projections: head position: %w", err)
	}
	var wg sync.WaitGroup
	for _, r := range s.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(ctx)
		}()
	}
	if err := s.WaitFor(ctx, head); err == nil {
		s.ready.Store(true)
	}
	wg.Wait()
	return nil
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
