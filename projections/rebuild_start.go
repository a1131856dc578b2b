package projections

import (
	"context"
	"sync"
	"time"
)

// versionChanged returns the runners whose read model was built by another
// version of their projection: Set.Run rebuilds those beside the old
// tables instead of dropping them first.
func (s *Set) versionChanged(ctx context.Context) (map[*Runner]bool, error) {
	changed := map[*Runner]bool{}
	for _, r := range s.runners {
		var (
			version int
			found   bool
		)
		err := r.inTx(ctx, func(tx Tx) error {
			if err := ensureCheckpointTable(ctx, tx); err != nil {
				return err
			}
			var err error
			version, _, found, err = readCheckpoint(ctx, tx, r.projection.Name())
			return err
		})
		if err != nil {
			return nil, err
		}
		if found && version != r.projection.Version() {
			changed[r] = true
		}
	}
	return changed, nil
}

// rebuildThenRun rebuilds the runners' read models side by side (the old
// tables keep answering meanwhile), swaps them in, then runs each runner
// from the swapped-in checkpoint until ctx ends. A failed rebuild is retried
// from its own checkpoint after a pause.
func (s *Set) rebuildThenRun(ctx context.Context, changed map[*Runner]bool) {
	var runners []*Runner
	for _, r := range s.runners {
		if changed[r] {
			runners = append(runners, r)
		}
	}
	var wg sync.WaitGroup
	for _, group := range (&Set{runners: runners}).byDatabase(nil) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps := make([]Projection, len(group))
			for i, r := range group {
				ps[i] = r.projection
				r.log.Info("projection version changed; rebuilding beside the old tables", "to", r.projection.Version())
			}
			last := time.Now()
			rb := &Rebuild{DB: group[0].db, Store: s.store, Registry: group[0].registry, Projections: ps,
				Progress: func(p RebuildProgress) {
					if p.Swapped || time.Since(last) > 10*time.Second {
						last = time.Now()
						group[0].log.Info("rebuild", "position", p.Position, "head", p.Head, "eventsPerSecond", int(p.Rate()), "swapped", p.Swapped)
					}
				}}
			for {
				err := rb.Run(ctx)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return
				}
				group[0].log.Error("rebuild failed; retrying from its checkpoint", "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
			var runs sync.WaitGroup
			for _, r := range group {
				runs.Add(1)
				go func() { defer runs.Done(); r.Run(ctx) }()
			}
			runs.Wait()
		}()
	}
	wg.Wait()
}
