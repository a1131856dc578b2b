package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/domain/property"
)

// ownerContext is the root account's owner, for steps the tests record
// past the HTTP API (a deletion interrupted after its first event).
func (h *harness) ownerContext() context.Context {
	h.t.Helper()
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	return domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
}

// recordPropertyDeleted records PropertyDeleted and nothing more: a
// property deletion interrupted right after its event, or one made before
// deletions withdrew invitations.
func (h *harness) recordPropertyDeleted(propertyID string) {
	h.t.Helper()
	_, err := commands.Run(h.ownerContext(), h.service.Pipeline(), commands.Aggregate[property.State]{Category: property.Category, Evolve: property.Evolve},
		uuid.MustParse(propertyID), "DeleteProperty", property.Delete{})
	require.NoError(h.t, err)
	h.settle()
}

// isPropertyMember reads the property's members stream: whether the user
// is a member of it.
func (h *harness) isPropertyMember(propertyID, userID string) bool {
	h.t.Helper()
	l, err := commands.Load(context.Background(), h.service.Pipeline(),
		commands.Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve}, uuid.MustParse(propertyID))
	require.NoError(h.t, err)
	_, ok := l.State.Member(uuid.MustParse(userID))
	return ok
}

// An invitation still pending in a deleted property cannot be accepted:
// 404, as for a property that does not exist, and the invited user gains
// no membership and no grant in it.
func TestAcceptingAnInvitationOfADeletedPropertyIsNotFound(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	alice, aliceKey := h.invUser("Alice", "alice@example.com")
	r := h.invite(rootKey, prop, map[string]any{"email": "alice@example.com", "role": "manager"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	h.recordPropertyDeleted(prop)

	r = h.do("POST", "/invitations/"+r.field("invitationId")+"/accept", aliceKey, map[string]string{"token": r.field("token")})
	assert.Equal(t, http.StatusNotFound, r.Status, "accepted: %s", r.Data)
	assert.Equal(t, property.ErrNotFound.Error(), r.Error)
	assert.False(t, h.isPropertyMember(prop, alice))
	u := h.do("GET", "/users/"+alice, rootKey, nil)
	require.Equal(t, http.StatusOK, u.Status, u.Error)
	assert.NotContains(t, string(u.Data), prop, "no grant in the deleted property")
	assert.Equal(t, http.StatusForbidden, h.do("POST", "/users", aliceKey, map[string]any{"displayName": "Mallory", "userPermissions": []any{}}).Status,
		"no manager's powers through the deleted property")
}

// invitationStatus reads the property's members stream: where the
// invitation stands ("" if unknown).
func (h *harness) invitationStatus(propertyID, invitationID string) invitation.Status {
	h.t.Helper()
	l, err := commands.Load(context.Background(), h.service.Pipeline(),
		commands.Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve}, uuid.MustParse(propertyID))
	require.NoError(h.t, err)
	return l.State.InvitationStatus(uuid.MustParse(invitationID))
}

// propertyDeletionWorld: a property with two pending invitations, one
// accepted (a member) and one withdrawn by hand; another property with
// a pending invitation the deletion must leave alone.
type propertyDeletionWorld struct {
	prop, other                       string
	alice, bob, carol, dan, elsewhere string // invitations
	aliceUser, aliceKey, aliceToken   string
	carolUser                         string
}

func (h *harness) propertyDeletionWorld() propertyDeletionWorld {
	t := h.t
	t.Helper()
	w := propertyDeletionWorld{prop: h.grpProperty(rootKey), other: h.grpProperty(rootKey)}
	invite := func(prop, email string) reply {
		r := h.invite(rootKey, prop, map[string]any{"email": email, "role": "manager"})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		return r
	}
	w.aliceUser, w.aliceKey = h.invUser("Alice", "alice@example.com")
	r := invite(w.prop, "alice@example.com")
	w.alice, w.aliceToken = r.field("invitationId"), r.field("token")
	w.bob = invite(w.prop, "bob@example.com").field("invitationId")
	carolUser, carolKey := h.invUser("Carol", "carol@example.com")
	w.carolUser = carolUser
	r = invite(w.prop, "carol@example.com")
	w.carol = r.field("invitationId")
	r = h.do("POST", "/invitations/"+w.carol+"/accept", carolKey, map[string]string{"token": r.field("token")})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	w.dan = invite(w.prop, "dan@example.com").field("invitationId")
	require.Equal(t, http.StatusOK, h.do("DELETE", "/invitations/"+w.dan, rootKey, nil).Status)
	w.elsewhere = invite(w.other, "alice@example.com").field("invitationId")
	h.settle()
	return w
}

// requireDeletionDone checks what the property's deletion withdraws and
// erases, and what it leaves.
func (w propertyDeletionWorld) requireDeletionDone(h *harness) {
	t := h.t
	t.Helper()
	for _, inv := range []string{w.alice, w.bob, w.dan} {
		assert.Equal(t, invitation.StatusWithdrawn, h.invitationStatus(w.prop, inv), "invitation %s", inv)
	}
	assert.Equal(t, invitation.StatusAccepted, h.invitationStatus(w.prop, w.carol))
	for _, inv := range []string{w.alice, w.bob, w.carol, w.dan} {
		assert.False(t, h.invitationEmailOpens(w.prop, inv), "the e-mail of invitation %s is erased", inv)
	}
	assert.Equal(t, []string{w.elsewhere}, h.pendingInvitations(w.other), "another property's invitation stays")
	assert.True(t, h.invitationEmailOpens(w.other, w.elsewhere))

	r := h.do("POST", "/invitations/"+w.alice+"/accept", w.aliceKey, map[string]string{"token": w.aliceToken})
	assert.Equal(t, http.StatusNotFound, r.Status, "accepted: %s", r.Data)
	assert.False(t, h.isPropertyMember(w.prop, w.aliceUser))
	assert.False(t, h.isPropertyMember(w.prop, w.carolUser), "the deletion ends the memberships")
}

// Deleting a property withdraws its pending invitations (their tokens
// stop working) and erases the e-mails of all its invitations; a repeated
// DELETE is a 404 that records nothing, and the same request under its
// Idempotency-Key answers 200 again.
func TestDeletingAPropertyWithdrawsItsInvitations(t *testing.T) {
	h := newHarness(t)
	w := h.propertyDeletionWorld()
	assert.ElementsMatch(t, []string{w.alice, w.bob}, h.pendingInvitations(w.prop))

	r := h.doKeyed("DELETE", "/properties/"+w.prop, rootKey, "delete-prop", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	w.requireDeletionDone(h)

	h.requireRepeatedDeleteRecordsNothing("/properties/"+w.prop, "delete-prop")
	w.requireDeletionDone(h)
}

// A property deletion interrupted after PropertyDeleted, or after a
// withdrawal was recorded but before its key was erased (or made before
// deletions withdrew invitations), is finished by the repeated DELETE
// (404) of a caller who could have deleted the property and still can
// (an account-wide manager: a key scoped to the deleted property holds
// nothing any more, 403); anyone else's repeat changes nothing.
func TestInterruptedPropertyDeletionIsFinishedByTheRepeat(t *testing.T) {
	h := newHarness(t)
	w := h.propertyDeletionWorld()
	support := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": w.prop})
	managerElsewhere := h.newKey(rootKey, map[string]string{"permission": "manage-access", "propertyId": w.other})
	managerOfProp := h.newKey(rootKey, map[string]string{"permission": "manage-access", "propertyId": w.prop})
	manager := h.newKey(rootKey, perm("manage-access"))
	h.recordPropertyDeleted(w.prop)
	_, err := commands.Run(h.ownerContext(), h.service.Pipeline(), commands.Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve},
		uuid.MustParse(w.prop), "DeletePropertyInvitation", invitation.Withdraw{InvitationID: uuid.MustParse(w.bob)})
	require.NoError(t, err)
	h.settle()
	assert.Equal(t, invitation.StatusPending, h.invitationStatus(w.prop, w.alice))
	assert.True(t, h.invitationEmailOpens(w.prop, w.bob), "the interrupted withdrawal left the key")

	tenant := h.newAccount()
	head := h.headPosition()
	for _, key := range []string{managerElsewhere, tenant} {
		assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/properties/"+w.prop, key, nil).Status)
	}
	for _, key := range []string{support, managerOfProp} {
		assert.Equal(t, http.StatusForbidden, h.do("DELETE", "/properties/"+w.prop, key, nil).Status, "no live grant")
	}
	h.settle()
	assert.Equal(t, head, h.headPosition(), "a caller who could not delete the property finishes nothing")
	assert.Equal(t, invitation.StatusPending, h.invitationStatus(w.prop, w.alice))
	assert.True(t, h.invitationEmailOpens(w.prop, w.bob))

	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/properties/"+w.prop, manager, nil).Status)
	h.settle()
	w.requireDeletionDone(h)
}
