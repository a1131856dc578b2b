package projections

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // the embedded read-model database
)

// Dialect is the SQL flavour of a read-model database.
type Dialect int

const (
	// SQLite is the embedded default.
	SQLite Dialect = iota
	// Postgres is the scale-out read-model store.
	Postgres
)

// DB is a read-model database: a pool and its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
	// writeMu serialises this process's read-model transactions. SQLite
	// allows one writer; waiting here costs nothing, while waiting in
	// SQLite's busy handler sleeps for up to 100 ms between tries.
	writeMu sync.Mutex
}

// readPool is the number of pooled read-model connections: opening one runs
// the pragmas and reads the schema, far dearer than a query.
const readPool = 16

// OpenSQLite opens (creating) the read-model database at path. Read models
// can be rebuilt from the log, so commits need not wait for the disk
// (synchronous=NORMAL): a crash may lose the last batches, but a batch and
// its checkpoint are lost together, never one without the other.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("read models: %w", err)
	}
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("read models %s: %w", path, err)
	}
	db.SetMaxOpenConns(readPool)
	db.SetMaxIdleConns(readPool)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("read models %s: %w", path, err)
	}
	return &DB{DB: db, Dialect: SQLite}, nil
}

// Rebind turns `?` placeholders into the dialect's own.
func (d Dialect) Rebind(query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Tx is a read-model transaction. Table maps a projection's logical table
// names to the physical tables it writes now, so a rebuild can fill fresh
// tables beside the live ones and swap them in.
type Tx struct {
	*sql.Tx
	Dialect Dialect
	suffix  string
}

// Table returns the physical name of a logical table.
func (t Tx) Table(name string) string { return name + t.suffix }

// Exec runs a statement written with `?` placeholders.
func (t Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.Dialect.Rebind(query), args...)
}

// Query runs a query written with `?` placeholders.
func (t Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.Dialect.Rebind(query), args...)
}

// QueryRow runs a one-row query written with `?` placeholders.
func (t Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.Dialect.Rebind(query), args...)
}
