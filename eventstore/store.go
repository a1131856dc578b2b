// Package eventstore is the contract of accessd's append-only event log.
//
// It follows EventStoreDB semantics so that the embedded SQLite store, the
// PostgreSQL store and EventStoreDB itself are interchangeable: one stream per
// aggregate, optimistic concurrency by expected revision, event ids as
// idempotency keys, and a global order ($all) that never changes once written.
package eventstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// DefaultMaxEventSize is the largest event (data plus metadata) a backend
// accepts unless configured otherwise.
const DefaultMaxEventSize = 1 << 20

// EventData is an event about to be appended.
type EventData struct {
	// ID is the idempotency key: appending an event whose id already sits in
	// the stream at the expected place is a no-op that reports success.
	ID       uuid.UUID
	Type     string
	Data     json.RawMessage
	Metadata json.RawMessage
}

// RecordedEvent is an event as the log holds it.
type RecordedEvent struct {
	ID   uuid.UUID
	Type string
	// Stream is the name of the stream, `<category>-<id>`.
	Stream string
	// Revision is the event's 0-based place in its stream.
	Revision uint64
	// Position is the event's place in $all: strictly increasing, never 0,
	// possibly with gaps (EventStoreDB), fixed once written.
	Position   uint64
	RecordedAt time.Time
	Data       json.RawMessage
	Metadata   json.RawMessage
}

// AppendResult says where an append left the stream.
type AppendResult struct {
	// NextExpectedRevision is the revision of the stream's last event after
	// the append: pass Exact(NextExpectedRevision) to append after it.
	NextExpectedRevision uint64
	// Position is the $all position of the last event of the append (for an
	// idempotent no-op, of the event already stored).
	Position uint64
}

// Direction of a stream read.
type Direction int

const (
	// Forwards reads from older to newer events.
	Forwards Direction = iota
	// Backwards reads from newer to older events.
	Backwards
)

// StreamEnd, as a ReadStream From, starts a backwards read at the last event.
const StreamEnd = ^uint64(0)

// ReadStreamOptions selects a slice of one stream.
type ReadStreamOptions struct {
	Direction Direction
	// From is the first revision returned (inclusive). Forwards: 0 is the
	// start. Backwards: StreamEnd is the last event.
	From uint64
	// Max is the most events returned; 0 means no limit.
	Max int
}

// Filter narrows a read or subscription of $all. Empty fields match all.
type Filter struct {
	// EventTypes keeps only events whose type is one of these exact names.
	EventTypes []string
	// StreamPrefixes keeps only events whose stream name starts with one of
	// these prefixes (`lock-` for every lock stream).
	StreamPrefixes []string
}

// Match reports whether ev passes the filter.
func (f Filter) Match(stream, eventType string) bool {
	if len(f.EventTypes) > 0 {
		ok := false
		for _, t := range f.EventTypes {
			if t == eventType {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.StreamPrefixes) > 0 {
		for _, p := range f.StreamPrefixes {
			if len(stream) >= len(p) && stream[:len(p)] == p {
				return true
			}
		}
		return false
	}
	return true
}

// Store is the event log. Every backend passes eventstore/storetest.
type Store interface {
	// Append atomically appends events to stream if its current revision
	// satisfies expected; otherwise it returns a *WrongExpectedVersionError
	// (errors.Is ErrWrongExpectedVersion). Appending zero events only checks
	// expected. Invalid or oversized events fail the whole append
	// (ErrInvalidEvent, ErrEventTooLarge) before anything is stored.
	//
	// Event ids are idempotency keys, as in EventStoreDB. With Exact(r) or
	// NoStream (r = -1) on a stream whose last revision is not r: if
	// revisions r+1 … r+n already hold exactly these ids in this order, the
	// append is a no-op that succeeds and reports those events; otherwise it
	// is a wrong expected version. With Any or StreamExists: if the first id
	// is already in the stream and the following revisions hold the rest in
	// order, the append is the same no-op.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)

	// ReadStream returns events of one stream in the given direction. A
	// stream with no events returns ErrStreamNotFound.
	ReadStream(ctx context.Context, stream string, opts ReadStreamOptions) ([]RecordedEvent, error)

	// ReadAll returns up to max events of $all (max > 0) whose position is
	// strictly after `after`, in position order, that pass filter.
	ReadAll(ctx context.Context, after uint64, max int, filter Filter) ([]RecordedEvent, error)

	// Subscribe delivers every event of $all strictly after `after` that
	// passes filter, in position order: first those already stored, then
	// live ones as they are appended, never skipping or repeating one.
	Subscribe(ctx context.Context, after uint64, filter Filter) (Subscription, error)

	// HeadPosition is the position of the last event in $all (0 when empty).
	HeadPosition(ctx context.Context) (uint64, error)

	// Close releases the store. Appends and reads after Close fail with
	// ErrClosed; open subscriptions end with ErrClosed.
	Close() error
}

// Subscription is a catch-up-then-live stream of $all events.
type Subscription interface {
	// Next blocks until the next event, ctx is done, or the subscription
	// fails (ErrClosed once the store or the subscription is closed).
	Next(ctx context.Context) (RecordedEvent, error)
	// Close ends the subscription; it is safe to call more than once.
	Close() error
}

// Identified is a Store whose log has an identity: a random id the log
// holds from its creation, the same for every process and every copy of
// that log and different for any other log. Read models record the
// identity of the log they were built from, so that a server refuses to
// run them over another log.
type Identified interface {
	// LogID is the log's identity, or "" when the log holds none (a log
	// created by an older build and opened read-only).
	LogID(ctx context.Context) (string, error)
}

// LogID is s's identity when its backend keeps one (see Identified), else "".
func LogID(ctx context.Context, s Store) (string, error) {
	if i, ok := s.(Identified); ok {
		return i.LogID(ctx)
	}
	return "", nil
}
