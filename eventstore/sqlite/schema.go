package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
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
	return tx.Commit()
}
