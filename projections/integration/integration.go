// Package integration keeps the state of what has left the system: how far
// the bus forwarder has published the log (bus.CheckpointTable) and which
// events were delivered to which webhook (webhooks.DeliveriesTable). The
// log cannot tell either again, so, unlike the read models, this state is
// not rebuildable: lost, every event of $all is published to the bus
// again and delivered again to every webhook that takes it.
//
// With SQLite read models it has a file of its own in the data directory,
// File, so that deleting the rebuildable readmodels.db loses none of it.
// With PostgreSQL read models it stays in the read-model database (one
// database to run and back up; nobody drops it to rebuild).
package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/webhooks"
)

// File is the integration database's name in the data directory.
const File = "integration.db"

// dbName names the integration database in errors.
const dbName = "integration database"

// tables are the integration tables, each with the conflict clause that
// merges a row moved from an earlier version's read models into a table
// that may hold it already: the row already there is the newer one, but a
// checkpoint never moves back.
var tables = []struct{ name, onConflict string }{
	{bus.CheckpointTable, `ON CONFLICT (name) DO UPDATE SET position = excluded.position
		WHERE ` + bus.CheckpointTable + `.position < excluded.position`},
	{webhooks.DeliveriesTable, `ON CONFLICT (delivery_id) DO NOTHING`},
}

// Open opens (creating, readable by its owner only) the SQLite integration
// database at path, with the read models' settings (WAL), and creates its
// tables. legacy, when not nil, is the SQLite read-model database, where
// versions before the integration database kept these tables: their rows
// move to the integration database first (see Move), so that an upgrade
// publishes and delivers nothing again.
func Open(ctx context.Context, path string, legacy *projections.DB) (*projections.DB, int64, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", dbName, path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", dbName, path, err)
	}
	// SQLite gives the -wal and -shm files the mode of the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", dbName, path, err)
	}
	f.Close()
	db, err := projections.OpenSQLiteNamed(ctx, dbName, abs)
	if err != nil {
		return nil, 0, err
	}
	if err := Setup(ctx, db); err != nil {
		db.Close()
		return nil, 0, err
	}
	var moved int64
	if legacy != nil {
		if moved, err = Move(ctx, legacy, db); err != nil {
			db.Close()
			return nil, 0, err
		}
	}
	return db, moved, nil
}

// Setup creates the integration tables in db if missing.
func Setup(ctx context.Context, db *projections.DB) error {
	if err := bus.SetupCheckpoints(ctx, db); err != nil {
		return err
	}
	return webhooks.SetupDeliveries(ctx, db)
}

// Move moves the integration tables' rows from the SQLite database from
// (the read models of an earlier version) to to, which holds the tables
// (Setup): every row is copied in one transaction of to, merged with what
// to holds already (see tables), then the tables are dropped from from.
// Stopped in between, it copies again at the next call, to the same
// result. It answers how many rows it copied; a from without the tables
// moves nothing.
func Move(ctx context.Context, from, to *projections.DB) (int64, error) {
	if from == to || from.Dialect != projections.SQLite {
		return 0, nil
	}
	var present []string
	for _, t := range tables {
		ok, err := hasTable(ctx, from, t.name)
		if err != nil {
			return 0, fmt.Errorf("integration: move from the read models: %w", err)
		}
		if ok {
			present = append(present, t.name)
		}
	}
	if len(present) == 0 {
		return 0, nil
	}
	var moved int64
	err := to.Update(ctx, func(tx projections.Tx) error {
		moved = 0
		for _, t := range tables {
			if !slices.Contains(present, t.name) {
				continue
			}
			n, err := copyRows(ctx, from, tx, t.name, t.onConflict)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			moved += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("integration: move from the read models: %w", err)
	}
	err = from.Update(ctx, func(tx projections.Tx) error {
		for _, name := range present {
			if err := tx.Write(ctx, `DROP TABLE IF EXISTS `+name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return moved, fmt.Errorf("integration: drop the moved tables from the read models: %w", err)
	}
	return moved, nil
}

// copyRows copies every row of table from from into tx, in the columns
// both have: a table of an earlier version may lack some, which then take
// their defaults, as that version's upgrade would have given them.
func copyRows(ctx context.Context, from *projections.DB, tx projections.Tx, table, onConflict string) (int64, error) {
	src, err := columns(func(q string) (*sql.Rows, error) { return from.QueryContext(ctx, q) }, table)
	if err != nil {
		return 0, err
	}
	dst, err := columns(func(q string) (*sql.Rows, error) { return tx.Query(ctx, q) }, table)
	if err != nil {
		return 0, err
	}
	var cols []string
	for _, c := range src {
		if slices.Contains(dst, c) {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		return 0, errors.New("no column in common")
	}
	list := strings.Join(cols, ", ")
	rows, err := from.QueryContext(ctx, `SELECT `+list+` FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	insert := `INSERT INTO ` + table + ` (` + list + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `) ` + onConflict
	var n int64
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if err := tx.Write(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// columns are the lower-cased column names of table.
func columns(query func(string) (*sql.Rows, error), table string) ([]string, error) {
	rows, err := query(`SELECT * FROM ` + table + ` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		names[i] = strings.ToLower(n)
	}
	return names, rows.Err()
}

// hasTable reports whether the SQLite database db has table.
func hasTable(ctx context.Context, db *projections.DB, table string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n)
	return n > 0, err
}

// Exists reports whether the integration database at path exists (a
// read-only server opens it only then; see OpenReadOnly). A file that
// cannot be looked at (a permission refused) is an error, not an absence:
// reading the deliveries from elsewhere would hide why.
func Exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("%s %s: %w", dbName, path, err)
	}
}

// OpenReadOnly opens the integration database at path for reading only,
// creating and writing nothing (projections.OpenSQLiteReadOnly).
func OpenReadOnly(ctx context.Context, path string) (*projections.DB, error) {
	return projections.OpenSQLiteReadOnlyNamed(ctx, dbName, path)
}
