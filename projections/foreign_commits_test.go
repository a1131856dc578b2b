package projections

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestForeignCommitsCountWritesThatBypassTheWriter pins the signal the
// bus's and the webhooks' tests rely on: a commit on a pooled connection
// is counted (it empties the writer's page cache), one through Update is
// not, and neither is a read.
func TestForeignCommitsCountWritesThatBypassTheWriter(t *testing.T) {
	ctx := context.Background()
	db := openTestSQLite(t)
	insert := func(tx Tx) error { return tx.Write(ctx, `INSERT INTO notes (body) VALUES ('x')`) }

	require.NoError(t, db.Update(ctx, func(tx Tx) error {
		return tx.Write(ctx, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	}))
	for range 3 {
		require.NoError(t, db.Update(ctx, insert))
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&n))
	}
	require.Zero(t, db.ForeignCommits(), "writes through Update and reads on the pool")

	_, err := db.ExecContext(ctx, `INSERT INTO notes (body) VALUES ('bypass')`)
	require.NoError(t, err)
	require.NoError(t, db.Update(ctx, insert))
	require.Equal(t, uint64(1), db.ForeignCommits(), "a commit on a pooled connection")

	require.NoError(t, db.Update(ctx, insert))
	require.Equal(t, uint64(1), db.ForeignCommits())
}

// Another process's commit (accessctl's rebuild swapping tables in) is
// counted by the checkpointer's next tick even while this process writes
// nothing, so the lock cache (Changes) stops serving what it kept.
func TestForeignCommitsNoticedWhileIdle(t *testing.T) {
	ctx := context.Background()
	db := openTestSQLite(t)
	require.NotNil(t, db.checkpoints, "a writable SQLite database has its checkpointer")
	require.NoError(t, db.Update(ctx, func(tx Tx) error {
		return tx.Write(ctx, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	}))
	require.Zero(t, db.ForeignCommits())
	_, err := db.ExecContext(ctx, `INSERT INTO notes (body) VALUES ('another process')`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return db.ForeignCommits() == 1 }, 5*time.Second, 10*time.Millisecond,
		"no writer transaction ran, only the checkpointer's ticks")
}
