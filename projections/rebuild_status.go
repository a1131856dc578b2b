package projections

import (
	"context"
	"fmt"
)

// Checkpoint is one stored row of projection_checkpoints.
type Checkpoint struct {
	Name     string
	Version  int
	Position uint64
}

// Checkpoints returns every stored checkpoint by name, live ones (`P`)
// and rebuilds in progress (`P__rebuild`); none before any projection ran.
// It only reads: it neither creates the table nor takes the write lock, so
// it works on read models opened read-only and beside a running server.
func Checkpoints(ctx context.Context, db *DB) (map[string]Checkpoint, error) {
	out := map[string]Checkpoint{}
	exists, err := checkpointTableExists(ctx, db)
	if err != nil || !exists {
		return out, err
	}
	rows, err := db.QueryContext(ctx, `SELECT name, version, position FROM `+checkpointTable)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Checkpoint
		var pos int64
		if err := rows.Scan(&c.Name, &c.Version, &pos); err != nil {
			return nil, fmt.Errorf("checkpoints: %w", err)
		}
		c.Position = uint64(pos)
		out[c.Name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	return out, nil
}

// checkpointTableExists reports whether a projection ever ran on db (the
// table is created with the first checkpoint), in the schema the
// connection's search_path names on PostgreSQL.
func checkpointTableExists(ctx context.Context, db *DB) (bool, error) {
	exists, err := TableExists(ctx, db, checkpointTable)
	if err != nil {
		return false, fmt.Errorf("checkpoints: %w", err)
	}
	return exists, nil
}

// TableExists reports whether db has table, in the schema the
// connection's search_path names on PostgreSQL. It only reads.
func TableExists(ctx context.Context, db *DB, table string) (bool, error) {
	query := `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?`
	if db.Dialect == Postgres {
		query = `SELECT to_regclass($1) IS NOT NULL`
	}
	var exists bool
	if err := db.QueryRowContext(ctx, query, table).Scan(&exists); err != nil {
		return false, err
	}
	return exists, nil
}
