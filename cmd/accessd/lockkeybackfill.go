package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/projections"
)

// backfillsTable records, in the read-model database (shared by every
// server of a data set), the one-off backfills that completed, so that a
// later start skips them with one query. A read-model database made anew
// (a replay) lacks the rows: each backfill then runs once more, which is
// harmless, as every backfill is safe to run again.
const backfillsTable = "backfills_completed"

// backfillMarkers are commands.BackfillMarkers kept in backfillsTable.
type backfillMarkers struct{ db *projections.DB }

func (m backfillMarkers) ensure(ctx context.Context) error {
	return m.db.Update(ctx, func(tx projections.Tx) error {
		return tx.Write(ctx, `CREATE TABLE IF NOT EXISTS `+backfillsTable+` (
			name TEXT PRIMARY KEY,
			completed_at TEXT NOT NULL
		)`)
	})
}

// Completed reports whether the backfill name completed.
func (m backfillMarkers) Completed(ctx context.Context, name string) (bool, error) {
	if err := m.ensure(ctx); err != nil {
		return false, fmt.Errorf("backfills: %w", err)
	}
	var at string
	err := m.db.QueryRowContext(ctx, m.db.Dialect.Rebind(`SELECT completed_at FROM `+backfillsTable+` WHERE name = ?`), name).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("backfill %s: %w", name, err)
	}
	return true, nil
}

// MarkCompleted records that the backfill name completed (the first
// completion's time stays).
func (m backfillMarkers) MarkCompleted(ctx context.Context, name string, at time.Time) error {
	if err := m.ensure(ctx); err != nil {
		return fmt.Errorf("backfills: %w", err)
	}
	err := m.db.Update(ctx, func(tx projections.Tx) error {
		return tx.Write(ctx, `INSERT INTO `+backfillsTable+` (name, completed_at) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`, name, at.UTC().Format(time.RFC3339Nano))
	})
	if err != nil {
		return fmt.Errorf("backfill %s: %w", name, err)
	}
	return nil
}

// lockKeyBackfillLease is the lease the lock key backfill runs under, so
// that servers sharing a data set do not all walk the log at once (the
// claims would be right without it: see commands.LockKeyBackfill).
const lockKeyBackfillLease = "lockkey-backfill"

// runLockKeyBackfill claims the public keys of the locks provisioned
// before keys were claimed, once per data set (commands.LockKeyBackfill),
// in the background: requests do not wait for it. It returns at once when
// a previous start recorded its completion; otherwise it runs under its
// lease, again after an error, until it completes or ctx ends (a stop: the
// next start runs it again). After completing it gives the lease up.
func runLockKeyBackfill(ctx context.Context, leases projections.Leaser, service *commands.Service, readDB *projections.DB, log *slog.Logger) {
	markers := backfillMarkers{readDB}
	if done, err := markers.Completed(ctx, commands.LockKeyBackfillName); err == nil && done {
		return
	}
	backfill, err := commands.NewLockKeyBackfill(service, log)
	if err != nil {
		log.Error("lock key backfill", "err", err)
		return
	}
	// runLeased runs its work again until its ctx ends: ending it once the
	// backfill completed makes it run once.
	once, completed := context.WithCancel(ctx)
	defer completed()
	runLeased(once, leases, lockKeyBackfillLease, log, func(ctx context.Context) error {
		if _, err := backfill.Run(ctx, markers); err != nil {
			if ctx.Err() != nil {
				log.Info("lock key backfill: stopped before completing; it runs again at the next start")
				return nil
			}
			return err
		}
		completed()
		return nil
	})
}
