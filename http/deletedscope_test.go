package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deletedScopeWorld: property P (to be deleted) and Q (stays), a user
// with personal data, keys scoped to P with each permission that reaches
// every user of the account, and users whose powers in P come from a
// membership or from their own userPermissions.
type deletedScopeWorld struct {
	p, q   string
	victim string
	// Keys whose only scope is P.
	manageP, supportP, ownerP string
	// mixed holds manage-access in P and support in Q.
	mixed string
	// Keys that must keep working: scoped to Q, and account-wide.
	manageQ, manageAll, supportAll string
	// alice is a manager of P through a membership, eva holds
	// manage-access in P in her userPermissions, bob is a manager of Q.
	alice, eva, bob          string
	aliceKey, evaKey, bobKey string
}

func (h *harness) deletedScopeWorld() deletedScopeWorld {
	h.t.Helper()
	var w deletedScopeWorld
	w.p, w.q = h.grpProperty(rootKey), h.grpProperty(rootKey)
	w.victim = h.createUser(rootKey, map[string]any{"displayName": "Victor", "userPermissions": []any{},
		"private": map[string]string{"email": "victor@example.com", "phoneNumber": "+34600000000"}})
	scoped := func(p, prop string) map[string]string { return map[string]string{"permission": p, "propertyId": prop} }
	w.manageP = h.newKey(rootKey, scoped("manage-access", w.p))
	w.supportP = h.newKey(rootKey, scoped("support", w.p))
	w.ownerP = h.newKey(rootKey, scoped("owner", w.p))
	w.mixed = h.newKey(rootKey, scoped("manage-access", w.p), scoped("support", w.q))
	w.manageQ = h.newKey(rootKey, scoped("manage-access", w.q))
	w.manageAll = h.newKey(rootKey, perm("manage-access"))
	w.supportAll = h.newKey(rootKey, perm("support"))

	member := func(name, email, prop string) (string, string) {
		id, key := h.invUser(name, email)
		r := h.invite(rootKey, prop, map[string]any{"email": email, "role": "manager"})
		require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
		r = h.do("POST", "/invitations/"+r.field("invitationId")+"/accept", key, map[string]string{"token": r.field("token")})
		require.Equal(h.t, http.StatusOK, r.Status, r.Error)
		return id, key
	}
	w.alice, w.aliceKey = member("Alice", "alice@example.com", w.p)
	w.bob, w.bobKey = member("Bob", "bob@example.com", w.q)
	w.eva = h.createUser(rootKey, map[string]any{"displayName": "Eva",
		"userPermissions": []any{scoped("manage-access", w.p)}})
	w.evaKey = h.meKey(w.eva)
	return w
}

// usersAsSeenBy reports what a key does with the account's users: the
// status of creating one and of reading the victim, and whether the read
// shows the victim's personal data.
func (h *harness) usersAsSeenBy(key, victim string) (createStatus, readStatus int, private bool) {
	h.t.Helper()
	c := h.do("POST", "/users", key, map[string]any{"displayName": "Mallory", "userPermissions": []any{}})
	r := h.do("GET", "/users/"+victim, key, nil)
	private = r.Status == http.StatusOK &&
		strings.Contains(string(r.Data), "victor@example.com") && strings.Contains(string(r.Data), "+34600000000")
	return c.Status, r.Status, private
}

// A grant scoped to a property grants nothing once the property is
// deleted, at once and everywhere: `manage-access`, `owner` or `support`
// in a deleted property no longer reach the account's users, for API keys
// and for users acting through their `me` keys alike; grants in live
// properties and account-wide keys are untouched.
func TestGrantsScopedToADeletedPropertyGrantNothing(t *testing.T) {
	h := newHarness(t)
	w := h.deletedScopeWorld()

	admins := map[string]string{"manage-access in P": w.manageP, "owner in P": w.ownerP,
		"member manager of P": w.aliceKey, "user with manage-access in P": w.evaKey,
		"manage-access in P, support in Q": w.mixed}
	// Before: each administers users and reads their personal data (the
	// answers are cached for the key).
	for name, key := range admins {
		c, r, private := h.usersAsSeenBy(key, w.victim)
		assert.Equal(t, http.StatusCreated, c, "%s creates users", name)
		assert.Equal(t, http.StatusOK, r, "%s reads a user", name)
		assert.True(t, private, "%s reads a user's personal data", name)
	}
	require.Equal(t, http.StatusOK, h.do("GET", "/users/"+w.victim, w.supportP, nil).Status, "support in P reads users")
	require.Equal(t, http.StatusOK, h.do("GET", "/properties/"+w.p+"/members", w.aliceKey, nil).Status)

	r := h.do("DELETE", "/properties/"+w.p, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)

	// After, at once: nothing through P.
	for name, key := range admins {
		c, r, private := h.usersAsSeenBy(key, w.victim)
		assert.Equal(t, http.StatusForbidden, c, "%s creates users after P is deleted", name)
		assert.False(t, private, "%s reads a user's personal data after P is deleted", name)
		if key != w.mixed {
			assert.Equal(t, http.StatusForbidden, r, "%s reads a user after P is deleted", name)
		}
	}
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/users/"+w.victim, w.supportP, nil).Status, "support in P after P is deleted")
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/users/"+w.victim+"/devices", w.supportP, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/users/"+w.victim+"/devices", w.manageP, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("PUT", "/users/"+w.victim, w.manageP,
		map[string]any{"displayName": "Victor", "userPermissions": []any{}}).Status)
	assert.Equal(t, http.StatusForbidden, h.do("DELETE", "/users/"+w.victim, w.ownerP, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/users/"+w.victim, w.aliceKey, nil).Status)

	// The mixed key keeps its support in Q: it reads users, without their
	// personal data, and Q.
	got := h.do("GET", "/users/"+w.victim, w.mixed, nil)
	assert.Equal(t, http.StatusOK, got.Status, got.Error)
	assert.NotContains(t, string(got.Data), "victor@example.com")
	assert.Equal(t, http.StatusOK, h.do("GET", "/properties/"+w.q, w.mixed, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("POST", "/properties/"+w.q+"/groups", w.mixed,
		map[string]any{"displayName": "Cleaners", "groupType": "staff"}).Status, "support does not write")

	// Users acting through `me` keep acting as themselves.
	me := h.do("GET", "/me", w.aliceKey, nil)
	assert.Equal(t, http.StatusOK, me.Status, me.Error)
	assert.Contains(t, string(me.Data), "alice@example.com")
	assert.Equal(t, http.StatusOK, h.do("GET", "/users/"+w.eva, w.evaKey, nil).Status)

	// Grants on live properties, and account-wide keys, keep working.
	for name, key := range map[string]string{"manage-access in Q": w.manageQ, "member manager of Q": w.bobKey,
		"account-wide manage-access": w.manageAll} {
		c, r, private := h.usersAsSeenBy(key, w.victim)
		assert.Equal(t, http.StatusCreated, c, "%s creates users", name)
		assert.Equal(t, http.StatusOK, r, "%s reads a user", name)
		assert.True(t, private, "%s reads a user's personal data", name)
	}
	g := h.do("POST", "/properties/"+w.q+"/groups", w.bobKey, map[string]any{"displayName": "Cleaners", "groupType": "staff"})
	assert.Equal(t, http.StatusCreated, g.Status, g.Error)
	assert.Equal(t, http.StatusOK, h.do("GET", "/users/"+w.victim, w.supportAll, nil).Status)

	// The deletion took P's scopes out of the users' lists, those given
	// directly too (a PUT of the user as read succeeds).
	h.settle()
	assert.NotContains(t, h.userPermissionsOf(w.eva), w.p)
	assert.NotContains(t, h.userPermissionsOf(w.alice), w.p)
	put := h.putUserAsRead(w.manageAll, w.eva)
	assert.Equal(t, http.StatusOK, put.Status, put.Error)
	// Putting it back is a new grant in a deleted property.
	put = h.do("PUT", "/users/"+w.eva, w.manageAll, map[string]any{"displayName": "Eva",
		"userPermissions": []any{map[string]string{"permission": "manage-access", "propertyId": w.p}}})
	assert.Equal(t, http.StatusUnprocessableEntity, put.Status)
	assert.Equal(t, "userPermissions[0].propertyId: the property is deleted", put.Error)
}

// noLiveGrantError is the error of a key whose every grant was scoped to
// a property since deleted.
const noLiveGrantError = "the API key holds no permission any more: every property it was scoped to is deleted"

// A key whose every grant was scoped to a deleted property exists but may
// do nothing: 403 everywhere, not 401.
func TestKeyWithNoLiveGrantIsForbiddenEverywhere(t *testing.T) {
	h := newHarness(t)
	w := h.deletedScopeWorld()
	for _, key := range []string{w.manageP, w.supportP, w.ownerP} {
		require.Equal(t, http.StatusOK, h.do("GET", "/account", key, nil).Status)
		require.Equal(t, http.StatusOK, h.do("GET", "/properties/"+w.p, key, nil).Status)
	}
	r := h.do("DELETE", "/properties/"+w.p, w.manageP, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)

	for name, key := range map[string]string{"manage-access": w.manageP, "support": w.supportP, "owner": w.ownerP} {
		for _, c := range []struct{ method, path string }{
			{"GET", "/account"},
			{"GET", "/properties"},
			{"GET", "/properties/" + w.p},
			{"GET", "/properties/" + w.q},
			{"GET", "/users/" + w.victim},
			{"GET", "/users/" + w.victim + "/groups"},
			{"GET", "/events"},
			{"POST", "/properties"},
			{"POST", "/users"},
		} {
			var body any
			if c.method == "POST" {
				body = map[string]any{"displayName": "x", "userPermissions": []any{}}
			}
			got := h.do(c.method, c.path, key, body)
			assert.Equal(t, http.StatusForbidden, got.Status, "%s key: %s %s: %s", name, c.method, c.path, got.Data)
			// The 403 of a key with no live grant, not the 403 the key's
			// permission would have met on the route anyway.
			assert.False(t, got.Success, "%s key: %s %s", name, c.method, c.path)
			assert.Equal(t, noLiveGrantError, got.Error, "%s key: %s %s", name, c.method, c.path)
		}
	}
	// The properties' list of an account-wide reader no longer has P; Q stays.
	list := h.do("GET", "/properties", w.supportAll, nil)
	require.Equal(t, http.StatusOK, list.Status, list.Error)
	assert.NotContains(t, string(list.Data), w.p)
	assert.Contains(t, string(list.Data), w.q)
}

// Another server of the deployment stops the grants of a property deleted
// elsewhere within its key cache's 1 s (the README's bound), once its read
// models show the deletion.
func TestGrantsOfAPropertyDeletedOnAnotherServerStopWithinTheCacheTTL(t *testing.T) {
	h := newHarness(t)
	p, q := h.grpProperty(rootKey), h.grpProperty(rootKey)
	key := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": p})
	other := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": q})
	second := h.secondServer()
	get := func(path, key string) int {
		t.Helper()
		req, err := http.NewRequest("GET", second.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("x-api-key", key)
		resp, err := second.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("/properties/"+p, key), "cached on the second server")
	require.Equal(t, http.StatusOK, get("/properties/"+q, other))

	r := h.do("DELETE", "/properties/"+p, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	deleted := time.Now()
	assert.Eventually(t, func() bool { return get("/properties/"+q, key) == http.StatusForbidden },
		3*time.Second, 20*time.Millisecond, "no live grant left")
	t.Logf("refused on the second server after %s", time.Since(deleted))
	assert.Equal(t, http.StatusOK, get("/properties/"+q, other), "a grant of a live property keeps working")
}
