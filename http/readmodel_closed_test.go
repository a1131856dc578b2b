package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A read-model database closed under a request (the server shutting
// down: database/sql then answers "sql: database is closed") is
// unavailable for now, not broken: a 503 with the error envelope, as a
// closed event store is, not a 500 "internal error".
func TestReadModelDatabaseClosedIs503(t *testing.T) {
	h := newHarness(t)
	// The key is known (and cached) while the read models are open, so the
	// request below fails in its query, not in its authentication.
	status, _, body := h.rawGet("/properties", rootKey)
	require.Equal(t, http.StatusOK, status, body)

	require.NoError(t, h.db.DB.Close()) // the pool only: the harness closes the rest
	status, ctype, body := h.rawGet("/properties", rootKey)
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
	assert.Equal(t, "application/json", ctype)
	var env struct {
		Success *bool  `json:"success"`
		Error   string `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &env), body)
	require.NotNil(t, env.Success, body)
	assert.False(t, *env.Success)
	// A fixed reason: the wrapped error's steps and ids stay in the log.
	assert.Equal(t, "database is closed: the server is shutting down; retry later", env.Error)
}
