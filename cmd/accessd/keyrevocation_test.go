package main

import (
	"context"
	"fmt"
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

// A key deleted through the server holding the projections lease, whose
// read models move on the other server only as that one follows the
// holder's checkpoints, is refused by the other well within the 1 s its
// cache could keep it (revoke requires it); and so the other way round.
// So is a key scoped to a property deleted. The other server has the key
// cached, and asks with it without a pause from the moment the deletion
// is answered, while a client writes through the holder. How soon each
// was refused is logged, not asserted: it is a latency of two servers on
// shared cores (1 to 15 ms here, quiet), and the mechanism that makes it
// immediate, refusing on the event itself before the read models show
// it, is tested on its own (TestKeyCacheRefusesWhatTheLogRevokesBeforeTheReadModelsShowIt).
func TestRevocationThroughTheLeaseHolderStopsOnTheFollowerAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
	bin := buildServer(t)
	a, b := startScaledPair(t, bin, strings.Repeat("f", 40), eventStore, readModels)
	holder, follower := a, b
	require.Eventually(t, func() bool {
		switch {
		case a.holds(t, "projections"):
			holder, follower = a, b
			return true
		case b.holds(t, "projections"):
			holder, follower = b, a
			return true
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "nobody holds the projections lease")

	n := 0
	// revoke caches a new key on other, revokes it through through, and
	// returns how long other went on accepting it after the answer, and
	// how many of its requests it accepted meanwhile.
	revoke := func(through, other *scaledServer, scoped bool) (time.Duration, int) {
		n++
		tag := fmt.Sprintf("%d", n)
		grant := map[string]any{"permission": "support"}
		var property string
		if scoped {
			status, created := through.send(t.Context(), &sent{key: "p" + tag, method: "POST", path: "/properties",
				body: map[string]any{"displayName": "Revoked " + tag}})
			require.Equal(t, http.StatusCreated, status, created)
			property = created["propertyId"].(string)
			grant = map[string]any{"permission": "manage-access", "propertyId": property}
		}
		status, created := through.send(t.Context(), &sent{key: "k" + tag, method: "POST", path: "/accounts/keys",
			body: map[string]any{"displayName": "revoked " + tag, "apiPermissions": []any{grant}}})
		require.Equal(t, http.StatusCreated, status, created)
		secret, keyID := created["apiKey"].(string), created["apiKeyId"].(string)
		withKey := &scaledServer{crashServer{base: other.base, key: secret}}
		require.Eventually(t, func() bool { return withKey.get(t, "/account") == http.StatusOK },
			5*time.Second, 5*time.Millisecond, "the new key never worked on the other server")

		// The deletion comes at a varying point of the other server's
		// checkpoint polls.
		time.Sleep(time.Duration(n*37%100) * time.Millisecond)
		path := "/accounts/keys/" + keyID
		if scoped {
			path = "/properties/" + property
		}
		status, deleted := through.send(t.Context(), &sent{key: "d" + tag, method: "DELETE", path: path})
		require.Equal(t, http.StatusOK, status, deleted)
		answered := time.Now()
		accepted := 0
		for withKey.get(t, "/account") == http.StatusOK {
			accepted++
			require.Less(t, time.Since(answered), 2*time.Second, "the other server kept the revoked key")
		}
		return time.Since(answered), accepted
	}
	// Light load: a client writes through the holder all along.
	ctx, stopLoad := context.WithCancel(t.Context())
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		for i := 0; ctx.Err() == nil; i++ {
			holder.send(ctx, &sent{key: fmt.Sprintf("load%d", i), method: "POST", path: "/properties",
				body: map[string]any{"displayName": fmt.Sprintf("Load %d", i)}})
			time.Sleep(5 * time.Millisecond)
		}
	}()
	defer func() { stopLoad(); <-loaded }()
	for _, c := range []struct {
		name           string
		through, other *scaledServer
		scoped         bool
	}{
		{"key deleted through the holder", holder, follower, false},
		{"key deleted through the follower", follower, holder, false},
		{"property deleted through the holder", holder, follower, true},
		{"property deleted through the follower", follower, holder, true},
	} {
		for range 6 {
			took, accepted := revoke(c.through, c.other, c.scoped)
			t.Logf("%s: refused on the other server %s after the answer, %d requests accepted meanwhile",
				c.name, took.Round(100*time.Microsecond), accepted)
		}
	}
}
