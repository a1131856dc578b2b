package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/accessd/accessd/eventstore"
)

// An event the store refuses as too large was made from the request: a
// 413, not a 500.
func TestEventTooLargeIs413(t *testing.T) {
	err := fmt.Errorf("append to lock-1: %w", fmt.Errorf("event x of lock-1 is 9 bytes, limit 8: %w", eventstore.ErrEventTooLarge))
	if got := statusOf(err); got != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", got)
	}
}

// A store closed under a request (the server shutting down) is
// unavailable for now, not broken: a 503 with its reason, not a 500
// "internal error".
func TestEventStoreClosedIs503(t *testing.T) {
	err := fmt.Errorf("audit history: read positions: %w", eventstore.ErrClosed)
	if got := statusOf(err); got != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", got)
	}
	w := httptest.NewRecorder()
	writeErr(w, httptest.NewRequest("GET", "/audit/locks/x/history", nil), err)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("answered %d, want 503", w.Code)
	}
	var env envelope
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Success || !strings.Contains(env.Error, "event store closed") {
		t.Fatalf("want the error envelope naming the closed store, got %s (%v)", w.Body.String(), err)
	}
}

// errSQLClosed is database/sql's own error for a closed pool, so a
// closed read-model database (a 503) is told by identity from another
// error that happens to say the same.
func TestSQLClosedIsDatabaseSQLsError(t *testing.T) {
	if errSQLClosed == nil || errSQLClosed.Error() != "sql: database is closed" {
		t.Fatalf("errSQLClosed = %v, want database/sql's \"sql: database is closed\"", errSQLClosed)
	}
	if got := statusOf(fmt.Errorf("list properties: %w", errSQLClosed)); got != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", got)
	}
	if got := statusOf(errors.New("sql: database is closed")); got != http.StatusInternalServerError {
		t.Fatalf("an error that only says so: status %d, want 500", got)
	}
}

// A read-model table SQLite does not have (read models never built, a
// replay cut short, served read-only) answers 503 saying so, not 500
// "internal error".
func TestMissingReadModelTableIs503(t *testing.T) {
	err := fmt.Errorf("lookup apiKey: %w", errors.New("SQL logic error: no such table: entities (1)"))
	if got := statusOf(err); got != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", got)
	}
	w := httptest.NewRecorder()
	writeErr(w, httptest.NewRequest("GET", "/account", nil), err)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "read models missing") {
		t.Fatalf("answered %d %s, want 503 naming the missing read models", w.Code, w.Body.String())
	}
}
