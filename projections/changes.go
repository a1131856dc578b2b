package projections

import (
	"fmt"
	"slices"

	"github.com/accessd/accessd/eventstore"
)

// Changes tells a cache of read-model rows when they may have changed: it
// covers some projections, and Count moves whenever one of them commits a
// write (a batch holding an event type it handles, a re-delivery, a reset)
// or starts or stops applying events in this process.
type Changes struct {
	runners []*Runner
}

// Changes covers the named projections of the set.
func (s *Set) Changes(names ...string) (*Changes, error) {
	c := &Changes{}
	for _, name := range names {
		r := s.Runner(name)
		if r == nil {
			return nil, fmt.Errorf("projections: no projection %q to follow changes of", name)
		}
		c.runners = append(c.runners, r)
	}
	return c, nil
}

// Count moves whenever a covered projection may have changed its tables.
// ok is false while any of them is not applied by this process: a server
// that follows another's checkpoints (it does not hold the projections
// lease) learns of that server's writes a poll later, so it must not
// serve what it cached. A caller reads Count before reading the tables
// and keeps what it read only while Count stays the same.
//
// It also moves with every commit to their databases by another process
// (DB.ForeignCommits: accessctl's rebuild swapping tables in beside the
// server), noticed at the writer's next transaction or the checkpointer's
// next tick (500 ms), whichever comes first.
func (c *Changes) Count() (count uint64, ok bool) {
	ok = true
	for i, r := range c.runners {
		count += r.changes.Load()
		ok = ok && r.live.Load()
		if !slices.ContainsFunc(c.runners[:i], func(o *Runner) bool { return o.db == r.db }) {
			count += r.db.ForeignCommits()
		}
	}
	return count, ok
}

// changed records a committed write to the projection's tables. It is
// called after the commit and before the runner's position moves, so a
// reader that waited for the position sees the count moved.
func (r *Runner) changed() { r.changes.Add(1) }

// setLive records whether this process applies the projection's events.
func (r *Runner) setLive(live bool) {
	r.live.Store(live)
	r.changed()
}

// handlesAny reports whether batch holds an event type the projection
// handles, whether or not it is past the checkpoint.
func (r *Runner) handlesAny(batch []eventstore.RecordedEvent) bool {
	for _, rec := range batch {
		if r.handles[rec.Type] {
			return true
		}
	}
	return false
}
