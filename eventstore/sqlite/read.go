package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/accessd/accessd/eventstore"
)

// readerStmts are the fixed read queries, prepared once on the read pool.
type readerStmts struct {
	maxPosition     *sql.Stmt
	streamForwards  *sql.Stmt
	streamBackwards *sql.Stmt
	streamExists    *sql.Stmt
	allAfter        *sql.Stmt
	window          *sql.Stmt
}

const (
	qMaxPosition     = `SELECT COALESCE(MAX(position), 0) FROM events`
	qStreamForwards  = `SELECT ` + columns + ` FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`
	qStreamBackwards = `SELECT ` + columns + ` FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`
	qStreamExists    = `SELECT 1 FROM events WHERE stream = ? LIMIT 1`
	qAllAfter        = `SELECT ` + columns + ` FROM events WHERE position > ?`
	qWindow          = `SELECT ` + columns + ` FROM events WHERE position > ? AND position <= ?`
	qOrderLimit      = ` ORDER BY position LIMIT ?`
	qOrder           = ` ORDER BY position`
)

func (r *readerStmts) prepare(db *sql.DB) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&r.maxPosition, qMaxPosition},
		{&r.streamForwards, qStreamForwards},
		{&r.streamBackwards, qStreamBackwards},
		{&r.streamExists, qStreamExists},
		{&r.allAfter, qAllAfter + qOrderLimit},
		{&r.window, qWindow + qOrder},
	} {
		st, err := db.Prepare(p.query)
		if err != nil {
			return err
		}
		*p.stmt = st
	}
	return nil
}

func (r *readerStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{r.maxPosition, r.streamForwards, r.streamBackwards, r.streamExists, r.allAfter, r.window} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// ReadStream returns events of one stream in the given direction, from
// opts.From inclusive, at most opts.Max of them (0: no limit). A stream with
// no events is eventstore.ErrStreamNotFound.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.RecordedEvent, error) {
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	limit := int64(-1)
	if opts.Max > 0 {
		limit = int64(opts.Max)
	}
	var events []eventstore.RecordedEvent
	var err error
	switch opts.Direction {
	case eventstore.Forwards:
		if opts.From <= math.MaxInt64 {
			events, err = s.query(ctx, s.r.streamForwards, nil, stream, int64(opts.From), limit)
		}
	case eventstore.Backwards:
		events, err = s.query(ctx, s.r.streamBackwards, nil, stream, clamp(opts.From), limit)
	default:
		return nil, fmt.Errorf("sqlite: read %s: unknown direction %d", stream, opts.Direction)
	}
	if err != nil {
		return nil, s.readErr(ctx, "read "+stream, err)
	}
	if len(events) > 0 {
		return events, nil
	}
	var one int
	switch err := s.r.streamExists.QueryRowContext(ctx, stream).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: read %s: %w", stream, eventstore.ErrStreamNotFound)
	case err != nil:
		return nil, s.readErr(ctx, "read "+stream, err)
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
		return nil, fmt.Errorf("sqlite: read $all: max must be positive, got %d", max)
	}
	if after > math.MaxInt64 {
		return nil, nil
	}
	var (
		events []eventstore.RecordedEvent
		err    error
	)
	if !filtered(filter) {
		events, err = s.query(ctx, s.r.allAfter, nil, int64(after), max)
	} else {
		cond, args := filterSQL(filter)
		args = append(append([]any{int64(after)}, args...), max)
		events, err = s.queryText(ctx, qAllAfter+cond+qOrderLimit, filter.Match, args...)
	}
	if err != nil {
		return nil, s.readErr(ctx, "read $all", err)
	}
	return events, nil
}

// query runs a prepared read and scans its events.
func (s *Store) query(ctx context.Context, st *sql.Stmt, keep func(string, string) bool, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return newScanner().scanAll(rows, nil, keep)
}

// queryText runs an ad-hoc read (a filtered one) and scans its events.
func (s *Store) queryText(ctx context.Context, q string, keep func(string, string) bool, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return newScanner().scanAll(rows, nil, keep)
}

func clamp(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
