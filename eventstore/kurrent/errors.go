package kurrent

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/accessd/accessd/eventstore"
)

// clientCode is the code of an error of the client, found through any
// wrapping (esdb.FromError sees only an unwrapped one, and calls any other
// error unknown).
func clientCode(err error) (esdb.ErrorCode, bool) {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

// storeError turns a failed call of client c into the store's terms, with
// what was being done as context: ErrClosed once the store is closed, the
// caller's context error when it ended, ErrStreamNotFound, and
// ErrUnavailable for a server that cannot be reached or answered late.
func (s *Store) storeError(ctx context.Context, c *esdb.Client, what string, err error) error {
	switch {
	case s.isClosed():
		return fmt.Errorf("kurrent: %s: %w", what, eventstore.ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("kurrent: %s: %w", what, ctx.Err())
	}
	code, _ := clientCode(err)
	if code == esdb.ErrorCodeConnectionClosed {
		s.renew(c)
	}
	switch {
	case code == esdb.ErrorCodeResourceNotFound:
		return fmt.Errorf("kurrent: %s: %w", what, eventstore.ErrStreamNotFound)
	case lostConnection(err), code == esdb.ErrorCodeDeadlineExceeded, code == esdb.ErrorCodeNotLeader, code == esdb.ErrorAborted:
		return fmt.Errorf("kurrent: %s: %w: %w", what, eventstore.ErrUnavailable, err)
	default:
		return fmt.Errorf("kurrent: %s: %w", what, err)
	}
}

// currentRevision is the stream's revision the client puts in the message
// of a wrong expected version (`expecting '…' but got '…'`), the only place
// it keeps it: -1 for no_stream.
var currentRevision = regexp.MustCompile(`but got '([^']*)'`)

func actualOf(err error) (int64, bool) {
	m := currentRevision.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	if m[1] == "no_stream" {
		return -1, true
	}
	n, perr := strconv.ParseInt(m[1], 10, 64)
	return n, perr == nil
}
