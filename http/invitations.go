package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

func (a *API) invitationRoutes() []route {
	const (
		invitations = "/properties/{propertyId}/invitations"
		members     = "/properties/{propertyId}/members"
	)
	return []route{
		{method: "POST", path: invitations, operation: "createPropertyInvitation", handler: a.createPropertyInvitation,
			summary: "Invite an e-mail to a property with a role (owner|manager|staff|user) and overrides; answers a one-time token (owner or manager of the property)."},
		{method: "GET", path: invitations, operation: "listPropertyInvitations", handler: a.listPropertyInvitations,
			summary: "A property's pending invitations (owner or manager of the property)."},
		{method: "DELETE", path: "/invitations/{invitationId}", operation: "deletePropertyInvitation", handler: a.deletePropertyInvitation,
			summary: "Withdraw a pending invitation (owner or manager of its property)."},
		{method: "POST", path: "/invitations/{invitationId}/accept", operation: "acceptPropertyInvitation", handler: a.acceptPropertyInvitation,
			summary: "Accept an invitation with its token, by a `me` key of the user whose e-mail was invited."},
		{method: "GET", path: members, operation: "listPropertyMembers", handler: a.listInProperty(entities.KindMember, "members"),
			summary: "A property's members with their roles, overrides and permissions."},
		{method: "PATCH", path: members + "/{userId}", operation: "updatePropertyMember", handler: a.updatePropertyMember,
			summary: "Change a member's role and overrides (owner or manager of the property)."},
		{method: "DELETE", path: members + "/{userId}", operation: "removePropertyMember", handler: a.removePropertyMember,
			summary: "Remove a member from a property; removing yourself: 400 (owner or manager of the property)."},
	}
}

var errMembersReader = domain.NewError(domain.ErrForbidden, "this key cannot manage this property's members")

// invitationInput is the body of createPropertyInvitation.
type invitationInput struct {
	Email     string               `json:"email"`
	Role      invitation.Role      `json:"role"`
	Overrides invitation.Overrides `json:"overrides"`
}

// memberInput is the body of updatePropertyMember.
type memberInput struct {
	Role      invitation.Role      `json:"role"`
	Overrides invitation.Overrides `json:"overrides"`
}

func (a *API) createPropertyInvitation(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in invitationInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.InviteToProperty(r.Context(), commands.InviteToProperty{
		PropertyID: propertyID, Email: in.Email, Role: in.Role, Overrides: in.Overrides,
	})
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.Get(r.Context(), entities.KindInvitation, actorOf(r).AccountID.String(), res.InvitationID.String(), true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out, err := a.invitationView(r, doc)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusCreated, withField(out, "token", res.Token))
}

// invitationView answers a stored invitation with its e-mail opened.
func (a *API) invitationView(r *http.Request, doc queries.Document) ([]byte, error) {
	var inv entities.Invitation
	if err := json.Unmarshal(doc.JSON, &inv); err != nil {
		return nil, fmt.Errorf("invitation %s: %w", doc.ID, err)
	}
	email := ""
	if inv.SealedEmail != "" && a.personal != nil {
		id, _ := uuid.Parse(inv.InvitationID)
		plain, err := a.personal.Open(r.Context(), id, inv.SealedEmail)
		switch {
		case errors.Is(err, personaldata.ErrErased):
		case err != nil:
			return nil, fmt.Errorf("invitation %s: %w", doc.ID, err)
		default:
			email = string(plain)
		}
	}
	out, err := json.Marshal(inv.Public())
	if err != nil {
		return nil, err
	}
	return withField(out, "email", email), nil
}

// manageMembers checks that the caller is an owner or manager of the
// property: one that may only read it gets 403, one that cannot see it 404.
func (a *API) manageMembers(r *http.Request, propertyID uuid.UUID) error {
	actor := actorOf(r)
	if _, err := a.readProperty(r, propertyID); err != nil {
		return err
	}
	if !actor.CanAny(propertyID, domain.PermManageAccess) {
		return errMembersReader
	}
	return nil
}

func (a *API) listPropertyInvitations(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	page, err := a.pageOf(r)
	if err == nil {
		err = a.manageMembers(r, propertyID)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	docs, next, err := a.entities.List(r.Context(), entities.KindInvitation, actorOf(r).AccountID.String(),
		queries.ListFilter{PropertyID: propertyID.String()}, page, true)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	for i, d := range docs {
		if docs[i].JSON, err = a.invitationView(r, d); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	writeList(w, "invitations", docs, next)
}

// invitationProperty finds the property of an invitation of the caller's
// account, pending or not: the command answers one no longer pending, and
// finishes it first (it erases its e-mail's key again).
func (a *API) invitationProperty(r *http.Request) (uuid.UUID, uuid.UUID, error) {
	id, err := pathID(r, "invitationId")
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	doc, err := a.entities.LastState(r.Context(), entities.KindInvitation, actorOf(r).AccountID.String(), id.String())
	if errors.Is(err, queries.ErrEntityNotFound) {
		return uuid.Nil, uuid.Nil, invitation.ErrNotFound
	}
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	propertyID, err := uuid.Parse(doc.PropertyID)
	return id, propertyID, err
}

func (a *API) deletePropertyInvitation(w http.ResponseWriter, r *http.Request) {
	id, propertyID, err := a.invitationProperty(r)
	if err == nil {
		// An invitation to a property outside the caller's scope is not
		// found, as one that does not exist (not "property not found").
		err = commands.AuthorizeRead(actorOf(r), propertyID, invitation.ErrNotFound)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.WithdrawInvitation(r.Context(), propertyID, id)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]string{"invitationId": id.String(), "propertyId": propertyID.String(),
		"status": string(invitation.StatusWithdrawn)})
}

func (a *API) acceptPropertyInvitation(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if actorOf(r).UserID == uuid.Nil {
		// Refused before the invitation is looked up, so a key that is no
		// user's cannot tell which invitation ids exist.
		writeErr(w, r, commands.ErrNotAUser)
		return
	}
	id, propertyID, err := a.invitationProperty(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.AcceptInvitation(r.Context(), propertyID, id, in.Token)
	if err == nil {
		err = a.settle(r.Context(), res) // empties the key cache when the user's grants change
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerMember(w, r, http.StatusOK, propertyID, actorOf(r).UserID)
}

func (a *API) answerMember(w http.ResponseWriter, r *http.Request, status int, propertyID, userID uuid.UUID) {
	doc, err := a.entities.Get(r.Context(), entities.KindMember, actorOf(r).AccountID.String(),
		entities.MemberID(propertyID.String(), userID.String()), false)
	if errors.Is(err, queries.ErrEntityNotFound) {
		err = invitation.ErrMemberNotFound
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, status, doc.JSON)
}

// memberPath reads the property and user of a member route.
func memberPath(r *http.Request) (uuid.UUID, uuid.UUID, error) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	userID, err := pathID(r, "userId")
	return propertyID, userID, err
}

func (a *API) updatePropertyMember(w http.ResponseWriter, r *http.Request) {
	propertyID, userID, err := memberPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in memberInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.UpdatePropertyMember(r.Context(), commands.UpdatePropertyMember{
		PropertyID: propertyID, UserID: userID, Role: in.Role, Overrides: in.Overrides,
	})
	if err == nil {
		err = a.settle(r.Context(), res) // empties the key cache when the user's grants change
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerMember(w, r, http.StatusOK, propertyID, userID)
}

func (a *API) removePropertyMember(w http.ResponseWriter, r *http.Request) {
	propertyID, userID, err := memberPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.RemovePropertyMember(r.Context(), propertyID, userID)
	if err == nil {
		err = a.settle(r.Context(), res) // empties the key cache when the user's grants change
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]string{"userId": userID.String(), "propertyId": propertyID.String()})
}
