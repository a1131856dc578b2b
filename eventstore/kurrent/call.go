package kurrent

import (
	"context"
	"errors"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// call runs fn with the client and turns its error into the store's terms
// (storeError). When the connection turns out to be lost (a server restart,
// a leader change), the client reconnects on its next call, so fn runs once
// more: safe for reads, and for appends because event ids make a repeated
// append a no-op.
func (s *Store) call(ctx context.Context, what string, fn func(c *esdb.Client) error) error {
	c := s.conn()
	err := fn(c)
	if err != nil && lostConnection(err) && ctx.Err() == nil && !s.isClosed() {
		s.logger.Debug("kurrent: connection lost; trying once more", "call", what, "error", err)
		c = s.conn()
		err = fn(c)
	}
	if err != nil {
		return s.storeError(ctx, c, what, err)
	}
	return nil
}

// lostConnection reports whether err says the server could not be reached.
// A call whose connection broke while the client was sending its request
// fails with a bare io.EOF (the client never reads the call's status).
func lostConnection(err error) bool {
	if errors.Is(err, io.EOF) {
		return true
	}
	code, ok := clientCode(err)
	return ok && (code == esdb.ErrorUnavailable || code == esdb.ErrorCodeConnectionClosed)
}
