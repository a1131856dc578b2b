package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

func (a *API) groupRoutes() []route {
	const (
		groups  = "/properties/{propertyId}/groups"
		one     = groups + "/{userGroupId}"
		members = one + "/users"
	)
	return []route{
		{method: "POST", path: groups, operation: "createUserGroup", handler: a.createUserGroup,
			summary: "Create a custom user group in a property (manage-access)."},
		{method: "GET", path: groups, operation: "listUserGroups", handler: a.listInProperty(entities.KindGroup, "groups"),
			summary: "List a property's user groups, area groups included."},
		{method: "GET", path: one, operation: "getUserGroup", handler: a.getUserGroup,
			summary: "One user group."},
		{method: "PUT", path: one, operation: "updateUserGroup", handler: a.updateUserGroup,
			summary: "Replace a user group's displayName and groupType (manage-access)."},
		{method: "DELETE", path: one, operation: "deleteUserGroup", handler: a.deleteUserGroup,
			summary: "Delete a custom user group and its memberships; an area's own group: 409 (manage-access)."},
		{method: "POST", path: members + "/{userId}", operation: "addUserToUserGroup", handler: a.addUserToUserGroup,
			summary: "Add a user to a group, optionally from validFrom until validUntil; again: replaces the window (manage-access)."},
		{method: "DELETE", path: members + "/{userId}", operation: "removeUserFromUserGroup", handler: a.removeUserFromUserGroup,
			summary: "Remove a user from a group (manage-access)."},
		{method: "GET", path: members, operation: "listUsersForGroup", handler: a.listUsersForGroup,
			summary: "A group's members with their windows, oldest membership first."},
		{method: "GET", path: "/users/{userId}/groups", operation: "listGroupsForUser", handler: a.listGroupsForUser,
			summary: "The groups a user is a member of, in the properties the caller sees (me: its own user's)."},
		{method: "GET", path: "/users/{userId}/properties/{propertyId}/groups", operation: "listGroupsForUserAtProperty", handler: a.listGroupsForUserAtProperty,
			summary: "The groups a user is a member of in one property (me: its own user's)."},
	}
}

var errGroupReader = domain.NewError(domain.ErrForbidden, "this key cannot read this user's groups")

type groupInput struct {
	DisplayName string `json:"displayName"`
	GroupType   string `json:"groupType"`
	// GroupSource may be sent, and must then be "custom": area groups come
	// with their areas.
	GroupSource *string `json:"groupSource"`
}

// updateGroupInput is every writable field of a group; its source is set
// once, at creation.
type updateGroupInput struct {
	DisplayName string `json:"displayName"`
	GroupType   string `json:"groupType"`
}

func (a *API) createUserGroup(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in groupInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if in.GroupSource != nil && *in.GroupSource != string(group.SourceCustom) {
		writeErr(w, r, domain.InvalidField("groupSource", `must be "custom": area groups are made with their areas`))
		return
	}
	res, err := a.cmd.CreateGroup(r.Context(), commands.CreateGroup{
		PropertyID: propertyID, DisplayName: in.DisplayName, GroupType: group.Type(in.GroupType),
	})
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.Get(r.Context(), entities.KindGroup, actorOf(r).AccountID.String(), res.UserGroupID.String(), false)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusCreated, doc.JSON)
}

func (a *API) getUserGroup(w http.ResponseWriter, r *http.Request) {
	doc, err := a.groupOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, doc.JSON)
}

func (a *API) updateUserGroup(w http.ResponseWriter, r *http.Request) {
	propertyID, groupID, err := groupPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in updateGroupInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.UpdateGroup(r.Context(), propertyID, groupID, group.Update{
		DisplayName: in.DisplayName, GroupType: group.Type(in.GroupType),
	})
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.getUserGroup(w, r)
}

func (a *API) deleteUserGroup(w http.ResponseWriter, r *http.Request) {
	propertyID, groupID, err := groupPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.DeleteGroup(r.Context(), propertyID, groupID)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.LastState(r.Context(), entities.KindGroup, actorOf(r).AccountID.String(), groupID.String())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, doc.JSON)
}

// windowInput is the optional body of addUserToUserGroup.
type windowInput struct {
	ValidFrom  *string `json:"validFrom"`
	ValidUntil *string `json:"validUntil"`
}

// membershipOutput answers the membership changes.
type membershipOutput struct {
	UserGroupID string     `json:"userGroupId"`
	UserID      string     `json:"userId"`
	ValidFrom   *time.Time `json:"validFrom,omitempty"`
	ValidUntil  *time.Time `json:"validUntil,omitempty"`
}

func (a *API) addUserToUserGroup(w http.ResponseWriter, r *http.Request) {
	propertyID, groupID, err := groupPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	userID, err := pathID(r, "userId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in windowInput
	if err := decodeOptionalBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	c := commands.AddMember{PropertyID: propertyID, UserGroupID: groupID, UserID: userID}
	if c.ValidFrom, err = optionalInstant("validFrom", in.ValidFrom); err != nil {
		writeErr(w, r, err)
		return
	}
	if c.ValidUntil, err = optionalInstant("validUntil", in.ValidUntil); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.AddMember(r.Context(), c)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, membershipOutput{
		UserGroupID: groupID.String(), UserID: userID.String(),
		ValidFrom: domain.UTCPtr(c.ValidFrom), ValidUntil: domain.UTCPtr(c.ValidUntil),
	})
}

func (a *API) removeUserFromUserGroup(w http.ResponseWriter, r *http.Request) {
	propertyID, groupID, err := groupPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	userID, err := pathID(r, "userId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.RemoveMember(r.Context(), propertyID, groupID, userID)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, membershipOutput{UserGroupID: groupID.String(), UserID: userID.String()})
}

func (a *API) listUsersForGroup(w http.ResponseWriter, r *http.Request) {
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.groupOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	users, next, err := a.entities.Memberships().UsersOfGroup(r.Context(), actorOf(r).AccountID.String(), doc.ID, page)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := map[string]any{"users": users}
	if next != "" {
		out["pageToken"] = next
	}
	writeData(w, http.StatusOK, out)
}

func (a *API) listGroupsForUser(w http.ResponseWriter, r *http.Request) {
	a.writeGroupsOfUser(w, r, nil)
}

func (a *API) listGroupsForUserAtProperty(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeGroupsOfUser(w, r, &propertyID)
}

// writeGroupsOfUser answers the groups of the user in the path, in one
// property, or in every property when propertyID is nil (the nil UUID
// names a property like any other: one that does not exist). A `me` key
// reads its own user's groups everywhere; other readers see the
// properties in their scope.
func (a *API) writeGroupsOfUser(w http.ResponseWriter, r *http.Request, propertyID *uuid.UUID) {
	actor := actorOf(r)
	userID, err := pathID(r, "userId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var f queries.GroupsFilter
	self := commands.IsUser(actor, userID)
	if !self {
		scope, ok := readScope(actor)
		if !ok {
			writeErr(w, r, errGroupReader)
			return
		}
		f.PropertyIDs = scope
	}
	if propertyID != nil {
		if self {
			_, err = a.entities.Get(r.Context(), entities.KindProperty, actor.AccountID.String(), propertyID.String(), false)
		} else {
			_, err = a.readProperty(r, *propertyID)
		}
		if err != nil {
			writeErr(w, r, err)
			return
		}
		f.PropertyID, f.PropertyIDs = propertyID.String(), nil
	}
	if _, err := a.entities.Get(r.Context(), entities.KindUser, actor.AccountID.String(), userID.String(), false); err != nil {
		writeErr(w, r, err)
		return
	}
	docs, next, err := a.entities.Memberships().GroupsOfUser(r.Context(), actor.AccountID.String(), userID.String(), f, page)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeList(w, "groups", docs, next)
}

// groupOf returns the group of the path if the caller may read it: a group
// of another account or property, or out of the caller's scope, is 404.
func (a *API) groupOf(r *http.Request) (queries.Document, error) {
	propertyID, groupID, err := groupPath(r)
	if err != nil {
		return queries.Document{}, err
	}
	actor := actorOf(r)
	if err := commands.AuthorizeRead(actor, propertyID, group.ErrNotFound); err != nil {
		return queries.Document{}, err
	}
	doc, err := a.entities.Get(r.Context(), entities.KindGroup, actor.AccountID.String(), groupID.String(), false)
	if err == nil && doc.PropertyID != propertyID.String() {
		err = entityNotFound(entities.KindGroup, groupID)
	}
	if err == nil {
		// A deleted property's groups went with it, as its areas did.
		if _, perr := a.entities.Get(r.Context(), entities.KindProperty, actor.AccountID.String(), propertyID.String(), false); perr != nil {
			err = entityNotFound(entities.KindGroup, groupID)
		}
	}
	return doc, err
}

// groupPath reads the property and group ids of the path.
func groupPath(r *http.Request) (propertyID, groupID uuid.UUID, err error) {
	if propertyID, err = pathID(r, "propertyId"); err != nil {
		return
	}
	groupID, err = pathID(r, "userGroupId")
	return
}

// decodeOptionalBody decodes a JSON object like decodeBody, but an empty
// body (or only white space) is no input rather than an error.
func decodeOptionalBody(r *http.Request, dst any) error {
	const peek = 512
	head, err := io.ReadAll(io.LimitReader(r.Body, peek))
	if err != nil {
		return domain.InvalidField("body", "could not read the request body")
	}
	if len(head) < peek && len(bytes.TrimSpace(head)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(head), r.Body))
	return decodeBody(r, dst)
}
