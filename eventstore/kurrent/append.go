package kurrent

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/accessd/accessd/eventstore"
)

// Append implements eventstore.Store. Events are checked here, before
// anything is sent; the expected revision and the idempotency of event ids
// are the server's own, which the contract copies.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events, s.maxSize); err != nil {
		return eventstore.AppendResult{}, err
	}
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	defer end()
	if len(events) == 0 {
		return s.check(ctx, stream, expected)
	}
	proposed := make([]esdb.EventData, len(events))
	for i, ev := range events {
		proposed[i] = esdb.EventData{
			EventID: ev.ID, EventType: ev.Type, ContentType: esdb.ContentTypeJson,
			Data: ev.Data, Metadata: ev.Metadata,
		}
	}
	var res *esdb.WriteResult
	err = s.call(ctx, fmt.Sprintf("append %d events to %s", len(events), stream), func(c *esdb.Client) error {
		var err error
		res, err = c.AppendToStream(ctx, s.serverName(stream), esdb.AppendToStreamOptions{ExpectedRevision: expectedOf(expected)}, proposed...)
		return err
	})
	if err != nil {
		// A wrong expected version is an answer, not a failure; the
		// client's error is still found inside the wrapped one.
		if code, ok := clientCode(err); ok && code == esdb.ErrorCodeWrongExpectedVersion {
			return eventstore.AppendResult{}, s.wrongVersion(ctx, stream, expected, err)
		}
		return eventstore.AppendResult{}, err
	}
	out := eventstore.AppendResult{NextExpectedRevision: res.NextExpectedVersion, Position: res.CommitPosition}
	if out.Position == 0 {
		// An idempotent retry is answered with the revision of the events
		// already stored but no position: read it from the last of them.
		ev, err := s.eventAt(ctx, stream, res.NextExpectedVersion)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("kurrent: position of %s@%d after an idempotent append: %w", stream, res.NextExpectedVersion, err)
		}
		out.Position = ev.Position
	}
	return out, nil
}

// expectedOf translates an expected revision to the client's.
func expectedOf(e eventstore.ExpectedRevision) esdb.ExpectedRevision {
	if r, ok := e.Revision(); ok {
		return esdb.Revision(r)
	}
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	default:
		return esdb.Any{}
	}
}

// wrongVersion builds the store's error from the server's answer. The
// client keeps the stream's actual revision only in its message; if that
// ever changes shape, the stream's last event says it instead.
func (s *Store) wrongVersion(ctx context.Context, stream string, expected eventstore.ExpectedRevision, err error) error {
	actual, ok := actualOf(err)
	if !ok {
		last, found, lerr := s.last(ctx, stream)
		if lerr != nil {
			return fmt.Errorf("kurrent: append to %s: %w (reading its revision: %v)", stream, eventstore.ErrWrongExpectedVersion, lerr)
		}
		actual = -1
		if found {
			actual = int64(last.Revision)
		}
	}
	return &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: actual}
}

// check is an append of no events: it only compares expected with the
// stream's last revision, which needs no write.
func (s *Store) check(ctx context.Context, stream string, expected eventstore.ExpectedRevision) (eventstore.AppendResult, error) {
	last, found, err := s.last(ctx, stream)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	current := int64(-1)
	if found {
		current = int64(last.Revision)
	}
	if !expected.Satisfied(current) {
		return eventstore.AppendResult{}, &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: current}
	}
	if !found {
		return eventstore.AppendResult{}, nil
	}
	return eventstore.AppendResult{NextExpectedRevision: last.Revision, Position: last.Position}, nil
}

// last is the stream's last event; found is false when it has none.
func (s *Store) last(ctx context.Context, stream string) (ev eventstore.RecordedEvent, found bool, err error) {
	evs, err := s.readStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 1})
	switch {
	case errors.Is(err, eventstore.ErrStreamNotFound):
		return ev, false, nil
	case err != nil:
		return ev, false, err
	case len(evs) == 0:
		return ev, false, nil
	}
	return evs[0], true, nil
}

// eventAt is the stream's event at revision.
func (s *Store) eventAt(ctx context.Context, stream string, revision uint64) (eventstore.RecordedEvent, error) {
	evs, err := s.readStream(ctx, stream, eventstore.ReadStreamOptions{From: revision, Max: 1})
	if err != nil {
		return eventstore.RecordedEvent{}, err
	}
	if len(evs) == 0 || evs[0].Revision != revision {
		return eventstore.RecordedEvent{}, fmt.Errorf("kurrent: %s has no event at revision %d", stream, revision)
	}
	return evs[0], nil
}
