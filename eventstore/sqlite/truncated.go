package sqlite

import (
	"log/slog"

	"github.com/accessd/accessd/eventstore"
)

// checkTruncated compares found, the last position the file holds, with
// seen, the head this store had published (appended by its writer, or read
// from the file by its watcher, and so possibly delivered to subscriptions)
// before found was read: the published head only moves forwards and only
// to committed positions, so a file that ends below it lost events to
// another process. The writer assigns the last position plus one, so
// appending again would reuse the removed positions and leave no gap for
// verify to find. The first such finding is kept and logged at error level;
// from then on every append fails with it (eventstore.ErrLogTruncated),
// until the store is closed.
func (s *Store) checkTruncated(found, seen uint64) error {
	if err := s.truncated.Load(); err != nil {
		return err
	}
	if found >= seen {
		return nil
	}
	e := &eventstore.LogTruncatedError{Log: s.path, Found: found, Seen: seen}
	if s.truncated.CompareAndSwap(nil, e) {
		slog.Error("event log truncated: events were removed from the end of the log under the running server; appends are refused",
			"file", s.path, "lastPosition", found, "highestAppendedOrRead", seen, "lost", e.Lost())
		return e
	}
	return s.truncated.Load()
}

// Truncated is the error every append fails with since the store found its
// file ending below a position it had appended or read (see
// eventstore.ErrLogTruncated), nil while it has not: for health checks.
func (s *Store) Truncated() error {
	if e := s.truncated.Load(); e != nil {
		return e
	}
	return nil
}
