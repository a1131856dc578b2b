package projections

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/accessd/accessd/eventstore/sqlite"
)

// OpenSQLiteReadOnly opens the read-model database at path for reading
// only, on a filesystem that may be read-only: nothing is created, no
// table set up, no checkpoint written. Queries answer from what the file
// holds; any write fails. Run no projection over it (see
// sqlite.ReadOnlyDSN for how the file and its WAL are read).
func OpenSQLiteReadOnly(ctx context.Context, path string) (*DB, error) {
	return OpenSQLiteReadOnlyNamed(ctx, "read models", path)
}

// OpenSQLiteReadOnlyNamed is OpenSQLiteReadOnly for another database kept
// with the read models' settings (integration.db), its errors naming it
// name.
func OpenSQLiteReadOnlyNamed(ctx context.Context, name, path string) (*DB, error) {
	dsn, err := sqlite.ReadOnlyDSN(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s read-only: %w", name, path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s %s read-only: %w", name, path, err)
	}
	db.SetMaxOpenConns(readPool)
	db.SetMaxIdleConns(readPool)
	db.SetConnMaxIdleTime(0)
	// Ping opens no file; reading the schema does, and fails on a file
	// that is not a database.
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s %s read-only: %w", name, path, err)
	}
	return &DB{DB: db, Dialect: SQLite}, nil
}
