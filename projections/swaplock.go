package projections

import (
	"context"
	"fmt"
)

// swapLockClass is the first key of the PostgreSQL advisory lock that
// orders batches and swaps; the second is the schema's hash, so read
// models in other schemas of the database do not wait on each other.
const swapLockClass = 0x5eed

// lockAgainstSwaps makes a batch transaction and a rebuild's swap exclude
// each other, as SQLite's single writer does: a batch that read the live
// checkpoint before a swap must not write after it into the swapped-in
// tables (applying twice what the rebuild applied, or moving the
// checkpoint back). Batches share the lock; a swap takes it alone, waiting
// for the batches in flight, in this process or another. On SQLite it is
// a no-op.
func lockAgainstSwaps(ctx context.Context, tx Tx, swap bool) error {
	if tx.Dialect != Postgres {
		return nil
	}
	fn := "pg_advisory_xact_lock_shared"
	if swap {
		fn = "pg_advisory_xact_lock"
	}
	if _, err := tx.Tx.ExecContext(ctx, `SELECT `+fn+`($1, hashtext(current_schema()))`, swapLockClass); err != nil {
		return fmt.Errorf("read models: swap lock: %w", err)
	}
	return nil
}
