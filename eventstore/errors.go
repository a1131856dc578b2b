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
	// were removed from the end of the log under it (another process wrote
	// the file). The store refuses to append again, so that nothing is
	// written over the hole; an operator must investigate. The errors that
	// wrap it also wrap ErrUnavailable.
	ErrLogTruncated = errors.New("event log truncated: events this server appended or read are no longer in the log")
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
