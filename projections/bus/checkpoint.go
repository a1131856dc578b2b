package bus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/accessd/accessd/projections"
)

// CheckpointTable holds, per forwarder, the $all position of the last event
// it published. It records what has left the system, which the log cannot
// tell again: it lives in the database the forwarder is given, which on
// SQLite is the integration database (integration.db), not the rebuildable
// read models, and on PostgreSQL the read-model database. It is written on
// its own: a publish and a row cannot share a transaction, so the row
// follows the publish (at-least-once). It is written through DB.Update.
const CheckpointTable = "bus_checkpoints"

// SetupCheckpoints creates the checkpoint table in db if missing.
func SetupCheckpoints(ctx context.Context, db *projections.DB) error {
	err := db.Update(ctx, func(tx projections.Tx) error {
		return tx.Write(ctx, `CREATE TABLE IF NOT EXISTS `+CheckpointTable+` (
			name TEXT PRIMARY KEY,
			position BIGINT NOT NULL
		)`)
	})
	if err != nil {
		return fmt.Errorf("bus checkpoints: %w", err)
	}
	return nil
}

// readCheckpoint returns the stored position, 0 for a forwarder that never ran.
func readCheckpoint(ctx context.Context, db *projections.DB, name string) (uint64, error) {
	var pos int64
	err := db.QueryRowContext(ctx, db.Dialect.Rebind(`SELECT position FROM `+CheckpointTable+` WHERE name = ?`), name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bus checkpoint %s: %w", name, err)
	}
	return uint64(pos), nil
}

// writeCheckpoint stores position unless a later one is stored: a second
// forwarder that overlapped (two processes) never moves it back.
func writeCheckpoint(ctx context.Context, db *projections.DB, name string, position uint64) error {
	err := db.Update(ctx, func(tx projections.Tx) error {
		return tx.Write(ctx, `INSERT INTO `+CheckpointTable+` (name, position) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET position = excluded.position
			WHERE `+CheckpointTable+`.position < excluded.position`, name, int64(position))
	})
	if err != nil {
		return fmt.Errorf("bus checkpoint %s: %w", name, err)
	}
	return nil
}

// Checkpoints returns every forwarder's stored position by name; none when
// no forwarder ever ran on db. It only reads.
func Checkpoints(ctx context.Context, db *projections.DB) (map[string]uint64, error) {
	out := map[string]uint64{}
	exists, err := projections.TableExists(ctx, db, CheckpointTable)
	if err != nil || !exists {
		if err != nil {
			err = fmt.Errorf("bus checkpoints: %w", err)
		}
		return out, err
	}
	rows, err := db.QueryContext(ctx, `SELECT name, position FROM `+CheckpointTable)
	if err != nil {
		return nil, fmt.Errorf("bus checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			pos  int64
		)
		if err := rows.Scan(&name, &pos); err != nil {
			return nil, fmt.Errorf("bus checkpoints: %w", err)
		}
		out[name] = uint64(pos)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bus checkpoints: %w", err)
	}
	return out, nil
}
