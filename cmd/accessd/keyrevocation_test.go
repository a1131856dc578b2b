package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
)

// An API key deleted through one server stops working on the other before
// the other's key cache would have let it go (1 s after the key was
// cached): each server follows the log's revocations. The key is first
// read through the other server, which caches it then; a refusal there
// before that entry could expire can only come from following the log.
func TestKeyDeletedThroughOneServerStopsOnTheOther(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
	bin := buildServer(t)
	a, b := startScaledPair(t, bin, strings.Repeat("r", 40), eventStore, readModels)

	const (
		cacheTTL = time.Second            // http.authTTL
		judged   = 600 * time.Millisecond // a deletion answered later leaves too little time to tell
	)
	for _, pair := range [][2]*scaledServer{{a, b}, {b, a}} {
		through, other := pair[0], pair[1]
		for attempt := 1; ; attempt++ {
			status, created := through.send(t.Context(), &sent{key: "k" + other.base + string(rune('0'+attempt)), method: "POST", path: "/accounts/keys",
				body: map[string]any{"displayName": "short-lived", "apiPermissions": []any{map[string]any{"permission": "support"}}}})
			require.Equal(t, http.StatusCreated, status, created)
			secret, keyID := created["apiKey"].(string), created["apiKeyId"].(string)
			withKey := &scaledServer{crashServer{base: other.base, key: secret}}
			var cachedAt time.Time
			require.Eventually(t, func() bool {
				cachedAt = time.Now()
				return withKey.get(t, "/account") == http.StatusOK
			}, 5*time.Second, 5*time.Millisecond, "the new key never worked on the other server")

			status, deleted := through.send(t.Context(), &sent{key: "d" + keyID, method: "DELETE", path: "/accounts/keys/" + keyID})
			require.Equal(t, http.StatusOK, status, deleted)
			answered := time.Now()
			if answered.Sub(cachedAt) > judged && attempt < 3 {
				t.Logf("the deletion took %s: too slow to judge; again", answered.Sub(cachedAt))
				continue
			}
			expires := cachedAt.Add(cacheTTL)
			for withKey.get(t, "/account") != http.StatusUnauthorized {
				require.True(t, time.Now().Before(expires), "the deleted key worked on the other server until its cache entry expired")
				time.Sleep(2 * time.Millisecond)
			}
			require.True(t, time.Now().Before(expires), "refused only once the cache entry could have expired")
			t.Logf("refused on the other server %s after the deletion's answer", time.Since(answered).Round(time.Millisecond))
			break
		}
	}
}
