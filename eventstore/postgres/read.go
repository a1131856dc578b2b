package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/accessd/accessd/eventstore"
)

// ReadStream returns events of one stream in the given direction, from
// opts.From inclusive, at most opts.Max of them (0: no limit). A stream with
// no events is eventstore.ErrStreamNotFound.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.RecordedEvent, error) {
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	var limit any // NULL: no limit
	if opts.Max > 0 {
		limit = int64(opts.Max)
	}
	var (
		events []eventstore.RecordedEvent
		err    error
	)
	switch opts.Direction {
	case eventstore.Forwards:
		if opts.From <= math.MaxInt64 {
			events, err = s.query(ctx, nil, qStreamForwards, stream, int64(opts.From), limit)
		}
	case eventstore.Backwards:
		events, err = s.query(ctx, nil, qStreamBackwards, stream, int64(min(opts.From, math.MaxInt64)), limit)
	default:
		return nil, fmt.Errorf("postgres: read %s: unknown direction %d", stream, opts.Direction)
	}
	if err != nil {
		return nil, s.readErr(ctx, "read "+stream, err)
	}
	if len(events) > 0 {
		return events, nil
	}
	var exists bool
	if err := s.rpool.QueryRow(ctx, qStreamExists, stream).Scan(&exists); err != nil {
		return nil, s.readErr(ctx, "read "+stream, err)
	}
	if !exists {
		return nil, fmt.Errorf("postgres: read %s: %w", stream, eventstore.ErrStreamNotFound)
	}
	return events, nil
}

// ReadAll returns up to max events of $all after position `after` that pass
// filter, in position order.
func (s *Store) ReadAll(ctx context.Context, after uint64, max int, filter eventstore.Filter) ([]eventstore.RecordedEvent, error) {
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	if max <= 0 {
		return nil, fmt.Errorf("postgres: read $all: max must be positive, got %d", max)
	}
	if after > math.MaxInt64 {
		return nil, nil
	}
	cond, fargs := filterSQL(filter, 3)
	args := append([]any{int64(after), max}, fargs...)
	events, err := s.query(ctx, nil, qAllAfter+cond+qOrder+` LIMIT $2`, args...)
	if err != nil {
		return nil, s.readErr(ctx, "read $all", err)
	}
	return events, nil
}

// query runs a read on the pool and appends its events to into.
func (s *Store) query(ctx context.Context, into []eventstore.RecordedEvent, sql string, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := s.rpool.Query(ctx, sql, args...)
	if err != nil {
		return into, err
	}
	return scanEvents(rows, into)
}

// scanEvents reads rows of columns into RecordedEvents. data and metadata
// come back as stored: nil when absent, the appended bytes otherwise.
func scanEvents(rows pgx.Rows, into []eventstore.RecordedEvent) ([]eventstore.RecordedEvent, error) {
	var (
		ev            eventstore.RecordedEvent
		position, rev int64
		id            pgtype.UUID // binary; uuid.UUID would be scanned as text
		at            time.Time
	)
	dest := []any{&position, &ev.Stream, &rev, &id, &ev.Type, &ev.Data, &ev.Metadata, &at}
	_, err := pgx.ForEachRow(rows, dest, func() error {
		ev.ID, ev.Position, ev.Revision, ev.RecordedAt = id.Bytes, uint64(position), uint64(rev), at.UTC()
		into = append(into, ev)
		ev.Data, ev.Metadata = nil, nil
		return nil
	})
	return into, err
}

// filterSQL renders f as conditions (each starting with " AND ") on
// parameters numbered from first, and their arguments.
func filterSQL(f eventstore.Filter, first int) (string, []any) {
	var (
		cond string
		args []any
	)
	if len(f.EventTypes) > 0 {
		cond += fmt.Sprintf(qTypeIn, first+len(args))
		args = append(args, f.EventTypes)
	}
	if len(f.StreamPrefixes) > 0 {
		cond += fmt.Sprintf(qPrefixIn, first+len(args))
		args = append(args, f.StreamPrefixes)
	}
	return cond, args
}
