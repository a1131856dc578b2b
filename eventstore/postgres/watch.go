package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// watch is the watcher goroutine: it keeps a connection LISTENing on the
// table's channel and publishes the last position whenever a batch of any
// process commits, and at every poll interval in any case, so that a lost
// notification or a listener that is reconnecting delays subscriptions by
// at most the interval.
func (s *Store) watch(ctx context.Context) {
	defer s.workers.Done()
	var (
		conn   *pgx.Conn
		broken bool // the listener failed; logged once until it is back
	)
	defer func() { closeConn(ctx, conn) }()
	for ctx.Err() == nil {
		if conn == nil {
			var err error
			switch conn, err = s.listen(ctx); {
			case err != nil && ctx.Err() == nil && !broken:
				broken = true
				s.cfg.logger.Warn("postgres event store: cannot listen for appends; polling until it can", "url", s.url, "err", err)
			case err == nil && broken:
				broken = false
				s.cfg.logger.Info("postgres event store: listening for appends again", "url", s.url)
			}
		}
		if conn != nil {
			known, err := s.waitNotification(ctx, conn)
			if err == nil && known {
				continue
			}
			if err != nil {
				if ctx.Err() == nil {
					broken = true
					s.cfg.logger.Warn("postgres event store: listener lost; polling until it reconnects", "url", s.url, "err", err)
				}
				closeConn(ctx, conn)
				conn = nil
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.cfg.pollInterval):
			}
		}
		if ctx.Err() != nil {
			return
		}
		var pos uint64
		seen := s.head.Load().pos // before the read: committed, so the read sees it
		// An error here is the store closing or a failure the next read
		// or append reports; the watcher tries again at the next turn.
		if err := s.rpool.QueryRow(ctx, qMaxPosition).Scan(&pos); err == nil {
			// A table that now ends below what this store published lost
			// events: say so now, not only at the next append.
			if s.checkTruncated(pos, seen) == nil {
				s.publishHead(pos)
			}
		}
	}
}

// listen opens the watcher's own connection (not the pool's: it stays in
// LISTEN) and subscribes to the table's channel.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.rpool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		closeConn(ctx, conn)
		return nil, err
	}
	return conn, nil
}

// waitNotification returns after a notification (and those already queued
// behind it) or the poll interval; known is true when every notification
// was of a position already published (this store's own commits), which
// needs no read. An error means the connection is lost.
func (s *Store) waitNotification(ctx context.Context, conn *pgx.Conn) (known bool, err error) {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.pollInterval)
	defer cancel()
	n, err := conn.WaitForNotification(wctx)
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && !conn.IsClosed():
		return false, nil // the poll
	default:
		return false, err
	}
	// One read of the position covers every notification already here.
	drained, cancel2 := context.WithCancel(ctx)
	cancel2()
	var last uint64
	for n != nil {
		if pos, err := strconv.ParseUint(n.Payload, 10, 64); err == nil && pos > last {
			last = pos
		} else if err != nil {
			last = ^uint64(0) // not ours to parse: read
		}
		n, _ = conn.WaitForNotification(drained)
	}
	return last <= s.head.Load().pos, nil
}

// closeConn closes the listener's connection, waiting a few seconds at most
// for a server that does not answer.
func closeConn(ctx context.Context, conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
