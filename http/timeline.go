package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/queries"
)

func (a *API) timelineRoutes() []route {
	return []route{
		{method: "GET", path: "/timeline/activity", operation: "listActivity", handler: a.listActivity,
			summary: "The activity feed newest first: one readable entry per event ({at, actor, action, subject, propertyId, details}), door openings and denials included; optionally one property's."},
	}
}

var errActivityReader = domain.NewError(domain.ErrForbidden, "this key cannot read the activity feed")

func (a *API) listActivity(w http.ResponseWriter, r *http.Request) {
	if a.activity == nil {
		writeFailure(w, http.StatusNotFound, "no such route")
		return
	}
	actor := actorOf(r)
	scope, ok := readScope(actor)
	if !ok {
		writeErr(w, r, errActivityReader)
		return
	}
	propertyID, err := queryID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	// One property's feed: the property must exist in the caller's scope
	// (404 otherwise, as for every property id), not answer an empty feed.
	if propertyID != nil {
		if _, err := a.readProperty(r, *propertyID); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	f := queries.ActivityFilter{PropertyIDs: scope}
	if propertyID != nil {
		f.PropertyID = propertyID.String()
	}
	items, next, err := a.activity.List(r.Context(), actor.AccountID.String(), f, page)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !actor.Can(domain.PermOwner, uuid.Nil) {
		for i := range items {
			if ownerOnlyActivity(items[i].Action) {
				items[i].Details = json.RawMessage(`{}`)
			}
		}
	}
	out := map[string]any{"activity": items}
	if next != "" {
		out["pageToken"] = next
	}
	writeData(w, http.StatusOK, out)
}

// ownerOnlyActivity reports whether an entry is about what only an
// account-wide owner may read (GET /accounts/keys, /accounts/webhooks): its
// details (a key's name and permissions, a webhook's URL, which may carry
// the receiver's own secret) are left out for every other reader.
func ownerOnlyActivity(action string) bool {
	return strings.HasPrefix(action, "api-key.") || strings.HasPrefix(action, "webhook.")
}
