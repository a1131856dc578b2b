package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A key's apiPermissions and a user's userPermissions hold at most 100
// grants and no grant twice: a 400 naming the list, or the repeated entry,
// and nothing recorded. A membership still writes its grants into a user
// holding 100 already, and the longer list it leaves is sent back as read
// (but not lengthened) by a PUT.
func TestGrantListsAreBoundedAndRepeatNoGrant(t *testing.T) {
	h := newHarness(t)
	u := h.createUser(rootKey, map[string]any{"displayName": "U"})
	p := h.mkProperty(rootKey, "Hotel Sol")
	copies := make([]map[string]string, 15_000)
	for i := range copies {
		copies[i] = perm("support")
	}
	twice := []map[string]string{perm("support"), {"permission": "support", "propertyId": p},
		{"permission": "manage-access", "propertyId": p}, perm("support")}
	before := h.head()
	for _, req := range []struct{ method, path, list string }{
		{"POST", "/accounts/keys", "apiPermissions"},
		{"POST", "/users", "userPermissions"},
		{"PUT", "/users/" + u, "userPermissions"},
	} {
		r := h.do(req.method, req.path, rootKey, map[string]any{"displayName": "U", req.list: copies})
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s", req.method, req.path)
		assert.Equal(t, req.list+": at most 100 entries", r.Error, "%s %s", req.method, req.path)
		r = h.do(req.method, req.path, rootKey, map[string]any{"displayName": "U", req.list: twice})
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s", req.method, req.path)
		assert.Equal(t, req.list+"[3]: is listed twice", r.Error, "%s %s", req.method, req.path)
	}
	assert.Equal(t, before, h.head(), "nothing recorded")

	// 100 grants: six permissions in each of 17 properties, less two.
	var grants []map[string]string
	for len(grants) < 100 {
		prop := h.mkProperty(rootKey, "P")
		for _, p := range []string{"owner", "provision-lock", "install-lock", "manage-access", "manage-firmware", "support"} {
			grants = append(grants, map[string]string{"permission": p, "propertyId": prop})
		}
	}
	grants = grants[:100]
	id, meKey := h.invUser("Mia", "mia@example.com")
	r := h.do("PUT", "/users/"+id, rootKey, map[string]any{"displayName": "Mia", "userPermissions": grants,
		"private": map[string]string{"email": "mia@example.com"}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	r = h.invite(rootKey, p, map[string]any{"email": "mia@example.com", "role": "manager"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	r = h.do("POST", "/invitations/"+r.field("invitationId")+"/accept", meKey, map[string]string{"token": r.field("token")})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	held := decodeUser(t, h.do("GET", "/users/"+id, rootKey, nil)).UserPermissions
	require.Len(t, held, 103, "the membership's three grants beside the 100")
	r = h.do("PUT", "/users/"+id, rootKey, map[string]any{"displayName": "Mia B", "userPermissions": held,
		"private": map[string]string{"email": "mia@example.com"}})
	assert.Equal(t, http.StatusOK, r.Status, "a PUT as read: %s", r.Error)
	r = h.do("PUT", "/users/"+id, rootKey, map[string]any{"displayName": "Mia B", "userPermissions": append(held, perm("support")),
		"private": map[string]string{"email": "mia@example.com"}})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "userPermissions: at most 100 entries", r.Error)
}
