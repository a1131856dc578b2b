package postgres

import "sync/atomic"

// Stats are the store's cumulative write counters, for export as metrics.
type Stats struct {
	// Appends counts Append calls that stored at least one event.
	Appends uint64
	// Events counts events stored.
	Events uint64
	// Commits counts write transactions committed: one per group of appends.
	Commits uint64
}

type counters struct {
	appends, events, commits atomic.Uint64
}

// Stats returns the write counters since Open.
func (s *Store) Stats() Stats {
	return Stats{
		Appends: s.stats.appends.Load(),
		Events:  s.stats.events.Load(),
		Commits: s.stats.commits.Load(),
	}
}
