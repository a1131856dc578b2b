package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain/invitation"
)

// recordAcceptance records PropertyInvitationAccepted and nothing more:
// an acceptance interrupted right after its event, before the e-mail's
// key was erased and the member's grants written.
func (h *harness) recordAcceptance(propertyID, invitationID, userID, token string) {
	h.t.Helper()
	var emailHash string
	for _, rec := range h.streamEvents(invitation.Category + "-" + propertyID) {
		var e invitation.PropertyInvitationCreated
		if rec.Type == e.EventType() {
			require.NoError(h.t, json.Unmarshal(rec.Data, &e))
			if e.InvitationID.String() == invitationID {
				emailHash = e.EmailHash
			}
		}
	}
	require.NotEmpty(h.t, emailHash, "invitation %s", invitationID)
	_, err := commands.Run(h.ownerContext(), h.service.Pipeline(), commands.Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve},
		uuid.MustParse(propertyID), "AcceptPropertyInvitation", invitation.Accept{InvitationID: uuid.MustParse(invitationID),
			UserID: uuid.MustParse(userID), TokenHash: commands.HashAPIKey(token), EmailHash: emailHash})
	require.NoError(h.t, err)
}

// A withdrawal or an acceptance interrupted after its event, before the
// key of the invitation's e-mail was erased, is finished by its repeat,
// which answers 404 as before (the invitation is no longer pending) and
// records nothing.
func TestARepeatedWithdrawalOrAcceptanceErasesTheEmail(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	alice, aliceKey := h.invUser("Alice", "alice@example.com")
	carol, _ := h.invUser("Carol", "carol@example.com")
	invite := func(email string) reply {
		r := h.invite(rootKey, prop, map[string]any{"email": email, "role": "staff"})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		return r
	}
	r := invite("alice@example.com")
	aliceInv, aliceToken := r.field("invitationId"), r.field("token")
	bobInv := invite("bob@example.com").field("invitationId")
	r = invite("carol@example.com")
	carolInv := r.field("invitationId")

	_, err := commands.Run(h.ownerContext(), h.service.Pipeline(), commands.Aggregate[invitation.State]{Category: invitation.Category, Evolve: invitation.Evolve},
		uuid.MustParse(prop), "DeletePropertyInvitation", invitation.Withdraw{InvitationID: uuid.MustParse(bobInv)})
	require.NoError(t, err)
	h.recordAcceptance(prop, aliceInv, alice, aliceToken)
	h.recordAcceptance(prop, carolInv, carol, r.field("token"))
	h.settle()
	for _, inv := range []string{aliceInv, bobInv, carolInv} {
		require.True(t, h.invitationEmailOpens(prop, inv), "the interrupted step left the key of %s", inv)
	}
	head := h.headPosition()

	r = h.do("DELETE", "/invitations/"+bobInv, rootKey, nil)
	assert.Equal(t, http.StatusNotFound, r.Status, "withdrawn already: %s", r.Data)
	assert.Equal(t, invitation.ErrNotFound.Error(), r.Error, "as before: as an invitation that does not exist")
	assert.False(t, h.invitationEmailOpens(prop, bobInv), "the repeated withdrawal erases the e-mail")

	r = h.do("POST", "/invitations/"+aliceInv+"/accept", aliceKey, map[string]string{"token": aliceToken})
	assert.Equal(t, http.StatusNotFound, r.Status, "accepted already: %s", r.Data)
	assert.Equal(t, invitation.ErrNotFound.Error(), r.Error, "as before: as an invitation that does not exist")
	assert.False(t, h.invitationEmailOpens(prop, aliceInv), "the repeated acceptance erases the e-mail")

	r = h.do("DELETE", "/invitations/"+carolInv, rootKey, nil)
	assert.Equal(t, http.StatusNotFound, r.Status, "an accepted invitation is not withdrawn: %s", r.Data)
	assert.Equal(t, invitation.ErrNotFound.Error(), r.Error, "as before: as an invitation that does not exist")
	assert.False(t, h.invitationEmailOpens(prop, carolInv), "a withdrawal of an accepted invitation erases the e-mail")

	h.settle()
	assert.True(t, h.isPropertyMember(prop, alice))
	assert.True(t, h.isPropertyMember(prop, carol))
	// Alice's repeat completed what the interrupted acceptance left: her
	// grants for the property, her membership's. Carol did not repeat hers.
	assert.True(t, h.holdsGrantIn(alice, prop), "the repeated acceptance writes the member's grants")
	assert.False(t, h.holdsGrantIn(carol, prop))
	assert.Greater(t, h.headPosition(), head, "the grants were recorded")

	head = h.headPosition()
	r = h.do("POST", "/invitations/"+aliceInv+"/accept", aliceKey, map[string]string{"token": aliceToken})
	assert.Equal(t, http.StatusNotFound, r.Status, "accepted already: %s", r.Data)
	h.settle()
	assert.Equal(t, head, h.headPosition(), "a further repeat records nothing")
}

// holdsGrantIn reports whether the user's userPermissions name the property.
func (h *harness) holdsGrantIn(userID, propertyID string) bool {
	h.t.Helper()
	r := h.do("GET", "/users/"+userID, rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var u struct {
		UserPermissions []struct {
			PropertyID string `json:"propertyId"`
		} `json:"userPermissions"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &u))
	for _, g := range u.UserPermissions {
		if g.PropertyID == propertyID {
			return true
		}
	}
	return false
}
