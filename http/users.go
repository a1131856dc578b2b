package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/projections/entities"
)

// PersonalData opens the personal data sealed in user documents with the
// user's own key; it fails with personaldata.ErrErased once the key is
// erased.
type PersonalData interface {
	Open(ctx context.Context, subjectID uuid.UUID, sealed string) ([]byte, error)
}

func (a *API) userRoutes() []route {
	return []route{
		{method: "POST", path: "/users", operation: "createUser", summary: "Create a user (manage-access or owner).", handler: a.createUser},
		{method: "GET", path: "/users/{userId}", operation: "getUser", summary: "A user; `private` for owner, manage-access or the user (owner, manage-access, support or me).", handler: a.getUser},
		{method: "GET", path: "/me", operation: "getMe", summary: "The user a `me` key acts for.", handler: a.getMe},
		{method: "PUT", path: "/users/{userId}", operation: "updateUser", summary: "Replace a user's writable fields (manage-access or owner).", handler: a.updateUser},
		{method: "DELETE", path: "/users/{userId}", operation: "deleteUser", summary: "Delete a user: their devices are deprovisioned, the API keys whose only permission is `me` for them deleted, their bookings ended and the guests on them erased, their memberships ended, the pending invitations to their e-mail withdrawn; their personal data becomes unreadable (manage-access or owner).", handler: a.deleteUser},
	}
}

// errNoUserKey is GET /me by a key that acts for no user.
var errNoUserKey = domain.NewError(domain.ErrNotFound, "this key acts for no user")

// userInput is the writable part of a user, for POST and PUT.
type userInput struct {
	DisplayName     string                `json:"displayName"`
	UserPermissions []permissionInput     `json:"userPermissions"`
	ExternalRefs    []externalRefInput    `json:"externalRefs"`
	Private         *commands.UserPrivate `json:"private"`
}

// fields turns the input into the command's grants and external refs.
func (in userInput) fields() ([]domain.Grant, []domain.ExternalRef, error) {
	grants, err := grantsOf("userPermissions", in.UserPermissions)
	if err != nil {
		return nil, nil, err
	}
	refs, err := externalRefsOf(in.ExternalRefs)
	if err != nil {
		return nil, nil, err
	}
	return grants, refs, nil
}

// userOutput is a user as answered: the document with `private` opened in
// place of the sealed text.
type userOutput struct {
	entities.User
	Private *commands.UserPrivate `json:"private,omitempty"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var in userInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	grants, refs, err := in.fields()
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.CreateUser(r.Context(), commands.CreateUser{
		DisplayName: in.DisplayName, Permissions: grants, ExternalRefs: refs, Private: in.Private,
	})
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeUser(w, r, http.StatusCreated, res.UserID)
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "userId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeUser(w, r, http.StatusOK, id)
}

func (a *API) getMe(w http.ResponseWriter, r *http.Request) {
	id := actorOf(r).UserID
	if id == uuid.Nil {
		writeErr(w, r, errNoUserKey)
		return
	}
	a.writeUser(w, r, http.StatusOK, id)
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "userId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in userInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	grants, refs, err := in.fields()
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.UpdateUser(r.Context(), id, commands.UpdateUser{
		DisplayName: in.DisplayName, Permissions: grants, ExternalRefs: refs, Private: in.Private,
	})
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeUser(w, r, http.StatusOK, id)
}

// deleteUser answers the user as deleted (typeState deleted, no private).
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "userId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.DeleteUser(r.Context(), id)
	err = a.settleDeletion(r.Context(), res, err)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.LastState(r.Context(), entities.KindUser, actorOf(r).AccountID.String(), id.String())
	if err == nil {
		doc.JSON, err = grantsInScope(actorOf(r), id, doc.JSON)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, doc.JSON)
}

// writeUser answers a user the caller may read.
func (a *API) writeUser(w http.ResponseWriter, r *http.Request, status int, id uuid.UUID) {
	out, err := a.userJSON(r, id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, status, out)
}

// userJSON is a user as the caller may see it: 403 for a caller that may
// not read users, the same 404 for a user of another account as for a
// missing one, and `private` only for owner, manage-access or the user,
// opened with the user's key (absent once it is erased).
func (a *API) userJSON(r *http.Request, id uuid.UUID) ([]byte, error) {
	actor := actorOf(r)
	if !commands.CanReadUser(actor, id) {
		return nil, commands.ErrPermission
	}
	withPrivate := commands.SeesUserPrivate(actor, id) && a.personal != nil
	doc, err := a.entities.Get(r.Context(), entities.KindUser, actor.AccountID.String(), id.String(), withPrivate)
	if err == nil {
		doc.JSON, err = grantsInScope(actor, id, doc.JSON)
	}
	if err != nil || !withPrivate {
		return doc.JSON, err
	}
	var out userOutput
	if err := json.Unmarshal(doc.JSON, &out.User); err != nil {
		return nil, fmt.Errorf("user %s: %w", id, err)
	}
	if out.Private, err = commands.OpenUserPrivate(r.Context(), a.personal, id, out.SealedPrivate); err != nil {
		return nil, err
	}
	out.SealedPrivate = ""
	return json.Marshal(out)
}

// grantsInScope drops from a user's userPermissions the grants for
// properties a property-scoped caller does not see, so a key of one
// property does not learn the others' ids; the user sees all of theirs.
func grantsInScope(actor domain.Actor, userID uuid.UUID, user []byte) ([]byte, error) {
	if commands.SeesProperty(actor, uuid.Nil) || commands.IsUser(actor, userID) {
		return user, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(user, &doc); err != nil {
		return nil, fmt.Errorf("user document: %w", err)
	}
	var grants []map[string]any
	if raw, ok := doc["userPermissions"]; !ok || json.Unmarshal(raw, &grants) != nil {
		return user, nil
	}
	kept := make([]map[string]any, 0, len(grants))
	for _, g := range grants {
		p, _ := g["propertyId"].(string)
		id, err := uuid.Parse(p)
		if p == "" || (err == nil && commands.SeesProperty(actor, id)) {
			kept = append(kept, g)
		}
	}
	if len(kept) == len(grants) {
		return user, nil
	}
	raw, err := json.Marshal(kept)
	if err != nil {
		return nil, err
	}
	doc["userPermissions"] = raw
	return json.Marshal(doc)
}
