package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// checkpointTable holds, per projection, the version its tables were built
// with and the $all position of the last event it has seen.
const checkpointTable = "projection_checkpoints"

func ensureCheckpointTable(ctx context.Context, tx Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+checkpointTable+` (
		name TEXT PRIMARY KEY,
		version INTEGER NOT NULL,
		position BIGINT NOT NULL
	)`)
	return err
}

// readCheckpoint returns the stored version and position; found is false for
// a projection that never ran.
func readCheckpoint(ctx context.Context, tx Tx, name string) (version int, position uint64, found bool, err error) {
	return queryCheckpoint(ctx, tx, name, "")
}

// claimCheckpoint is readCheckpoint for a transaction that will apply
// events and move the checkpoint. On PostgreSQL it locks the row until the
// transaction ends: a second runner of the projection (another server that
// took the lease over while this one, cut off from its lease, still ran a
// batch) then waits, reads the position this batch committed, and skips
// what it applied, so no event is applied twice. On SQLite the write
// transaction already excludes every other writer.
func claimCheckpoint(ctx context.Context, tx Tx, name string) (version int, position uint64, found bool, err error) {
	if tx.Dialect != Postgres {
		return readCheckpoint(ctx, tx, name)
	}
	return queryCheckpoint(ctx, tx, name, " FOR UPDATE")
}

func queryCheckpoint(ctx context.Context, tx Tx, name, lock string) (version int, position uint64, found bool, err error) {
	var pos int64
	err = tx.QueryRow(ctx, `SELECT version, position FROM `+checkpointTable+` WHERE name = ?`+lock, name).Scan(&version, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return version, uint64(pos), true, nil
}

func writeCheckpoint(ctx context.Context, tx Tx, name string, version int, position uint64) error {
	err := tx.Write(ctx, `INSERT INTO `+checkpointTable+` (name, version, position) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position`,
		name, version, int64(position))
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return nil
}

// dropTables removes a projection's physical tables.
func dropTables(ctx context.Context, tx Tx, p Projection) error {
	for _, t := range p.Tables() {
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+tx.Table(t)); err != nil {
			return fmt.Errorf("reset %s: %w", p.Name(), err)
		}
	}
	return nil
}
