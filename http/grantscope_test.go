package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grantsOfUser reads a user's userPermissions as key sees them.
func (h *harness) grantsOfUser(key, userID string) []map[string]string {
	h.t.Helper()
	r := h.do("GET", "/users/"+userID, key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var u struct {
		UserPermissions []map[string]string `json:"userPermissions"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &u))
	return u.UserPermissions
}

// A key scoped to one property manages users only within it: it cannot
// give (or take) access to another property, does not see the user's
// grants there, and its PUT of what it sees keeps them.
func TestScopedKeysGrantOnlyWithinTheirProperty(t *testing.T) {
	h := newHarness(t)
	w := h.buildMatrixWorld()
	u, p1 := w.ids["userId"], w.ids["propertyId"]
	p2Key := w.scopedP2
	p1Grant := map[string]string{"permission": "support", "propertyId": p1}
	require.Contains(t, h.grantsOfUser(w.ownerA, u), p1Grant, "the guest is staff of the first property")

	// The second property's owner does not see the first's grant.
	assert.Empty(t, h.grantsOfUser(p2Key, u))

	// Nor can it give access to the first property, to anyone.
	escalate := []any{map[string]string{"permission": "manage-access", "propertyId": p1}}
	r := h.do("PUT", "/users/"+u, p2Key, map[string]any{"displayName": "Guest", "userPermissions": escalate})
	assert.Equal(t, http.StatusForbidden, r.Status, r.Error)
	r = h.do("POST", "/users", p2Key, map[string]any{"displayName": "Mallory", "userPermissions": escalate})
	assert.Equal(t, http.StatusForbidden, r.Status, r.Error)
	r = h.do("PUT", "/users/"+u, p2Key, map[string]any{"displayName": "Guest", "userPermissions": []any{perm("manage-access")}})
	assert.Equal(t, http.StatusForbidden, r.Status, "an account-wide grant: %s", r.Error)
	r = h.do("GET", "/properties/"+p1+"/areas", w.meUser, nil)
	require.Equal(t, http.StatusOK, r.Status, "the guest still reads the first property as staff")
	r = h.do("POST", "/properties/"+p1+"/areas", w.meUser, map[string]any{"displayName": "x", "areaType": "resident"})
	assert.Equal(t, http.StatusForbidden, r.Status, "the guest did not become a manager of the first property")

	// What it sends replaces the grants it sees; the first property's stay.
	p2Grant := map[string]string{"permission": "support", "propertyId": w.p2}
	r = h.do("PUT", "/users/"+u, p2Key, map[string]any{"displayName": "Guest", "userPermissions": []any{p2Grant}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.ElementsMatch(t, []map[string]string{p1Grant, p2Grant}, h.grantsOfUser(w.ownerA, u))
	assert.Equal(t, []map[string]string{p2Grant}, h.grantsOfUser(p2Key, u))
	r = h.do("PUT", "/users/"+u, p2Key, map[string]any{"displayName": "Guest", "userPermissions": []any{}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, []map[string]string{p1Grant}, h.grantsOfUser(w.ownerA, u))

	// The account's owner changes any grant.
	r = h.do("PUT", "/users/"+u, w.ownerA, map[string]any{"displayName": "Guest", "userPermissions": escalate})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, []map[string]string{{"permission": "manage-access", "propertyId": p1}}, h.grantsOfUser(w.ownerA, u))
}
