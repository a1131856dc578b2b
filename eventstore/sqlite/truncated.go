package sqlite

import (
	"fmt"
	"log/slog"

	"github.com/accessd/accessd/eventstore"
)

// truncatedError is what every append gets once the store found its file
// ending below a position it had already appended, or read and handed to
// subscriptions: another process removed events from the end of the log.
// The writer assigns the last position plus one, so appending again would
// reuse the removed positions and leave no gap for verify to find; the
// store refuses instead, until it is closed.
type truncatedError struct {
	path  string
	found uint64 // the file's last position when the loss was seen
	seen  uint64 // the highest position this store appended or read
}

func (e *truncatedError) Error() string {
	return fmt.Sprintf("%v: %s ends at position %d, but this server had already appended or read up to position %d: "+
		"%s removed by another process; appends are refused so that nothing is written over them (%v); "+
		"an operator must investigate: stop the server and keep the data directory as evidence",
		eventstore.ErrLogTruncated, e.path, e.found, e.seen, e.lostVerb(), eventstore.ErrUnavailable)
}

// lost names the removed positions.
func (e *truncatedError) lost() string {
	if e.seen == e.found+1 {
		return fmt.Sprintf("position %d", e.seen)
	}
	return fmt.Sprintf("positions %d to %d", e.found+1, e.seen)
}

// lostVerb is lost with its verb.
func (e *truncatedError) lostVerb() string {
	if e.seen == e.found+1 {
		return e.lost() + " was"
	}
	return e.lost() + " were"
}

// Is makes errors.Is match eventstore.ErrLogTruncated and
// eventstore.ErrUnavailable (an HTTP 503).
func (e *truncatedError) Is(target error) bool {
	return target == eventstore.ErrLogTruncated || target == eventstore.ErrUnavailable
}

// checkTruncated compares found, the last position the file holds, with
// seen, the head this store had published (appended by its writer, or read
// from the file by its watcher, and so possibly delivered to subscriptions)
// before found was read: the published head only moves forwards and only
// to committed positions, so a file that ends below it lost events. The
// first such finding is kept and logged at error level; from then on every
// append fails with it.
func (s *Store) checkTruncated(found, seen uint64) error {
	if err := s.truncated.Load(); err != nil {
		return err
	}
	if found >= seen {
		return nil
	}
	e := &truncatedError{path: s.path, found: found, seen: seen}
	if s.truncated.CompareAndSwap(nil, e) {
		slog.Error("event log truncated: events were removed from the end of the log under the running server; appends are refused",
			"file", s.path, "lastPosition", found, "highestAppendedOrRead", seen, "lost", e.lost())
		return e
	}
	return s.truncated.Load()
}
