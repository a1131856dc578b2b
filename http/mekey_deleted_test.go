package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A key acting for a user (`me`) stops working once the user is deleted:
// it answers 401 as an unknown key does, and cannot reach the user's
// devices or memberships any more.
func TestMeKeyOfADeletedUserIsRefused(t *testing.T) {
	h := newHarness(t)
	user := h.createUser(rootKey, map[string]any{"displayName": "Ana"})
	key := h.meKey(user)
	require.Equal(t, http.StatusOK, h.do("GET", "/me", key, nil).Status)

	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+user, rootKey, nil).Status)
	for _, c := range []struct{ method, path string }{
		{"GET", "/me"},
		{"GET", "/users/" + user + "/devices"},
		{"GET", "/users/" + user + "/groups"},
	} {
		r := h.do(c.method, c.path, key, nil)
		assert.Equal(t, http.StatusUnauthorized, r.Status, "%s %s", c.method, c.path)
	}
}
