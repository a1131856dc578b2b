package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// invMember is one entry of listPropertyMembers.
type invMember struct {
	UserID      string   `json:"userId"`
	PropertyID  string   `json:"propertyId"`
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
	Overrides   struct {
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	} `json:"overrides"`
}

// invUser creates a user with an e-mail and returns its id and a `me` key.
func (h *harness) invUser(name, email string) (string, string) {
	h.t.Helper()
	r := h.do("POST", "/users", rootKey, map[string]any{"displayName": name, "userPermissions": []any{},
		"private": map[string]string{"email": email}})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	id := r.field("userId")
	return id, h.newKey(rootKey, map[string]string{"permission": "me", "userId": id})
}

func (h *harness) invite(key, propertyID string, body map[string]any) reply {
	h.t.Helper()
	return h.do("POST", "/properties/"+propertyID+"/invitations", key, body)
}

func invMembers(t *testing.T, r reply) []invMember {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Members []invMember `json:"members"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &page))
	return page.Members
}

func TestInvitationsAndMembers(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	alice, aliceKey := h.invUser("Alice", "alice@example.com")
	_, bobKey := h.invUser("Bob", "bob@example.com")

	// A `me` key reads nothing of the property before it is a member.
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/properties/"+prop+"/members", aliceKey, nil).Status)

	r := h.invite(rootKey, prop, map[string]any{"email": "Alice@Example.com ", "role": "manager"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	token, invID := r.field("token"), r.field("invitationId")
	assert.NotEmpty(t, token)
	assert.Equal(t, "alice@example.com", r.field("email"))
	assert.Equal(t, "pending", r.field("status"))
	assert.NotContains(t, string(r.Data), "sealedEmail")

	again := h.invite(rootKey, prop, map[string]any{"email": "alice@example.com", "role": "staff"})
	assert.Equal(t, http.StatusBadRequest, again.Status, again.Error)
	assert.Equal(t, http.StatusBadRequest, h.invite(rootKey, prop, map[string]any{"email": "x@y", "role": "boss"}).Status)
	assert.Equal(t, http.StatusBadRequest, h.invite(rootKey, prop, map[string]any{"email": "nope", "role": "staff"}).Status)

	list := h.do("GET", "/properties/"+prop+"/invitations", rootKey, nil)
	require.Equal(t, http.StatusOK, list.Status, list.Error)
	assert.Contains(t, string(list.Data), `"email":"alice@example.com"`)
	assert.NotContains(t, string(list.Data), token)

	accept := "/invitations/" + invID + "/accept"
	assert.Equal(t, http.StatusForbidden, h.do("POST", accept, bobKey, map[string]string{"token": token}).Status, "another user's e-mail")
	assert.Equal(t, http.StatusForbidden, h.do("POST", accept, aliceKey, map[string]string{"token": token + "x"}).Status, "wrong token")
	assert.Equal(t, http.StatusForbidden, h.do("POST", accept, rootKey, map[string]string{"token": token}).Status, "not a `me` key")
	r = h.do("POST", accept, aliceKey, map[string]string{"token": token})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, "manager", r.field("role"))
	assert.Equal(t, http.StatusNotFound, h.do("POST", accept, aliceKey, map[string]string{"token": token}).Status, "once only")

	// The membership is on the user, and Alice's `me` key now manages the property.
	u := h.do("GET", "/users/"+alice, rootKey, nil)
	assert.Contains(t, string(u.Data), `{"permission":"manage-access","propertyId":"`+prop+`"}`)
	members := invMembers(t, h.do("GET", "/properties/"+prop+"/members", aliceKey, nil))
	require.Len(t, members, 1)
	assert.Equal(t, []string{"manage-access", "install-lock", "support"}, members[0].Permissions)
	r = h.invite(aliceKey, prop, map[string]any{"email": "carol@example.com", "role": "staff"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	carolInv := r.field("invitationId")
	assert.Equal(t, http.StatusForbidden, h.invite(aliceKey, prop, map[string]any{"email": "dan@example.com", "role": "owner"}).Status,
		"a manager makes no owners")
	assert.Equal(t, http.StatusForbidden, h.invite(aliceKey, prop, map[string]any{"email": "dan@example.com", "role": "staff",
		"overrides": map[string]any{"add": []string{"owner"}}}).Status, "nor through overrides")
	assert.Equal(t, http.StatusBadRequest, h.do("DELETE", "/properties/"+prop+"/members/"+alice, aliceKey, nil).Status, "removing yourself")

	// Withdrawal.
	r = h.do("DELETE", "/invitations/"+carolInv, aliceKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	list = h.do("GET", "/properties/"+prop+"/invitations", rootKey, nil)
	assert.NotContains(t, string(list.Data), carolInv)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/invitations/"+carolInv, rootKey, nil).Status)

	// A role change follows into Alice's key at once.
	r = h.do("PATCH", "/properties/"+prop+"/members/"+alice, rootKey, map[string]any{"role": "staff",
		"overrides": map[string]any{"add": []string{"install-lock"}}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	members = invMembers(t, h.do("GET", "/properties/"+prop+"/members", rootKey, nil))
	require.Len(t, members, 1)
	assert.Equal(t, []string{"support", "install-lock"}, members[0].Permissions)
	assert.Equal(t, http.StatusForbidden, h.invite(aliceKey, prop, map[string]any{"email": "dan@example.com", "role": "staff"}).Status)
	assert.Equal(t, http.StatusOK, h.do("GET", "/properties/"+prop+"/members", aliceKey, nil).Status, "support still reads")
	assert.Equal(t, http.StatusBadRequest, h.do("PATCH", "/properties/"+prop+"/members/"+alice, rootKey, map[string]any{"role": "x"}).Status)

	// Removal takes the grants away.
	r = h.do("DELETE", "/properties/"+prop+"/members/"+alice, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Empty(t, invMembers(t, h.do("GET", "/properties/"+prop+"/members", rootKey, nil)))
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/properties/"+prop+"/members", aliceKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/properties/"+prop+"/members/"+alice, rootKey, nil).Status)
	u = h.do("GET", "/users/"+alice, rootKey, nil)
	assert.NotContains(t, string(u.Data), prop)

	// Alice may be invited again once she left.
	r = h.invite(rootKey, prop, map[string]any{"email": "alice@example.com", "role": "user"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	r = h.do("POST", "/invitations/"+r.field("invitationId")+"/accept", aliceKey, map[string]string{"token": r.field("token")})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, "user", r.field("role"))
	again = h.invite(rootKey, prop, map[string]any{"email": "alice@example.com", "role": "staff"})
	assert.Equal(t, http.StatusBadRequest, again.Status, "already a member")

	// Deleting the user ends their memberships.
	require.Len(t, invMembers(t, h.do("GET", "/properties/"+prop+"/members", rootKey, nil)), 1)
	r = h.do("DELETE", "/users/"+alice, rootKey, nil)
	require.Less(t, r.Status, 300, r.Error)
	assert.Empty(t, invMembers(t, h.do("GET", "/properties/"+prop+"/members", rootKey, nil)))
}

func TestInvitationsNeedAManager(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	support := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": prop})
	other := h.grpProperty(rootKey)
	manager := h.newKey(rootKey, map[string]string{"permission": "manage-access", "propertyId": other})

	assert.Equal(t, http.StatusForbidden, h.invite(support, prop, map[string]any{"email": "a@b.c", "role": "staff"}).Status)
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/properties/"+prop+"/invitations", support, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("GET", "/properties/"+prop+"/members", support, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.invite(manager, prop, map[string]any{"email": "a@b.c", "role": "staff"}).Status)
	r := h.invite(manager, other, map[string]any{"email": "a@b.c", "role": "staff"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	tenant := h.newAccount()
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/invitations/"+r.field("invitationId"), tenant, nil).Status)
}

// A `me` key carries its user's userPermissions, and follows them at once.
func TestMeKeyCarriesItsUsersPermissions(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	other := h.grpProperty(rootKey)
	id, key := h.invUser("Eva", "eva@example.com")
	groups := "/properties/" + prop + "/groups"
	assert.Equal(t, http.StatusForbidden, h.do("GET", groups, key, nil).Status)

	put := func(perms ...map[string]string) {
		t.Helper()
		r := h.do("PUT", "/users/"+id, rootKey, map[string]any{"displayName": "Eva", "userPermissions": perms,
			"private": map[string]string{"email": "eva@example.com"}})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	put(map[string]string{"permission": "manage-access", "propertyId": prop})
	assert.Equal(t, http.StatusOK, h.do("GET", groups, key, nil).Status)
	r := h.do("POST", groups, key, map[string]any{"displayName": "Cleaners", "groupType": "staff"})
	assert.Equal(t, http.StatusCreated, r.Status, r.Error)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/properties/"+other+"/groups", key, nil).Status, "only that property")

	fred := h.grpUser(rootKey, "Fred")
	put(map[string]string{"permission": "me", "userId": fred})
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/users/"+fred, key, nil).Status, "a `me` grant for another user is not taken over")
	assert.Equal(t, http.StatusOK, h.do("GET", "/users/"+id, key, nil).Status)
	put()
	assert.Equal(t, http.StatusForbidden, h.do("GET", groups, key, nil).Status, "taken away at once")
}

// A member whose overrides remove every permission of their role holds
// none: `permissions: []`, never null, in the member the PATCH answers,
// in the list and in the member an acceptance answers.
func TestMemberWithoutPermissionsListsThemEmpty(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	alice, aliceKey := h.invUser("Alice", "alice@example.com")
	permissionsOf := func(r reply) string {
		t.Helper()
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(r.Data, &m))
		return string(m["permissions"])
	}
	r := h.invite(rootKey, prop, map[string]any{"email": "alice@example.com", "role": "staff",
		"overrides": map[string]any{"remove": []string{"support"}}})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	r = h.do("POST", "/invitations/"+r.field("invitationId")+"/accept", aliceKey, map[string]string{"token": r.field("token")})
	assert.Equal(t, "[]", permissionsOf(r), "accepted")

	r = h.do("PATCH", "/properties/"+prop+"/members/"+alice, rootKey, map[string]any{"role": "manager"})
	assert.Equal(t, `["manage-access","install-lock","support"]`, permissionsOf(r))
	r = h.do("PATCH", "/properties/"+prop+"/members/"+alice, rootKey, map[string]any{"role": "staff",
		"overrides": map[string]any{"remove": []string{"support"}}})
	assert.Equal(t, "[]", permissionsOf(r), "patched")

	list := h.do("GET", "/properties/"+prop+"/members", rootKey, nil)
	require.Equal(t, http.StatusOK, list.Status, list.Error)
	var page struct {
		Members []map[string]json.RawMessage `json:"members"`
	}
	require.NoError(t, json.Unmarshal(list.Data, &page))
	require.Len(t, page.Members, 1)
	assert.Equal(t, "[]", string(page.Members[0]["permissions"]), "listed")
}
