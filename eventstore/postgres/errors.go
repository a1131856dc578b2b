package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"

	"github.com/accessd/accessd/eventstore"
)

// ErrReadOnly: the store was opened with OpenReadOnly, so appends fail. It
// wraps eventstore.ErrUnavailable, so callers answer 503.
var ErrReadOnly = fmt.Errorf("%w: opened read-only", eventstore.ErrUnavailable)

// unavailable wraps a storage failure so that callers can match
// eventstore.ErrUnavailable (and answer 503) without parsing pgx errors.
func unavailable(op string, err error) error {
	return fmt.Errorf("postgres: %s: %w: %v", op, eventstore.ErrUnavailable, err)
}

// readErr classifies an error of a read: the store was closed under it, the
// caller's ctx ended, or the storage failed.
func (s *Store) readErr(ctx context.Context, op string, err error) error {
	switch {
	case s.closed.Load():
		return fmt.Errorf("postgres: %s: %w", op, eventstore.ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("postgres: %s: %w", op, ctx.Err())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("postgres: %s: %w", op, err)
	default:
		return unavailable(op, err)
	}
}

var (
	// dsnPassword finds the password of a keyword/value connection string.
	dsnPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	// urlPassword finds the password of a URL that net/url cannot parse.
	urlPassword = regexp.MustCompile(`(://[^:/@]*:)[^@]*@`)
)

// redact returns the connection string with its password masked, for
// messages and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return urlPassword.ReplaceAllString(dsnPassword.ReplaceAllString(raw, "password=xxxxx"), "${1}xxxxx@")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
