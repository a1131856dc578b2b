package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accessd/accessd/eventstore"
)

// connectTimeout bounds Open's first connection when ctx has no deadline:
// an unreachable server fails Open quickly rather than hanging.
const connectTimeout = 10 * time.Second

// Store is the PostgreSQL event store. It is safe for concurrent use, and
// several Stores (in one process or many) may share one table.
type Store struct {
	cfg     config
	url     string // redacted, for messages
	rpool   *pgxpool.Pool
	wpool   *pgxpool.Pool // the writer's single connection
	lockKey int32         // second key of the write lock: the table's oid
	channel string        // NOTIFY channel of the table

	reqs      chan *appendRequest
	closing   chan struct{}
	cancel    context.CancelFunc // ends the watcher's waits at Close
	workers   sync.WaitGroup     // the writer and the watcher
	closeOnce sync.Once
	closed    atomic.Bool

	head  atomic.Pointer[headState]
	heads headCache // the writer's
	stats counters
	// truncated is set, for good, once the table was found ending below
	// the published head (see checkTruncated).
	truncated atomic.Pointer[eventstore.LogTruncatedError]

	// readOnly: opened by OpenReadOnly, with no writer; appends fail.
	readOnly bool

	// beforeCommit, set by tests only, runs in the writer once a batch has
	// taken the write lock and numbered its events, before they are
	// written and committed.
	beforeCommit func(first, last uint64)
}

// Compile-time check that Store is an eventstore.Store.
var _ eventstore.Store = (*Store)(nil)

// headState is the last position known to be committed and a channel
// closed when a later one replaces it: the broadcast to subscriptions.
type headState struct {
	pos     uint64
	changed chan struct{}
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// keyword/value string; search_path selects the schema), creates the
// store's tables there if they are missing, and starts the writer and the
// listener. An unreachable server fails Open with an error naming the URL
// (without its password).
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	return openStore(ctx, url, false, opts)
}

// OpenReadOnly opens the store at url for reading only: it creates no
// table and writes nothing (its connections are read-only). A schema
// without the store's tables is no log and fails, naming the schema, as
// a missing file fails sqlite.OpenReadOnly. Reads and subscriptions work;
// every Append fails with ErrReadOnly.
func OpenReadOnly(ctx context.Context, url string, opts ...Option) (*Store, error) {
	return openStore(ctx, url, true, opts)
}

func openStore(ctx context.Context, url string, readOnly bool, opts []Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Store{cfg: cfg, url: redact(url), readOnly: readOnly, reqs: make(chan *appendRequest), closing: make(chan struct{})}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}
	if err := s.open(ctx, url); err != nil {
		s.closePools()
		return nil, fmt.Errorf("postgres: open %s: %w", s.url, err)
	}
	// The goroutines outlive Open's ctx: they end at Close. The writer's
	// batches are not cancelled by Close, which waits for the current one.
	base := context.WithoutCancel(ctx)
	wctx, cancel := context.WithCancel(base)
	s.cancel = cancel
	s.workers.Add(1)
	go s.watch(wctx)
	if !readOnly {
		s.workers.Add(1)
		go s.runWriter(base)
	}
	return s, nil
}

// open connects the pools, creates the tables (finds them, read-only) and
// loads the head.
func (s *Store) open(ctx context.Context, url string) error {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	pc.MaxConns = s.cfg.maxConns
	if s.readOnly {
		pc.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if s.rpool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return err
	}
	if err := s.rpool.Ping(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	var oid uint32
	if s.readOnly {
		oid, err = existingSchema(ctx, s.rpool)
	} else {
		wc := pc.Copy()
		wc.MaxConns, wc.MinConns = 1, 0
		if s.wpool, err = pgxpool.NewWithConfig(ctx, wc); err != nil {
			return err
		}
		oid, err = createSchema(ctx, s.wpool)
	}
	if err != nil {
		return err
	}
	s.lockKey = int32(oid) // the bits of the oid; only equality matters
	s.channel = "es_events_" + strconv.FormatUint(uint64(oid), 10)
	var head uint64
	if err := s.rpool.QueryRow(ctx, qMaxPosition).Scan(&head); err != nil {
		return err
	}
	s.head.Store(&headState{pos: head, changed: make(chan struct{})})
	return nil
}

// HeadPosition is the position of the last committed event (0 when
// empty), appended by this process or any other.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if s.closed.Load() {
		return 0, eventstore.ErrClosed
	}
	var pos uint64
	if err := s.rpool.QueryRow(ctx, qMaxPosition).Scan(&pos); err != nil {
		return 0, s.readErr(ctx, "head position", err)
	}
	s.publishHead(pos)
	return pos, nil
}

// publishHead records a position known to be committed and wakes the
// subscriptions waiting for it. The head only moves forwards.
func (s *Store) publishHead(pos uint64) {
	for {
		old := s.head.Load()
		if pos <= old.pos {
			return
		}
		if s.head.CompareAndSwap(old, &headState{pos: pos, changed: make(chan struct{})}) {
			close(old.changed)
			return
		}
	}
}

// Close stops the writer after its current batch and the listener, ends
// open subscriptions with eventstore.ErrClosed and closes the connections.
// Later calls return nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.closing)
		s.cancel()
		s.workers.Wait()
		s.closePools()
	})
	return nil
}

func (s *Store) closePools() {
	if s.rpool != nil {
		s.rpool.Close()
	}
	if s.wpool != nil {
		s.wpool.Close()
	}
}

// checkTruncated compares found, the table's last position, with seen, the
// head this store had published (committed by its writer, or read from the
// table, and so possibly delivered to subscriptions) before found was read:
// the published head only moves forwards and only to committed positions,
// so a table that ends below it lost events to someone else's DELETE. The
// writer assigns the last position plus one, so appending again would take
// the removed positions anew and leave no gap for verify to find. The first
// such finding is kept and logged at error level; from then on every append
// fails with it (eventstore.ErrLogTruncated), until the store is closed.
func (s *Store) checkTruncated(found, seen uint64) error {
	if err := s.truncated.Load(); err != nil {
		return err
	}
	if found >= seen {
		return nil
	}
	e := &eventstore.LogTruncatedError{Log: "es_events at " + s.url, Found: found, Seen: seen}
	if s.truncated.CompareAndSwap(nil, e) {
		s.cfg.logger.Error("event log truncated: events were removed from the end of the log under the running server; appends are refused",
			"url", s.url, "lastPosition", found, "highestAppendedOrRead", seen, "lost", e.Lost())
		return e
	}
	return s.truncated.Load()
}

// Truncated is the error every append fails with since the store found its
// table ending below a position it had appended or read (see
// eventstore.ErrLogTruncated), nil while it has not: for health checks.
func (s *Store) Truncated() error {
	if e := s.truncated.Load(); e != nil {
		return e
	}
	return nil
}
