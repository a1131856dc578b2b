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
