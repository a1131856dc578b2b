package sqlite

import (
	"context"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// appendRequest is one Append call handed to the writer.
type appendRequest struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
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
// holding the events is synced to disk, grouped with concurrent appends.
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
	start := time.Now()
	req := &appendRequest{ctx: ctx, stream: stream, expected: expected, events: events, reply: make(chan appendReply, 1)}
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
		if s.cfg.observer != nil {
			s.cfg.observer(rep.stored, time.Since(start))
		}
		return rep.result, rep.err
	case <-ctx.Done():
		// The append may still be committed: like any lost reply, the
		// caller retries with the same event ids, which is idempotent.
		return eventstore.AppendResult{}, ctx.Err()
	}
}
