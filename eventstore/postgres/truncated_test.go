package postgres

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
)

// The last events deleted from the table by another client: the next
// append must not take their positions again (the writer assigns the last
// position plus one), but refuse, naming them.
func TestAppendRefusedAfterLastEventsDeleted(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	s := openURL(t, url, WithPollInterval(time.Hour)) // the writer alone must notice
	mustAppend(t, s, "lock-1", eventstore.NoStream, event("A", 1), event("B", 2))
	mustAppend(t, s, "lock-2", eventstore.NoStream, event("A", 3), event("A", 4))

	other, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer other.Close(t.Context())
	_, err = other.Exec(t.Context(), `DELETE FROM es_events WHERE position > 2`)
	require.NoError(t, err)

	for range 2 {
		_, err = s.Append(t.Context(), "lock-3", eventstore.NoStream, event("A", 5))
		require.True(t, errors.Is(err, eventstore.ErrLogTruncated) && errors.Is(err, eventstore.ErrUnavailable), "append after the delete: %v", err)
		require.True(t, strings.Contains(err.Error(), "positions 3 to 4 were removed"), "%v", err)
	}
	var last int64
	require.NoError(t, other.QueryRow(t.Context(), `SELECT COALESCE(max(position), 0) FROM es_events`).Scan(&last))
	require.EqualValues(t, 2, last, "something was appended over the deleted positions")
}

// The watcher notices too, without an append.
func TestWatcherNoticesLastEventDeleted(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	s := openURL(t, url, WithPollInterval(10*time.Millisecond))
	mustAppend(t, s, "lock-1", eventstore.NoStream, event("A", 1), event("B", 2))
	other, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer other.Close(t.Context())
	_, err = other.Exec(t.Context(), `DELETE FROM es_events WHERE position = 2`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.truncated.Load() != nil }, 5*time.Second, 5*time.Millisecond)
	_, err = s.Append(t.Context(), "lock-1", eventstore.Exact(0), event("C", 3))
	require.ErrorIs(t, err, eventstore.ErrLogTruncated)
	require.Contains(t, err.Error(), "position 2 was removed")
}
