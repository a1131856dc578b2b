package eventstore

import (
	"errors"
	"fmt"
)

var (
	// ErrWrongExpectedVersion matches every *WrongExpectedVersionError.
	ErrWrongExpectedVersion = errors.New("wrong expected version")
	// ErrStreamNotFound is returned when reading a stream that has no events.
	ErrStreamNotFound = errors.New("stream not found")
	// ErrEventTooLarge is returned when an event's data plus metadata exceed
	// the backend's size limit; nothing of that append is stored.
	ErrEventTooLarge = errors.New("event too large")
	// ErrInvalidEvent is returned for an event with no id, no type, or data
	// or metadata that is not JSON; nothing of that append is stored.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrClosed is returned by a store or subscription after Close.
	ErrClosed = errors.New("event store closed")
	// ErrUnavailable wraps failures of the storage underneath (disk full,
	// read-only, connection lost): the append may be retried later.
	ErrUnavailable = errors.New("event store unavailable")
	// ErrLogTruncated is returned by every append of a store that found its
	// log ending below a position it had already appended or read: events
	// were removed from the end of the log under it. The store refuses to
	// append again, so that nothing is written over the hole; an operator
	// must investigate. See LogTruncatedError, which also matches
	// ErrUnavailable.
	ErrLogTruncated = errors.New("event log truncated")
)

// WrongExpectedVersionError says that a stream was not at the revision an
// append expected. Actual is the stream's last revision, -1 for no stream.
type WrongExpectedVersionError struct {
	Stream   string
	Expected ExpectedRevision
	Actual   int64
}

func (e *WrongExpectedVersionError) Error() string {
	actual := "no stream"
	if e.Actual >= 0 {
		actual = fmt.Sprintf("revision %d", e.Actual)
	}
	return fmt.Sprintf("append to %s: expected %s, stream is at %s: %v", e.Stream, e.Expected, actual, ErrWrongExpectedVersion)
}

// Is makes errors.Is(err, ErrWrongExpectedVersion) true.
func (e *WrongExpectedVersionError) Is(target error) bool { return target == ErrWrongExpectedVersion }

// LogTruncatedError is what every append of a store gets once the store
// found its log ending below a position it had already appended, or read
// (and so possibly handed to subscriptions): events were removed from the
// end of the log by someone else. A store assigns the last position plus
// one, so appending again would take the removed positions anew and leave
// no gap to show the removal; it refuses instead. It matches
// ErrLogTruncated and ErrUnavailable (a 503).
type LogTruncatedError struct {
	Log   string // the file or table, for the message
	Found uint64 // the log's last position when the loss was seen
	Seen  uint64 // the highest position the store had appended or read
}

func (e *LogTruncatedError) Error() string {
	verb := "were"
	if e.Seen == e.Found+1 {
		verb = "was"
	}
	return fmt.Sprintf("%v: %s ends at position %d, but this server had already appended or read up to position %d: "+
		"%s %s removed by someone else; appends are refused so that nothing is written over them (%v); "+
		"an operator must investigate: stop the server and keep the log as evidence",
		ErrLogTruncated, e.Log, e.Found, e.Seen, e.Lost(), verb, ErrUnavailable)
}

// Lost names the removed positions.
func (e *LogTruncatedError) Lost() string {
	if e.Seen == e.Found+1 {
		return fmt.Sprintf("position %d", e.Seen)
	}
	return fmt.Sprintf("positions %d to %d", e.Found+1, e.Seen)
}

// Is makes errors.Is match ErrLogTruncated and ErrUnavailable.
func (e *LogTruncatedError) Is(target error) bool {
	return target == ErrLogTruncated || target == ErrUnavailable
}
