package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/accessd/accessd/eventstore"
)

// unavailable wraps a storage failure so that callers can match
// eventstore.ErrUnavailable (and answer 503) without parsing SQLite errors.
func unavailable(op string, err error) error {
	return fmt.Errorf("sqlite: %s: %w: %v", op, eventstore.ErrUnavailable, err)
}

// readErr classifies an error of a read: the store was closed under it, the
// caller's ctx ended, or the storage failed.
func (s *Store) readErr(ctx context.Context, op string, err error) error {
	switch {
	case s.closed.Load():
		return fmt.Errorf("sqlite: %s: %w", op, eventstore.ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("sqlite: %s: %w", op, ctx.Err())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sqlite: %s: %w", op, err)
	default:
		return unavailable(op, err)
	}
}
