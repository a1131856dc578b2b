package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
)

// An API key deleted through one server stops working on the other within
// moments, not after the other's key cache expires (1 s): each server
// follows the log's revocations. The key is read through the other server
// just before its deletion, so that server holds it cached.
func TestKeyDeletedThroughOneServerStopsOnTheOther(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
	bin := buildServer(t)
	a, b := startScaledPair(t, bin, strings.Repeat("r", 40), eventStore, readModels)

	const within = 400 * time.Millisecond
	for _, pair := range [][2]*scaledServer{{a, b}, {b, a}} {
		through, other := pair[0], pair[1]
		status, created := through.send(t.Context(), &sent{key: "k" + other.base, method: "POST", path: "/accounts/keys",
			body: map[string]any{"displayName": "short-lived", "apiPermissions": []any{map[string]any{"permission": "support"}}}})
		require.Equal(t, http.StatusCreated, status, created)
		secret, keyID := created["apiKey"].(string), created["apiKeyId"].(string)
		withKey := &scaledServer{crashServer{base: other.base, key: secret}}
		require.Eventually(t, func() bool { return withKey.get(t, "/account") == http.StatusOK }, 5*time.Second, 5*time.Millisecond,
			"the new key never worked on the other server")

		status, deleted := through.send(t.Context(), &sent{key: "d" + keyID, method: "DELETE", path: "/accounts/keys/" + keyID})
		require.Equal(t, http.StatusOK, status, deleted)
		answered := time.Now()
		require.Eventually(t, func() bool { return withKey.get(t, "/account") == http.StatusUnauthorized }, within, 5*time.Millisecond,
			"the deleted key still worked on the other server %s after the deletion's answer", within)
		t.Logf("refused on the other server %s after the deletion's answer", time.Since(answered).Round(time.Millisecond))
	}
}
