// Package kurrent is the eventstore.Store on EventStoreDB (KurrentDB),
// through the official client github.com/EventStore/EventStore-Client-Go/v4.
//
// Streams, expected revisions and event ids map one to one onto the server's
// own; positions are the server's commit positions (increasing, with gaps).
// $all reads and subscriptions leave out system events (types or streams
// starting with `$`).
package kurrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/accessd/accessd/eventstore"
)

// Store is an eventstore.Store on one EventStoreDB connection. Its methods
// are safe for concurrent use.
type Store struct {
	conf    *esdb.Configuration
	maxSize int
	// prefix, when set, is put before every stream name and keeps the store
	// to the streams that carry it (WithStreamPrefix).
	prefix string
	logger *slog.Logger

	// client is replaced when it closes itself (see renew).
	clientMu sync.Mutex
	client   *esdb.Client

	// ctx is cancelled by Close, ending every call and subscription.
	ctx    context.Context
	cancel context.CancelFunc
	// mu guards closed; ops counts calls and subscriptions under way, which
	// Close waits for before it closes the client (a client call racing
	// the client's Close can panic inside the client).
	mu     sync.RWMutex
	closed bool
	ops    sync.WaitGroup
}

var _ eventstore.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithStreamPrefix keeps the store to streams named prefix+name: every
// stream it appends to or reads gets the prefix, and $all reads and
// subscriptions see only those streams (with the prefix taken off). Several
// stores, such as tests, can so share one server without seeing each
// other's events.
func WithStreamPrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// WithMaxEventSize sets the largest data plus metadata accepted per event
// (eventstore.DefaultMaxEventSize by default); larger events are refused
// before anything is sent.
func WithMaxEventSize(n int) Option { return func(s *Store) { s.maxSize = n } }

// WithLogger sets where the client's own log lines go (slog.Default by
// default).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

// Open connects to the server at rawURL, an esdb:// or kurrentdb:// (also
// +discover) connection string such as esdb://127.0.0.1:2113?tls=false. The
// client connects lazily, so Open makes one read to fail here, clearly, on a
// bad or unreachable server (by ctx's deadline, or within probeTimeout).
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	conn, shown, err := connectionString(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Store{maxSize: eventstore.DefaultMaxEventSize, logger: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	conf, err := esdb.ParseConnectionString(conn)
	if err != nil {
		return nil, fmt.Errorf("kurrent: parse %s: %w", shown, err)
	}
	conf.Logger = clientLogger(s.logger.With("component", "esdb", "server", shown))
	client, err := esdb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("kurrent: client for %s: %w", shown, err)
	}
	s.conf, s.client = conf, client
	// The store's calls outlive Open's ctx: only Close ends them.
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.probe(ctx); err != nil {
		s.cancel()
		return nil, fmt.Errorf("kurrent: connect to %s: %w", shown, err)
	}
	return s, nil
}

// connectionString checks the scheme, rewrites kurrentdb:// to the esdb://
// the client knows, and returns the URL without its password for messages.
func connectionString(rawURL string) (conn, shown string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes the input; keep a password out of the message.
		return "", "", errors.New("kurrent: the connection string is not a URL")
	}
	shown = u.Redacted()
	switch u.Scheme {
	case "esdb", "esdb+discover":
		return rawURL, shown, nil
	case "kurrentdb", "kurrentdb+discover":
		_, rest, _ := strings.Cut(rawURL, "://")
		return "esdb" + strings.TrimPrefix(u.Scheme, "kurrentdb") + "://" + rest, shown, nil
	default:
		return "", "", fmt.Errorf("kurrent: connection string %s: scheme %q, want esdb:// or kurrentdb://", shown, u.Scheme)
	}
}

// probeTimeout bounds Open's first call when ctx has no deadline: a server
// that accepts connections but never answers fails Open quickly.
const probeTimeout = 10 * time.Second

// probe makes the first call, which has the client discover and connect to
// the server, and closes the client when it fails. It waits until ctx ends
// (after probeTimeout when ctx has no deadline) although the client's
// discovery ignores ctx (it gives up on a server that never answers after
// about 47 s): the call then goes on in the background, and closes the
// client once it returns. Closing the client earlier could panic that call
// (it may still report to the client's connection loop), so its goroutine
// and connection attempts outlive Open until then.
func (s *Store) probe(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, probeTimeout)
		defer cancel()
	}
	client := s.client
	result := make(chan error, 1)
	go func() { result <- readLast(ctx, client) }()
	select {
	case err := <-result:
		if err != nil {
			_ = client.Close()
		}
		return err
	case <-ctx.Done():
		go func() {
			<-result
			_ = client.Close()
		}()
		return fmt.Errorf("the server did not answer: %w", ctx.Err())
	}
}

// readLast reads the last event of $all.
func readLast(ctx context.Context, client *esdb.Client) error {
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return err
	}
	defer rs.Close()
	if _, err := rs.Recv(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// begin starts a call: it fails with ErrClosed after Close, and otherwise
// returns a context that Close cancels too, and a func to end the call.
func (s *Store) begin(ctx context.Context) (context.Context, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, nil, eventstore.ErrClosed
	}
	s.ops.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
		s.ops.Done()
	}, nil
}

// Close ends every call and subscription, then closes the connection. It is
// safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	s.mu.Unlock()
	s.ops.Wait()
	if err := s.conn().Close(); err != nil {
		return fmt.Errorf("kurrent: close: %w", err)
	}
	return nil
}

// isClosed reports whether Close has been called.
func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// serverName is the stream's name on the server.
func (s *Store) serverName(stream string) string { return s.prefix + stream }

// localName is the store's name of a server stream, and false for a stream
// that is not the store's: a system stream, or one without the prefix.
func (s *Store) localName(stream string) (string, bool) {
	if strings.HasPrefix(stream, "$") || !strings.HasPrefix(stream, s.prefix) {
		return "", false
	}
	return stream[len(s.prefix):], true
}

// conn is the client to make a call with.
func (s *Store) conn() *esdb.Client {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	return s.client
}

// renew replaces c, a client that answered "connection closed" although
// the store is open, with a new one. The client closes itself for good when
// it fails to rediscover the server after a lost connection (a restart
// longer than its ten quick attempts); a new client lets the store recover
// once the server is back. The old client is not closed: its connection
// loop has ended, and closing its channel would panic any call of it still
// trying to report to that loop.
func (s *Store) renew(c *esdb.Client) {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if s.client != c || s.isClosed() {
		return // already renewed, or closing
	}
	fresh, err := esdb.NewClient(s.conf)
	if err != nil {
		s.logger.Error("kurrent: cannot make a new client", "error", err)
		return
	}
	s.client = fresh
	s.logger.Warn("kurrent: the client had given up on the server; using a new one")
}
