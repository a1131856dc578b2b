package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaVersion is the version of the tables this build writes, kept in
// es_schema; a store refuses tables of a newer version.
const schemaVersion = 1

// Advisory lock spaces (the first key of the two-key form), so that the
// store's locks do not collide with other users of advisory locks.
const (
	// ddlLockSpace serializes schema creation per schema: the second key is
	// hashtext(current_schema()).
	ddlLockSpace int32 = 0x61636364 // "accd"
	// writeLockSpace serializes position assignment per events table: the
	// second key is the table's oid.
	writeLockSpace int32 = 0x61637772 // "acwr"
)

// schema creates the tables. position is assigned by the writer under the
// write lock; (stream, revision) is unique and serves stream reads and
// heads; (stream, id) serves the idempotency checks. stream uses the C
// collation so that comparisons and prefixes are byte-wise. data and
// metadata are the bytes as appended (bytea, NULL when absent), never
// re-encoded.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS es_events (
		position    bigint      PRIMARY KEY CHECK (position > 0),
		stream      text        COLLATE "C" NOT NULL,
		revision    bigint      NOT NULL CHECK (revision >= 0),
		id          uuid        NOT NULL,
		type        text        NOT NULL,
		data        bytea,
		metadata    bytea,
		recorded_at timestamptz NOT NULL,
		UNIQUE (stream, revision)
	)`,
	`CREATE INDEX IF NOT EXISTS es_events_stream_id ON es_events (stream, id)`,
	`CREATE TABLE IF NOT EXISTS es_schema (version integer NOT NULL)`,
	`INSERT INTO es_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM es_schema)`,
	// es_log holds the log's identity (see Store.LogID): one row, written
	// with the tables (or by the first build that knows the table).
	`CREATE TABLE IF NOT EXISTS es_log (id text NOT NULL)`,
}

// createSchema makes the tables in the connection's current schema if they
// are missing, under an advisory lock so that processes starting at once do
// not race on CREATE (which is not safe concurrently even with IF NOT
// EXISTS), and returns the events table's oid.
func createSchema(ctx context.Context, pool *pgxpool.Pool) (uint32, error) {
	// Tables of this version already there: no DDL, which would need the
	// CREATE privilege on the schema even with IF NOT EXISTS.
	var (
		oid     *uint32
		version *int
	)
	var identified bool
	err := pool.QueryRow(ctx, `SELECT to_regclass(quote_ident(current_schema()) || '.es_events')::oid,
		to_regclass(quote_ident(current_schema()) || '.es_log') IS NOT NULL`).Scan(&oid, &identified)
	if err != nil {
		return 0, err
	}
	if oid != nil {
		// An error here (no es_schema) leaves it to the DDL.
		err := pool.QueryRow(ctx, `SELECT max(version) FROM es_schema`).Scan(&version)
		if err == nil && version != nil && *version == schemaVersion {
			if identified {
				return *oid, nil
			}
			// Tables of a build before es_log: give the log its
			// identity. A user without the CREATE privilege keeps a
			// working log without one (LogID is "").
			if created, err := createTables(ctx, pool); err == nil {
				return created, nil
			}
			return *oid, nil
		}
	}
	return createTables(ctx, pool)
}

// existingSchema returns the events table's oid without creating
// anything, for OpenReadOnly: a schema without the table holds no log.
func existingSchema(ctx context.Context, pool *pgxpool.Pool) (uint32, error) {
	var (
		current *string
		oid     *uint32
		version *int
	)
	err := pool.QueryRow(ctx, `SELECT current_schema(), to_regclass(quote_ident(current_schema()) || '.es_events')::oid`).Scan(&current, &oid)
	switch {
	case err != nil:
		return 0, err
	case current == nil:
		return 0, errors.New("no schema of the search_path exists")
	case oid == nil:
		return 0, fmt.Errorf("no event log in schema %s (no table es_events)", *current)
	}
	if err := pool.QueryRow(ctx, `SELECT max(version) FROM es_schema`).Scan(&version); err != nil {
		return 0, fmt.Errorf("schema %s: %w", *current, err)
	}
	if version != nil && *version > schemaVersion {
		return 0, fmt.Errorf("schema %s has version %d, newer than this build's %d", *current, *version, schemaVersion)
	}
	return *oid, nil
}

// createTables runs the DDL under the schema's advisory lock.
func createTables(ctx context.Context, pool *pgxpool.Pool) (uint32, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	var current *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
		return 0, err
	}
	if current == nil {
		return 0, errors.New("no schema of the search_path exists")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, ddlLockSpace); err != nil {
		return 0, fmt.Errorf("lock schema %s: %w", *current, err)
	}
	for _, stmt := range schema {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return 0, fmt.Errorf("create tables in schema %s: %w", *current, err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO es_log (id) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM es_log)`, uuid.NewString()); err != nil {
		return 0, fmt.Errorf("create tables in schema %s: %w", *current, err)
	}
	var version int
	if err := tx.QueryRow(ctx, `SELECT max(version) FROM es_schema`).Scan(&version); err != nil {
		return 0, err
	}
	switch {
	case version > schemaVersion:
		return 0, fmt.Errorf("schema %s has version %d, newer than this build's %d", *current, version, schemaVersion)
	case version < schemaVersion:
		if _, err := tx.Exec(ctx, `UPDATE es_schema SET version = $1`, schemaVersion); err != nil {
			return 0, err
		}
	}
	var oid uint32
	err = tx.QueryRow(ctx, `SELECT to_regclass(quote_ident(current_schema()) || '.es_events')::oid`).Scan(&oid)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && oid == 0) {
		return 0, errors.New("es_events is missing after creating it")
	}
	if err != nil {
		return 0, err
	}
	return oid, tx.Commit(ctx)
}

// LogID is the identity of the log: a random id stored with the tables
// when they were created. It is "" for tables opened read-only that were
// last set up by a build without it.
func (s *Store) LogID(ctx context.Context) (string, error) {
	var exists bool
	if err := s.rpool.QueryRow(ctx, `SELECT to_regclass(quote_ident(current_schema()) || '.es_log') IS NOT NULL`).Scan(&exists); err != nil {
		return "", fmt.Errorf("postgres: log identity: %w", err)
	}
	if !exists {
		return "", nil
	}
	var id string
	err := s.rpool.QueryRow(ctx, `SELECT id FROM es_log LIMIT 1`).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: log identity: %w", err)
	}
	return id, nil
}
