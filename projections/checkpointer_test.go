package projections

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openWithWALLimits opens a SQLite read-model database whose checkpointer
// keeps limits; it is closed when t ends.
func openWithWALLimits(t *testing.T, limits walLimits) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "readmodels.db")
	db, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.checkpoints.close()
	if db.checkpoints, err = startCheckpointer(db, path, limits); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// TestWALStaysBoundedUnderContinuousWrites writes without a pause, with
// readers running, for longer than the checkpointer's tick many times over:
// a background checkpoint never finishes while the writer keeps appending,
// so without the checkpointer taking the writer's turn the WAL would grow
// with every batch.
func TestWALStaysBoundedUnderContinuousWrites(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Limits this test outgrows within its run many times over.
	limits := walLimits{every: 100 * time.Millisecond, maxFrames: 4096}
	db, path := openWithWALLimits(t, limits)
	if _, err := db.ExecContext(ctx, `CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	readers := make(chan struct{})
	go func() {
		defer close(readers)
		for ctx.Err() == nil {
			var n int
			_ = db.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&n)
		}
	}()

	const pageFrame = 4096 + 24 // a WAL frame: a page and its header
	written := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		err := inDBTx(ctx, db, "", func(tx Tx) error {
			for range 8 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (body) VALUES (randomblob(3000))`); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		written += 8
		// Keep the table small: the WAL, not the database, is under test.
		if written%4000 == 0 {
			if err := inDBTx(ctx, db, "", func(tx Tx) error {
				_, err := tx.ExecContext(ctx, `DELETE FROM blobs`)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cancel()
	<-readers

	info, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	frames := info.Size() / pageFrame
	t.Logf("%d rows of 3,000 bytes written; WAL at most %d frames", written, frames)
	if limit := int64(3 * limits.maxFrames); frames > limit {
		t.Fatalf("WAL grew to %d frames (%d bytes), over %d", frames, info.Size(), limit)
	}
}

// TestClosingTwiceIsSafe: a deferred Close after an explicit one (a
// shutdown path and a test's cleanup, say) must not panic on the
// checkpointer's channel.
func TestClosingTwiceIsSafe(t *testing.T) {
	db, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close() // database/sql's own second Close answers nil; it must not panic
}

// TestWALFileShrinksAfterABigTransaction: one transaction far over the
// limit (a rebuild's) grows the WAL file; once the checkpointer has
// started it over, the next commit cuts the file back to the limit
// instead of leaving it at its largest for good. The checkpointer's tick
// never comes in the test: its checkpoint is run by hand.
func TestWALFileShrinksAfterABigTransaction(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	limits := walLimits{every: time.Hour, maxFrames: 256}
	db, path := openWithWALLimits(t, limits)
	insert := func(rows int) {
		t.Helper()
		if err := inDBTx(ctx, db, "", func(tx Tx) error {
			for range rows {
				if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (body) VALUES (randomblob(3000))`); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	walSize := func() int64 {
		t.Helper()
		info, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	insert(3000) // about 2,300 frames, nine times the limit
	grown := walSize()
	limit := limits.walBytes()
	if grown <= limit {
		t.Fatalf("the big transaction left a WAL of %d bytes, not over the limit %d", grown, limit)
	}
	db.checkpoints.checkpoint() // over the limit: a restarting checkpoint
	insert(1)                   // the first commit after it
	if size := walSize(); size > limit {
		t.Fatalf("the WAL file stayed at %d bytes (limit %d, %d after the big transaction)", size, limit, grown)
	}
}
