package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A grant is account-wide only when its propertyId is left out: the nil
// UUID names no property (422, as an id nobody has) and null or "" is not
// a UUID (400), on a key's apiPermissions and a user's userPermissions
// alike, never a grant of the whole account. The same holds for userId.
// Nothing is recorded.
func TestGrantScopeGivenEmptyIsNotAccountWide(t *testing.T) {
	h := newHarness(t)
	nilID := uuid.Nil.String()
	userID := h.createUser(rootKey, map[string]any{"displayName": "U"})
	cases := []struct {
		grant  map[string]any
		status int
		err    string
	}{
		{map[string]any{"permission": "support", "propertyId": nilID}, http.StatusUnprocessableEntity, "[0].propertyId: no such property"},
		{map[string]any{"permission": "support", "propertyId": ""}, http.StatusBadRequest, "[0].propertyId: must be a UUID"},
		{map[string]any{"permission": "support", "propertyId": nil}, http.StatusBadRequest,
			"[0].propertyId: must be a UUID (leave it out for an account-wide grant)"},
		{map[string]any{"permission": "me", "userId": nilID}, http.StatusUnprocessableEntity, "[0].userId: no such user"},
		{map[string]any{"permission": "support", "userId": nilID}, http.StatusUnprocessableEntity, "[0].userId: no such user"},
		{map[string]any{"permission": "me", "userId": ""}, http.StatusBadRequest, "[0].userId: must be a UUID"},
		{map[string]any{"permission": "support", "userId": nil}, http.StatusBadRequest,
			"[0].userId: must be a UUID (leave it out for a grant other than `me`)"},
	}
	before := h.head()
	for _, c := range cases {
		grants := []map[string]any{c.grant}
		for _, req := range []struct{ method, path, list string }{
			{"POST", "/accounts/keys", "apiPermissions"},
			{"POST", "/users", "userPermissions"},
			{"PUT", "/users/" + userID, "userPermissions"},
		} {
			r := h.do(req.method, req.path, rootKey, map[string]any{"displayName": "U", req.list: grants})
			assert.Equal(t, c.status, r.Status, "%s %s %v: %s", req.method, req.path, c.grant, r.Error)
			assert.Equal(t, req.list+c.err, r.Error, "%s %s %v", req.method, req.path, c.grant)
		}
	}
	assert.Equal(t, before, h.head(), "nothing recorded")

	// A 400 anywhere in the list comes before the nil UUID's 422, as it
	// does before an unknown id's.
	r := h.do("POST", "/accounts/keys", rootKey, map[string]any{"displayName": "k", "apiPermissions": []map[string]any{
		{"permission": "support", "propertyId": nilID}, {"permission": "support", "propertyId": "x"}}})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "apiPermissions[1].propertyId: must be a UUID", r.Error)

	// Left out, the scope is the whole account, as before.
	r = h.do("POST", "/accounts/keys", rootKey, map[string]any{"displayName": "k",
		"apiPermissions": []map[string]any{{"permission": "support"}}})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	var key struct {
		APIPermissions []map[string]string `json:"apiPermissions"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &key))
	assert.Equal(t, []map[string]string{{"permission": "support"}}, key.APIPermissions)
}
