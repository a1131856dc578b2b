package postgres

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/accessd/accessd/eventstore"
)

// appendRequest is one Append call handed to the writer.
type appendRequest struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	size     int              // bytes of data and metadata
	reply    chan appendReply // buffered: the writer never blocks on it
}

// appendReply is the writer's answer to one appendRequest.
type appendReply struct {
	result eventstore.AppendResult
	stored int // events written by this request (0 for a no-op)
	err    error
}

// Append appends events to stream if its revision satisfies expected, with
// the semantics of eventstore.Store.Append. It returns once the transaction
// holding the events is committed, grouped with concurrent appends.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if s.closed.Load() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.ValidateAppend(stream, events, s.cfg.maxEventSize); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := validText(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.readOnly {
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %s: %w", s.url, ErrReadOnly)
	}
	req := &appendRequest{ctx: ctx, stream: stream, expected: expected, events: events, reply: make(chan appendReply, 1)}
	for _, ev := range events {
		req.size += len(ev.Data) + len(ev.Metadata)
	}
	select {
	case s.reqs <- req:
	case <-s.closing:
		return eventstore.AppendResult{}, eventstore.ErrClosed
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
	// The writer answers every request it has taken, even while closing.
	select {
	case rep := <-req.reply:
		return rep.result, rep.err
	case <-ctx.Done():
		// The append may still be committed: like any lost reply, the
		// caller retries with the same event ids, which is idempotent.
		return eventstore.AppendResult{}, ctx.Err()
	}
}

// validText refuses stream names and event types PostgreSQL's text cannot
// hold (invalid UTF-8, NUL), before they reach a batch whose other appends
// they would fail.
func validText(stream string, events []eventstore.EventData) error {
	bad := func(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }
	if bad(stream) {
		return fmt.Errorf("stream name %q is not UTF-8 text: %w", stream, eventstore.ErrInvalidEvent)
	}
	for _, ev := range events {
		if bad(ev.Type) {
			return fmt.Errorf("event %s of %s: type %q is not UTF-8 text: %w", ev.ID, stream, ev.Type, eventstore.ErrInvalidEvent)
		}
	}
	return nil
}
