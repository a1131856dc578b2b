package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
)

// tablesIn counts the tables of the schema url's connections use.
func tablesIn(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&n))
	return n
}

// OpenReadOnly creates nothing: on a schema without the store's tables it
// fails saying there is no log there (as sqlite.OpenReadOnly does for a
// missing file) and leaves the schema empty; on a log it reads what is
// there and refuses appends.
func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	_, err := OpenReadOnly(t.Context(), url)
	require.ErrorContains(t, err, "no event log in schema")
	assert.Zero(t, tablesIn(t, url), "a read-only open created tables")

	w, err := Open(t.Context(), url)
	require.NoError(t, err)
	defer w.Close()
	res := mustAppend(t, w, "s-1", eventstore.NoStream, event("E", 1))
	tables := tablesIn(t, url)

	r, err := OpenReadOnly(t.Context(), url)
	require.NoError(t, err)
	defer r.Close()
	head, err := r.HeadPosition(t.Context())
	require.NoError(t, err)
	assert.Equal(t, res.Position, head)
	got, err := r.ReadStream(t.Context(), "s-1", eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	_, err = r.Append(t.Context(), "s-2", eventstore.NoStream, event("E", 2))
	require.ErrorIs(t, err, ErrReadOnly)
	require.ErrorIs(t, err, eventstore.ErrUnavailable)
	_, err = r.ReadStream(t.Context(), "s-2", eventstore.ReadStreamOptions{})
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)
	assert.Equal(t, tables, tablesIn(t, url))

	// Another process's appends reach its subscriptions (its listener
	// works on read-only connections).
	sub, err := r.Subscribe(t.Context(), res.Position, eventstore.Filter{})
	require.NoError(t, err)
	defer sub.Close()
	next := mustAppend(t, w, "s-1", eventstore.Exact(0), event("E", 3))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ev, err := sub.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, next.Position, ev.Position)
}

func TestOpenReadOnlyMissingSchema(t *testing.T) {
	url := servicetest.WithSearchPath(servicetest.PostgresURL(t), "t_no_such_schema")
	_, err := OpenReadOnly(t.Context(), url)
	require.ErrorContains(t, err, "no schema")
}
