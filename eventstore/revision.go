package eventstore

import "fmt"

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

// ExpectedRevision is the optimistic-concurrency condition of an append.
type ExpectedRevision struct {
	kind     expectKind
	revision uint64
}

var (
	// Any appends whatever the stream's state.
	Any = ExpectedRevision{kind: expectAny}
	// NoStream appends only if the stream has no events.
	NoStream = ExpectedRevision{kind: expectNoStream}
	// StreamExists appends only if the stream has at least one event.
	StreamExists = ExpectedRevision{kind: expectStreamExists}
)

// Exact appends only if the stream's last event has this revision.
func Exact(revision uint64) ExpectedRevision {
	return ExpectedRevision{kind: expectExact, revision: revision}
}

// IsAny, IsNoStream, IsStreamExists and Revision let backends translate the
// condition to their own terms.

// IsAny reports whether the condition is Any.
func (e ExpectedRevision) IsAny() bool { return e.kind == expectAny }

// IsNoStream reports whether the condition is NoStream.
func (e ExpectedRevision) IsNoStream() bool { return e.kind == expectNoStream }

// IsStreamExists reports whether the condition is StreamExists.
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }

// Revision returns the exact revision and true, or false for the other kinds.
func (e ExpectedRevision) Revision() (uint64, bool) {
	return e.revision, e.kind == expectExact
}

// Satisfied reports whether a stream whose last revision is current (-1 for
// no stream) meets the condition.
func (e ExpectedRevision) Satisfied(current int64) bool {
	switch e.kind {
	case expectNoStream:
		return current < 0
	case expectStreamExists:
		return current >= 0
	case expectExact:
		return current >= 0 && uint64(current) == e.revision
	default:
		return true
	}
}

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectNoStream:
		return "no-stream"
	case expectStreamExists:
		return "stream-exists"
	case expectExact:
		return fmt.Sprintf("%d", e.revision)
	default:
		return "any"
	}
}
