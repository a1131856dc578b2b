package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/invitation"
)

// propertyMembersWorld: property P (to be deleted) and Q (stays). Carol is
// an owner of P through a membership; Bob a staff member of P and a
// manager of Q; Dave holds support in P and in Q in his own
// userPermissions, not through a membership.
type propertyMembersWorld struct {
	p, q                 string
	carol, bob, dave     string
	carolKey, managerAll string
}

func (h *harness) propertyMembersWorld() propertyMembersWorld {
	h.t.Helper()
	var w propertyMembersWorld
	w.p, w.q = h.grpProperty(rootKey), h.grpProperty(rootKey)
	join := func(userKey, email, prop, role string) {
		r := h.invite(rootKey, prop, map[string]any{"email": email, "role": role})
		require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
		r = h.do("POST", "/invitations/"+r.field("invitationId")+"/accept", userKey, map[string]string{"token": r.field("token")})
		require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	}
	w.carol, w.carolKey = h.invUser("Carol", "carol@example.com")
	join(w.carolKey, "carol@example.com", w.p, "owner")
	var bobKey string
	w.bob, bobKey = h.invUser("Bob", "bob@example.com")
	join(bobKey, "bob@example.com", w.p, "staff")
	join(bobKey, "bob@example.com", w.q, "manager")
	w.dave = h.createUser(rootKey, map[string]any{"displayName": "Dave", "userPermissions": []any{
		scopedPerm("support", w.p), scopedPerm("support", w.q)}})
	w.managerAll = h.newKey(rootKey, perm("manage-access"))
	h.settle()
	for _, u := range []string{w.carol, w.bob, w.dave} {
		require.Contains(h.t, h.userPermissionsOf(u), w.p)
	}
	return w
}

// userPermissionsOf is the user's userPermissions as GET /users/{id}
// shows them, as JSON text.
func (h *harness) userPermissionsOf(userID string) string {
	h.t.Helper()
	r := h.do("GET", "/users/"+userID, rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var u struct {
		UserPermissions json.RawMessage `json:"userPermissions"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &u))
	return string(u.UserPermissions)
}

// putUserAsRead sends back, with PUT, the user as GET /users/{id} shows
// them.
func (h *harness) putUserAsRead(key, userID string) reply {
	h.t.Helper()
	r := h.do("GET", "/users/"+userID, rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var u struct {
		DisplayName     string          `json:"displayName"`
		UserPermissions json.RawMessage `json:"userPermissions"`
		ExternalRefs    json.RawMessage `json:"externalRefs"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &u))
	return h.do("PUT", "/users/"+userID, key, map[string]any{"displayName": u.DisplayName,
		"userPermissions": u.UserPermissions, "externalRefs": u.ExternalRefs})
}

// requireMembersGone checks what the deletion of P ends, and what it
// leaves.
func (w propertyMembersWorld) requireMembersGone(h *harness) {
	t := h.t
	t.Helper()
	h.settle()
	for name, u := range map[string]string{"carol": w.carol, "bob": w.bob} {
		assert.False(t, h.isPropertyMember(w.p, u), "%s is no member of the deleted property", name)
	}
	assert.True(t, h.isPropertyMember(w.q, w.bob), "a membership of another property stays")
	for name, u := range map[string]string{"carol": w.carol, "bob": w.bob, "dave": w.dave} {
		assert.NotContains(t, h.userPermissionsOf(u), w.p, "%s lists no scope of the deleted property", name)
	}
	assert.Contains(t, h.userPermissionsOf(w.bob), w.q, "bob stays a manager of Q")
	assert.Contains(t, h.userPermissionsOf(w.dave), w.q, "dave keeps his support in Q")
	m := h.do("GET", "/properties/"+w.q+"/members", rootKey, nil)
	require.Equal(t, http.StatusOK, m.Status, m.Error)
	assert.Contains(t, string(m.Data), w.bob)
}

// Deleting a property ends its memberships, the deleting owner's own
// included (the rule that nobody removes themself is for removing a
// member, not for a property that is no more), and takes its scopes out
// of every user's userPermissions, those a membership wrote and those
// given directly; a user is then PUT back as read. A repeated DELETE is a
// 404 that records nothing.
func TestDeletingAPropertyEndsItsMembershipsAndScopes(t *testing.T) {
	h := newHarness(t)
	w := h.propertyMembersWorld()

	r := h.do("DELETE", "/properties/"+w.p, w.carolKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	w.requireMembersGone(h)

	head := h.headPosition()
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/properties/"+w.p, rootKey, nil).Status)
	h.settle()
	assert.Equal(t, head, h.headPosition(), "a repeated deletion records nothing")

	put := h.putUserAsRead(w.managerAll, w.dave)
	assert.Equal(t, http.StatusOK, put.Status, put.Error)
	w.requireMembersGone(h)
}

// A property deletion interrupted right after PropertyDeleted, or made
// before deletions ended memberships, left the members and their scopes;
// the members cannot be removed one by one (the property is not found),
// and the repeated DELETE of an account-wide manager (404) ends them.
func TestInterruptedPropertyDeletionEndsTheMembershipsOnTheRepeat(t *testing.T) {
	h := newHarness(t)
	w := h.propertyMembersWorld()
	h.recordPropertyDeleted(w.p)
	require.True(t, h.isPropertyMember(w.p, w.carol))
	require.Contains(t, h.userPermissionsOf(w.dave), w.p)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/properties/"+w.p+"/members/"+w.bob, w.managerAll, nil).Status)

	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/properties/"+w.p, w.managerAll, nil).Status)
	w.requireMembersGone(h)
}

// A property with more members than one append ends (membersBatch,
// 200) has them all removed; the same request again under its
// Idempotency-Key answers 200 and records nothing.
func TestDeletingAPropertyWithManyMembers(t *testing.T) {
	h := newHarness(t)
	w := h.propertyMembersWorld()
	ctx := h.ownerContext()
	actor, _ := domain.ActorFrom(ctx)
	const n = 450
	members := commands.Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve}
	_, err := commands.Execute(ctx, h.service.Pipeline(), members, uuid.MustParse(w.p), "ManyMembers",
		func(commands.Loaded[invitation.State], time.Time) ([]domain.Event, error) {
			var events []domain.Event
			for i := range n {
				inv, user := uuid.New(), uuid.New()
				events = append(events,
					invitation.PropertyInvitationCreated{InvitationID: inv, AccountID: actor.AccountID, PropertyID: uuid.MustParse(w.p),
						EmailHash: fmt.Sprintf("h%d", i), Role: invitation.RoleStaff, TokenHash: "t"},
					invitation.PropertyInvitationAccepted{InvitationID: inv, AccountID: actor.AccountID, PropertyID: uuid.MustParse(w.p),
						UserID: user, Role: invitation.RoleStaff})
			}
			return events, nil
		})
	require.NoError(t, err)
	h.settle()

	r := h.doKeyed("DELETE", "/properties/"+w.p, rootKey, "delete-many", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	w.requireMembersGone(h)
	l, err := commands.Load(context.Background(), h.service.Pipeline(), members, uuid.MustParse(w.p))
	require.NoError(t, err)
	assert.Empty(t, l.State.Members())

	head := h.headPosition()
	r = h.doKeyed("DELETE", "/properties/"+w.p, rootKey, "delete-many", nil)
	assert.Equal(t, http.StatusOK, r.Status, "the same request again: %s", r.Error)
	h.settle()
	assert.Equal(t, head, h.headPosition(), "the replay records nothing")
}

// A membership whose grants a PUT /users took away still ends with the
// user's deletion: the cascade finds it in the read model, not only
// through the user's grants.
func TestDeletingAUserEndsMembershipsWhoseGrantsWereTakenAway(t *testing.T) {
	h := newHarness(t)
	w := h.propertyMembersWorld()
	memberOf := func(propertyID string) bool {
		for _, m := range invMembers(t, h.do("GET", "/properties/"+propertyID+"/members", rootKey, nil)) {
			if m.UserID == w.bob {
				return true
			}
		}
		return false
	}
	r := h.do("PUT", "/users/"+w.bob, rootKey, map[string]any{"displayName": "Bob", "userPermissions": []any{}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.settle()
	require.NotContains(t, h.userPermissionsOf(w.bob), w.p)
	require.NotContains(t, h.userPermissionsOf(w.bob), w.q)
	require.True(t, memberOf(w.p), "the PUT leaves the membership")
	require.True(t, memberOf(w.q), "the PUT leaves the membership")

	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+w.bob, rootKey, nil).Status)
	h.settle()
	assert.False(t, memberOf(w.p), "a deleted user is a member of no property")
	assert.False(t, memberOf(w.q), "a deleted user is a member of no property")
}
