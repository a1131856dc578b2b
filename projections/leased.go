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
// checkpoints, so its callers' WaitFor see the shared read models move.
const followInterval = 20 * time.Millisecond

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
func (s *Set) followCheckpoints(ctx context.Context) {
	if len(s.runners) == 0 {
		return
	}
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return
	}
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		caughtUp := true
		for _, r := range s.runners {
			pos, err := r.committedPosition(ctx)
			if err != nil {
				caughtUp = false
				continue
			}
			r.advance(pos)
			if pos < head {
				caughtUp = false
			}
		}
		if caughtUp {
			s.ready.Store(true)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// committedPosition reads the runner's checkpoint as committed by whichever
// process applies its events.
func (r *Runner) committedPosition(ctx context.Context) (uint64, error) {
	var pos int64
	q := r.db.Dialect.Rebind(`SELECT position FROM ` + checkpointTable + ` WHERE name = ?`)
	if err := r.db.QueryRowContext(ctx, q, r.projection.Name()).Scan(&pos); err != nil {
		return 0, err
	}
	return uint64(pos), nil
}

func (s *Set) logger() *slog.Logger {
	if len(s.runners) == 0 {
		return slog.Default()
	}
	return s.runners[0].log
}
