package postgres

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
)

// TestSurvivesTerminatedConnections terminates every server connection of
// a store (its pools' and its listener's) and expects appends to work again
// (at worst after one ErrUnavailable, the retry being idempotent) and its
// subscription to get another store's events, through the reconnected
// listener or the poll.
func TestSurvivesTerminatedConnections(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	s := openURL(t, url, WithPollInterval(50*time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	other := openURL(t, url, WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	mustAppend(t, s, "s-1", eventstore.NoStream, event("E", 1))
	sub, err := s.Subscribe(ctx, 1, eventstore.Filter{})
	require.NoError(t, err)
	defer sub.Close()
	_, err = s.HeadPosition(ctx) // a read connection in the pool
	require.NoError(t, err)

	var pids []uint32
	for _, p := range []*pgxpool.Pool{s.rpool, s.wpool} {
		for _, c := range p.AcquireAllIdle(ctx) {
			pids = append(pids, c.Conn().PgConn().PID())
			c.Release()
		}
	}
	admin, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer admin.Close(context.WithoutCancel(ctx))
	// The listeners of this table (both stores'), by the last query they ran.
	rows, err := admin.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE query = $1`, "LISTEN "+pgx.Identifier{s.channel}.Sanitize())
	require.NoError(t, err)
	listeners, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
	require.NoError(t, err)
	require.NotEmpty(t, listeners, "the listener's connection")
	require.GreaterOrEqual(t, len(pids), 2, "the writer's and a reader's connection")
	for _, pid := range append(pids, listeners...) {
		_, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid)
		require.NoError(t, err)
	}

	again := event("E", 2)
	for attempt := 0; ; attempt++ {
		_, err := s.Append(ctx, "s-1", eventstore.Exact(0), again)
		if err == nil {
			break
		}
		require.ErrorIs(t, err, eventstore.ErrUnavailable)
		require.Less(t, attempt, 2, "appends fail after the connections came back: %v", err)
	}
	res := mustAppend(t, other, "s-2", eventstore.NoStream, event("E", 3))
	for want := uint64(2); want <= res.Position; want++ {
		ev, err := sub.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, want, ev.Position)
	}
}
