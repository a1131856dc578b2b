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
func Checkpoints(ctx context.Context, db *DB) (map[string]Checkpoint, error) {
	out := map[string]Checkpoint{}
	err := inDBTx(ctx, db, "", func(tx Tx) error {
		if err := ensureCheckpointTable(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT name, version, position FROM `+checkpointTable)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Checkpoint
			var pos int64
			if err := rows.Scan(&c.Name, &c.Version, &pos); err != nil {
				return err
			}
			c.Position = uint64(pos)
			out[c.Name] = c
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	return out, nil
}
