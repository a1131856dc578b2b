package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accessd/accessd/eventstore"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	cfg  config
	path string

	wdb *sql.DB // the writer's single connection
	rdb *sql.DB // the pool of read connections
	w   writerStmts
	r   readerStmts

	reqs      chan *appendRequest
	closing   chan struct{}
	workers   sync.WaitGroup // the writer and the head watcher
	closeOnce sync.Once
	closed    atomic.Bool

	head  atomic.Pointer[headState]
	heads headCache // the writer's
	// truncated is set, for good, once the file was found ending below
	// the published head (see checkTruncated).
	truncated atomic.Pointer[eventstore.LogTruncatedError]
	ids       *idCache // the writer's
	stats     counters
}

// Compile-time check that Store is an eventstore.Store.
var _ eventstore.Store = (*Store)(nil)

// headState is the last committed position and a channel closed when a
// later commit replaces it: the writer's broadcast to subscriptions.
type headState struct {
	pos     uint64
	changed chan struct{}
}

// Open opens the store in the SQLite file at path, creating the file, its
// parent directory and the schema if needed.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil { // sealed personal data: the owner's only
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := newStore(cfg, abs)
	if err := s.open(); err != nil {
		_ = s.closeDBs() // the open error says more
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.workers.Add(1)
	go s.runWriter()
	if cfg.pollInterval > 0 {
		s.workers.Add(1)
		go s.watchHead(cfg.pollInterval)
	}
	return s, nil
}

// newStore is a store of the file at abs, not yet connected.
func newStore(cfg config, abs string) *Store {
	return &Store{
		cfg:     cfg,
		path:    abs,
		reqs:    make(chan *appendRequest),
		closing: make(chan struct{}),
		ids:     newIDCache(cfg.maxCachedIDs),
	}
}

// open connects both pools, creates the schema, prepares the statements and
// loads the head position.
func (s *Store) open() error {
	var err error
	if s.wdb, err = sql.Open("sqlite", dsn(s.path, s.cfg, true)); err != nil {
		return err
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := createSchema(s.wdb); err != nil {
		return err
	}
	if s.rdb, err = sql.Open("sqlite", dsn(s.path, s.cfg, false)); err != nil {
		return err
	}
	s.rdb.SetMaxOpenConns(s.cfg.readConns)
	s.rdb.SetMaxIdleConns(s.cfg.readConns)
	s.rdb.SetConnMaxLifetime(0)
	s.rdb.SetConnMaxIdleTime(0)
	if err := s.w.prepare(s.wdb); err != nil {
		return err
	}
	if err := s.r.prepare(s.rdb); err != nil {
		return err
	}
	var head uint64
	if err := s.w.maxPosition.QueryRow().Scan(&head); err != nil {
		return err
	}
	s.head.Store(&headState{pos: head, changed: make(chan struct{})})
	return nil
}

// Path is the absolute path of the store's file.
func (s *Store) Path() string { return s.path }

// HeadPosition is the position of the last committed event (0 when empty).
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if s.closed.Load() {
		return 0, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.head.Load().pos, nil
}

// RefreshHead reads the position of the last event committed to the file,
// by this process or another (accessctl beside a running server), in one
// query, and publishes it as watchHead would at its next tick: the
// subscriptions waiting for it wake now. It is for a caller that needs
// another process's appends seen at once rather than within the poll
// interval (a key minted by accessctl, used at once).
func (s *Store) RefreshHead(ctx context.Context) (uint64, error) {
	if s.closed.Load() {
		return 0, eventstore.ErrClosed
	}
	var pos uint64
	seen := s.head.Load().pos // before the read, as in watchHead
	if err := s.r.maxPosition.QueryRowContext(ctx).Scan(&pos); err != nil {
		if s.closed.Load() {
			return 0, eventstore.ErrClosed
		}
		return 0, fmt.Errorf("sqlite: head position: %w", err)
	}
	// A file that ends below what this store published lost events
	// (checkTruncated): nothing is published, and the caller is told.
	if err := s.checkTruncated(pos, seen); err != nil {
		return 0, err
	}
	s.publishHead(pos)
	return s.head.Load().pos, nil
}

// publishHead records a new committed head and wakes the subscriptions
// waiting for it. The head only moves forwards, whoever publishes.
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

// watchHead publishes events that another process (accessctl beside a
// running server) appended to the file, so that subscriptions and
// HeadPosition see them within an interval rather than at this store's
// next append.
func (s *Store) watchHead(interval time.Duration) {
	defer s.workers.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		var pos uint64
		seen := s.head.Load().pos // before the read: committed, so the read sees it
		// An error here is the store closing or a failure the next read
		// or append reports; the watcher just tries again.
		if err := s.r.maxPosition.QueryRow().Scan(&pos); err == nil {
			// A file that now ends below what this store published lost
			// events: say so now, not only at the next append.
			if s.checkTruncated(pos, seen) == nil {
				s.publishHead(pos)
			}
		}
	}
}

// Close stops the writer after its current batch, ends open subscriptions
// with eventstore.ErrClosed and closes the file. Later calls return nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.closing)
		s.workers.Wait()
		err = s.closeDBs()
	})
	return err
}

func (s *Store) closeDBs() error {
	errs := []error{s.w.close(), s.r.close()}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}
