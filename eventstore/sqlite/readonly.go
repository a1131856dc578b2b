package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/accessd/accessd/eventstore"
)

// ErrReadOnly: the store was opened with OpenReadOnly, so appends fail. It
// wraps eventstore.ErrUnavailable, so callers answer 503.
var ErrReadOnly = fmt.Errorf("%w: opened read-only", eventstore.ErrUnavailable)

// ReadOnlyDSN is the database/sql name that reads the SQLite database at
// path on a read-only filesystem, where SQLite can create neither the -wal
// nor the -shm file of a WAL database.
//
// After a clean close the -wal file is gone and every commit is in the
// database file: it is opened immutable=1, without locks or a wal-index.
// After a crash the -wal file may hold commits the database file lacks:
// immutable=1 would silently ignore them, so the database is opened
// mode=ro, which reads the WAL through the existing -shm file. Without
// that -shm file SQLite cannot read the WAL read-only, and ReadOnlyDSN
// fails naming the file and what to do.
func ReadOnlyDSN(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", err
	}
	q := url.Values{}
	q.Add("_pragma", "query_only(1)")
	wal, err := os.Stat(abs + "-wal")
	_, shmErr := os.Stat(abs + "-shm")
	switch {
	case (errors.Is(err, fs.ErrNotExist) || err == nil && wal.Size() == 0) && errors.Is(shmErr, fs.ErrNotExist):
		// Nothing beyond the database file, and no wal-index: no process
		// has it open, so it cannot change under us. (A running writer
		// keeps its -shm, and its checkpoints can leave the -wal empty:
		// read that through the WAL and its locks, below.)
		q.Set("immutable", "1")
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", err
	default:
		if err := shmErr; err != nil {
			return "", fmt.Errorf("%s-wal may hold commits not yet in %s (the last stop was not clean), "+
				"and SQLite cannot read it on a read-only filesystem without %s-shm (%v): "+
				"make the directory writable and start accessd once, which folds the WAL into the database, "+
				"then stop it cleanly", abs, filepath.Base(abs), filepath.Base(abs), err)
		}
		// The WAL and its index exist: a read-only connection reads them
		// without writing.
		q.Set("mode", "ro")
		q.Add("_pragma", "busy_timeout(5000)")
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String(), nil
}

// OpenReadOnly opens the store at path for reading only, on a filesystem
// that may be read-only: nothing is created or written, not even the
// schema. Reads and subscriptions work on what the file holds; every
// Append fails with ErrReadOnly.
func OpenReadOnly(path string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	// Nothing else writes a file on a read-only filesystem, so there is
	// nothing to watch for.
	cfg.pollInterval = 0
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", path, err)
	}
	s := newStore(cfg, abs)
	if err := s.openReadOnly(); err != nil {
		_ = s.closeDBs() // the open error says more
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", path, err)
	}
	s.workers.Add(1)
	go s.refuseAppends()
	return s, nil
}

// openReadOnly connects the read pool only, checks the schema without
// creating it and loads the head position.
func (s *Store) openReadOnly() error {
	name, err := ReadOnlyDSN(s.path)
	if err != nil {
		return err
	}
	if s.rdb, err = sql.Open("sqlite", name); err != nil {
		return err
	}
	s.rdb.SetMaxOpenConns(s.cfg.readConns)
	s.rdb.SetMaxIdleConns(s.cfg.readConns)
	s.rdb.SetConnMaxLifetime(0)
	s.rdb.SetConnMaxIdleTime(0)
	var v int
	if err := s.rdb.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this build's %d", v, schemaVersion)
	}
	if err := s.r.prepare(s.rdb); err != nil {
		return err
	}
	var head uint64
	if err := s.r.maxPosition.QueryRow().Scan(&head); err != nil {
		return err
	}
	s.head.Store(&headState{pos: head, changed: make(chan struct{})})
	return nil
}

// refuseAppends stands in for the writer of a read-only store: it answers
// every append with ErrReadOnly until the store closes.
func (s *Store) refuseAppends() {
	defer s.workers.Done()
	for {
		select {
		case <-s.closing:
			return
		case req := <-s.reqs:
			req.reply <- appendReply{err: fmt.Errorf("sqlite: append to %s: %w", s.path, ErrReadOnly)}
		}
	}
}
