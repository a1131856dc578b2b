package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
)

// schemaVersion is stored in PRAGMA user_version. Version 2 dropped the
// (stream, id) index of version 1: the writer's id cache does its work.
const schemaVersion = 2

// schema creates the events table, or brings an older one up to date.
// position is the rowid, assigned by the writer; (stream, revision) is
// unique and serves stream reads, heads and the id cache. data and metadata
// are raw bytes, NULL when absent; recorded_at is Unix nanoseconds, UTC.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS events (
		position    INTEGER PRIMARY KEY,
		stream      TEXT    NOT NULL,
		revision    INTEGER NOT NULL,
		id          BLOB    NOT NULL,
		type        TEXT    NOT NULL,
		data        BLOB,
		metadata    BLOB,
		recorded_at INTEGER NOT NULL,
		UNIQUE (stream, revision)
	)`,
	`DROP INDEX IF EXISTS events_stream_id`,
	// log_identity holds the log's identity (see Store.LogID): one row,
	// written when the file is created (or first opened by a build that
	// knows the table). An older build leaves the table alone.
	`CREATE TABLE IF NOT EXISTS log_identity (id TEXT NOT NULL)`,
	`PRAGMA user_version = ` + strconv.Itoa(schemaVersion),
}

// dsn is the modernc.org/sqlite data source name for the file at path (an
// absolute path). Pragmas go in the DSN so that every pooled connection gets
// them, not only the first one.
func dsn(path string, c config, write bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", c.busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if write {
		// A larger page cache keeps the index pages of busy streams in
		// memory across transactions.
		q.Add("_pragma", "cache_size(-16384)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// createSchema makes the tables if they do not exist and refuses a file
// written by a newer schema.
func createSchema(db *sql.DB) error {
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this build's %d", v, schemaVersion)
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, stmt := range schema {
		if _, err := tx.Exec(stmt); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`INSERT INTO log_identity (id) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM log_identity)`, uuid.NewString()); err != nil {
		return err
	}
	return tx.Commit()
}

// LogID is the identity of the log: a random id stored in the file when
// it was created, which a copy of the file keeps and another log never
// has. It is "" for a file opened read-only that was last written by a
// build without it.
func (s *Store) LogID(ctx context.Context) (string, error) {
	if s.closed.Load() {
		return "", eventstore.ErrClosed
	}
	var id string
	err := s.rdb.QueryRowContext(ctx, `SELECT id FROM log_identity LIMIT 1`).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil && strings.Contains(err.Error(), "no such table"):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("sqlite: log identity: %w", err)
	}
	return id, nil
}
