package httpapi

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// TestDatabaseUnreachableIs503: a read-model database that is down, starting,
// shutting down or that dropped the connection answers 503 with a plain
// reason, not 500 "internal error"; a query's own error stays 500.
func TestDatabaseUnreachableIs503(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, refused := pgconn.Connect(ctx, "postgres://postgres@127.0.0.1:1/test?connect_timeout=2")
	require.Error(t, refused)
	for _, err := range []error{
		fmt.Errorf("list property: %w", refused),
		fmt.Errorf("list property: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}),
		fmt.Errorf("list property: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P03", Message: "the database system is starting up"}),
		fmt.Errorf("list property: %w", &pgconn.PgError{Code: "08006"}),
		fmt.Errorf("list property: %w", driver.ErrBadConn),
		fmt.Errorf("list property: %w", io.ErrUnexpectedEOF),
	} {
		require.Equal(t, http.StatusServiceUnavailable, statusOf(err), "%v", err)
		w := httptest.NewRecorder()
		writeErr(w, httptest.NewRequest("GET", "/properties", nil), err)
		require.Equal(t, http.StatusServiceUnavailable, w.Code)
		require.True(t, strings.Contains(w.Body.String(), "read-model database unavailable"), w.Body.String())
	}
	require.Equal(t, http.StatusInternalServerError, statusOf(fmt.Errorf("list property: %w", &pgconn.PgError{Code: "42P01"})))
}

// TestLogTruncatedIs503: a store that found events removed from the end of
// its log refuses appends; the client gets 503 and a plain reason, not the
// file's path.
func TestLogTruncatedIs503(t *testing.T) {
	err := fmt.Errorf("append to property-1: sqlite: append: %w", fmt.Errorf("%w: /data/events.db ends at position 3 (%w)", eventstore.ErrLogTruncated, eventstore.ErrUnavailable))
	require.Equal(t, http.StatusServiceUnavailable, statusOf(err))
	w := httptest.NewRecorder()
	writeErr(w, httptest.NewRequest("POST", "/properties", nil), err)
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Contains(t, w.Body.String(), "event log truncated")
	require.Contains(t, w.Body.String(), "an operator must investigate")
	require.NotContains(t, w.Body.String(), "/data/events.db")
}
