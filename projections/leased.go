package projections

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Leaser hands out named leases: while one process holds a lease, no other
// does. Scale-out servers share read models and take turns running each
// worker (the projections, the forwarder) under a lease.
type Leaser interface {
	// Acquire blocks until the lease is held or ctx ends.
	Acquire(ctx context.Context, name string) (Lease, error)
}

// Lease is a held lease.
type Lease interface {
	// Lost is closed when the lease can no longer be trusted (its holder's
	// connection failed); the work it guards must stop.
	Lost() <-chan struct{}
	// Release gives the lease up.
	Release()
}

// ProjectionsLease names the lease under which a Set applies events.
const ProjectionsLease = "projections"

// followInterval is how often a Set without the lease reads the leader's
// checkpoints, so its callers' WaitFor see the shared read models move; a
// WaitFor that has to block has them read at once. A variable only so
// that a test can take the ticks away.
var followInterval = 20 * time.Millisecond

// hurriedGap is the least time between two reads of the checkpoints that
// waiters asked for: under a steady stream of waiters, at most 200 reads
// a second per follower against the shared database.
const hurriedGap = 5 * time.Millisecond

// RunLeased runs the set's projections only while this process holds the
// projections lease; until then (and after losing it) it follows the
// checkpoints the holder commits, so WaitFor, Ready and Lag keep working
// on every server. Applying only under the lease, with each batch and its
// checkpoint in one transaction, means a takeover resumes exactly at the
// last committed checkpoint: nothing applied twice, nothing skipped.
func (s *Set) RunLeased(ctx context.Context, leases Leaser) error {
	log := s.logger()
	for {
		followCtx, stopFollowing := context.WithCancel(ctx)
		followed := make(chan struct{})
		go func() { defer close(followed); s.followCheckpoints(followCtx) }()
		lease, err := leases.Acquire(ctx, ProjectionsLease)
		stopFollowing()
		<-followed
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("projections lease: %w", err)
		}
		log.Info("projections lease taken; applying events here")
		runCtx, stop := context.WithCancel(ctx)
		go func() {
			select {
			case <-lease.Lost():
				log.Warn("projections lease lost; stopping projections")
				stop()
			case <-runCtx.Done():
			}
		}()
		err = s.Run(runCtx)
		stop()
		lease.Release()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			log.Error("projections stopped under the lease", "err", err)
		}
	}
}

// followCheckpoints moves each runner's position to the checkpoint the
// lease holder committed, until ctx ends, and marks the set ready once
// every projection has reached the head of the log as it was at start.
// It reads every checkpoint of a database in one query, every
// followInterval and at once whenever a WaitFor has to block (Progress
// hurries it): a caller waiting for a position the holder has committed
// (a revocation followed from the log, a command's answer) waits for one
// round trip, not for the next tick and a query per runner.
func (s *Set) followCheckpoints(ctx context.Context) {
	if len(s.runners) == 0 {
		return
	}
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return
	}
	hurry := make(chan struct{}, 1)
	for _, r := range s.runners {
		r.progress.hurryOnWait(hurry)
	}
	// Applying under the lease starts only after this returns, and sets
	// its own (see batchingOf).
	defer func() {
		for _, r := range s.runners {
			r.progress.hurryOnWait(nil)
		}
	}()
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		polled := time.Now()
		if caughtUp, _ := s.advanceToCommitted(ctx, head); caughtUp {
			s.ready.Store(true)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-hurry:
			// Waiters that keep coming (commands answered here under
			// load) read the checkpoints at most once per hurriedGap.
			select {
			case <-ctx.Done():
				return
			case <-time.After(hurriedGap - time.Since(polled)):
			}
		}
	}
}

// LoadCheckpoints moves each runner's position to its committed
// checkpoint once, and marks the set ready if every projection has
// reached the head of the log: for a server that applies nothing and
// whose read models cannot move (a read-only data directory), so that
// Position, Lag, Ready and WaitFor show what the read models hold rather
// than nothing. It returns the first error reading the checkpoints (a
// runner whose checkpoint is missing or unreadable keeps position 0).
func (s *Set) LoadCheckpoints(ctx context.Context) error {
	if len(s.runners) == 0 {
		s.ready.Store(true)
		return nil
	}
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	caughtUp, err := s.advanceToCommitted(ctx, head)
	if caughtUp {
		s.ready.Store(true)
	}
	return err
}

// advanceToCommitted moves each runner's position to its committed
// checkpoint, one query per database, and reports whether every one has
// reached head, with the first error reading the checkpoints (a runner
// whose checkpoint is missing or unreadable stays where it was).
func (s *Set) advanceToCommitted(ctx context.Context, head uint64) (caughtUp bool, first error) {
	caughtUp = true
	for _, db := range s.databases() {
		positions, err := committedPositions(ctx, db)
		if err != nil && first == nil {
			first = fmt.Errorf("read-model checkpoints: %w", err)
		}
		for _, r := range s.runners {
			if r.db != db {
				continue
			}
			pos, ok := positions[r.Name()]
			if err != nil || !ok {
				caughtUp = false
				continue
			}
			r.advance(pos)
			if pos < head {
				caughtUp = false
			}
		}
	}
	return caughtUp, first
}

// committedPositions reads the checkpoints of db's projections as
// committed by whichever process applies their events, by name.
func committedPositions(ctx context.Context, db *DB) (map[string]uint64, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, position FROM `+checkpointTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	positions := map[string]uint64{}
	for rows.Next() {
		var (
			name string
			pos  int64
		)
		if err := rows.Scan(&name, &pos); err != nil {
			return nil, err
		}
		positions[name] = uint64(pos)
	}
	return positions, rows.Err()
}

func (s *Set) logger() *slog.Logger {
	if len(s.runners) == 0 {
		return slog.Default()
	}
	return s.runners[0].log
}
