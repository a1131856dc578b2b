package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

// accessLogReaders may read the access logs of a property's locks (with
// `owner`).
var accessLogReaders = []domain.Permission{domain.PermSupport, domain.PermManageAccess}

var errAccessLogPermission = domain.NewError(domain.ErrForbidden, "reading access logs needs owner, support or manage-access")

func (a *API) accessLogRoutes() []route {
	return []route{
		{method: "GET", path: "/locks/{lockId}/logs", operation: "listLockAccessLogs", handler: a.listLockAccessLogs,
			summary: "The lock's access logs, newest first by accessDate, paged (owner, support, manage-access)."},
		{method: "GET", path: "/users/{userId}/logs", operation: "listUserAccessLogs", handler: a.listUserAccessLogs,
			summary: "The user's access logs across locks, newest first by accessDate, paged (owner, support, manage-access; me for oneself)."},
		{method: "GET", path: "/properties/{propertyId}/logs", operation: "listPropertyAccessLogs", handler: a.listPropertyAccessLogs,
			summary: "The access logs of the property's locks, newest first by accessDate, paged (owner, support, manage-access)."},
	}
}

func (a *API) listLockAccessLogs(w http.ResponseWriter, r *http.Request) {
	actor := actorOf(r)
	id, err := pathID(r, "lockId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.Get(r.Context(), entities.KindLock, actor.AccountID.String(), id.String(), false)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	propertyID, _ := uuid.Parse(doc.PropertyID) // uuid.Nil: in no property
	if err := canReadAccessLogs(actor, propertyID, lockNotFound(id)); err != nil {
		writeErr(w, r, err)
		return
	}
	// The lock's entries keep the property it was in when each was
	// recorded: a lock that moved holds entries of its former property,
	// which a caller scoped to the new one may not read.
	f := queries.AccessLogFilter{LockID: id.String(), PropertyIDs: accessLogScope(actor)}
	a.writeAccessLogs(w, r, f)
}

func (a *API) listPropertyAccessLogs(w http.ResponseWriter, r *http.Request) {
	actor := actorOf(r)
	id, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := canReadAccessLogs(actor, id, property.ErrNotFound); err != nil {
		writeErr(w, r, err)
		return
	}
	if _, err := a.entities.Get(r.Context(), entities.KindProperty, actor.AccountID.String(), id.String(), false); err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeAccessLogs(w, r, queries.AccessLogFilter{PropertyID: id.String()})
}

// listUserAccessLogs answers a user's logs: all of them to account-wide
// readers and to the user themself (`me`), those of their properties to
// readers scoped to some properties.
func (a *API) listUserAccessLogs(w http.ResponseWriter, r *http.Request) {
	actor := actorOf(r)
	id, err := pathID(r, "userId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	f := queries.AccessLogFilter{UserID: id.String()}
	if !commands.IsUser(actor, id) {
		f.PropertyIDs = accessLogScope(actor)
		if f.PropertyIDs != nil && len(f.PropertyIDs) == 0 {
			writeErr(w, r, errAccessLogPermission)
			return
		}
	}
	if _, err := a.entities.Get(r.Context(), entities.KindUser, actor.AccountID.String(), id.String(), false); err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeAccessLogs(w, r, f)
}

// accessLogScope is the properties whose entries the actor may read: nil
// for an account-wide reader (every entry, those recorded in no property
// too), else those of its grants that read access logs (empty: none).
// It goes into the list's query, so a page is whole and its token resumes
// the same filtered list.
func accessLogScope(actor domain.Actor) []string {
	if actor.CanAny(uuid.Nil, accessLogReaders...) {
		return nil
	}
	ids := []string{}
	for _, g := range actor.Grants {
		if g.PropertyID != uuid.Nil && actor.CanAny(g.PropertyID, accessLogReaders...) && !slices.Contains(ids, g.PropertyID.String()) {
			ids = append(ids, g.PropertyID.String())
		}
	}
	return ids
}

// canReadAccessLogs checks that the actor may read the access logs of a
// property's locks: notFound when the property is outside its scope, 403
// when it sees the property but may not read logs.
func canReadAccessLogs(actor domain.Actor, propertyID uuid.UUID, notFound error) error {
	if actor.CanAny(propertyID, accessLogReaders...) {
		return nil
	}
	if err := commands.AuthorizeRead(actor, propertyID, notFound); err != nil {
		return err
	}
	return errAccessLogPermission
}

// writeAccessLogs answers one page as {accessLogs: [...], pageToken}.
func (a *API) writeAccessLogs(w http.ResponseWriter, r *http.Request, f queries.AccessLogFilter) {
	page, err := queries.ParseAccessLogPage(queryGet(r, "pageSize"), queryGet(r, "pageToken"), a.listOf(r))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	logs, next, err := a.accessLogs.List(r.Context(), actorOf(r).AccountID.String(), f, page)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := struct {
		AccessLogs []queries.AccessLog `json:"accessLogs"`
		PageToken  string              `json:"pageToken,omitempty"`
	}{logs, next}
	raw, err := json.Marshal(out)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, raw)
}
