package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/eventlist"
	"github.com/accessd/accessd/queries"
)

// Reprocessor re-delivers one logged event to every consumer.
type Reprocessor interface {
	Reprocess(ctx context.Context, position uint64) error
}

// eventSources maps eventSource to the stream categories of its events
// (none: all). A firmware version's assignments have streams of their own.
var eventSources = map[string][]string{
	"all": nil, "property": {"property"}, "area": {"area"}, "userGroup": {"group"}, "lock": {"lock"},
	"user": {"user"}, "userDevice": {"device"}, "apiKey": {"apikey"}, "firmware": {"firmware", "firmwareassignment"}, "key": {"key"},
}

func (a *API) eventRoutes() []route {
	return []route{
		{method: "GET", path: "/events", operation: "listEvents", summary: "Events newest first, by eventSource and the ids they concern.", handler: a.listEvents},
		{method: "PUT", path: "/events/{eventId}/process", operation: "triggerEventProcessing", summary: "Re-deliver an event to every projection and consumer (owner).", handler: a.processEvent},
	}
}

var errEventReader = domain.NewError(domain.ErrForbidden, "this key cannot read events")

// readScope returns the property ids a reader may see, nil for all of them;
// a key holding only `me` reads no property data.
func readScope(actor domain.Actor) ([]string, bool) {
	var scoped []string
	any := false
	for _, g := range actor.Grants {
		if g.Permission == domain.PermMe {
			continue
		}
		any = true
		if g.PropertyID == uuid.Nil {
			return nil, true
		}
		scoped = append(scoped, g.PropertyID.String())
	}
	return scoped, any
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	actor := actorOf(r)
	scope, ok := readScope(actor)
	if !ok {
		writeErr(w, r, errEventReader)
		return
	}
	source := queryGet(r, "eventSource")
	categories, known := eventSources[source]
	if !known {
		writeErr(w, r, domain.InvalidField("eventSource", "must be one of all, property, area, userGroup, lock, user, userDevice, apiKey, firmware, key"))
		return
	}
	f := queries.EventFilter{Categories: categories, Equal: map[string]string{}, PropertyIDs: scope}
	if queryGet(r, "propertyId") != "" {
		if err := a.eventsPropertyFilter(r, scope); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	for param := range eventlist.IDColumns {
		v := queryGet(r, param)
		if v == "" {
			continue
		}
		if param != "firmwareVersion" {
			id, err := queryID(r, param)
			if err != nil {
				writeErr(w, r, err)
				return
			}
			v = id.String() // stored lower-case; any case names it
		}
		f.Equal[param] = v
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	items, next, err := a.events.List(r.Context(), actor.AccountID.String(), f, page)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if items == nil {
		items = []queries.EventItem{}
	}
	out := map[string]any{"events": items}
	if next != "" {
		out["pageToken"] = next
	}
	writeData(w, http.StatusOK, out)
}

func (a *API) processEvent(w http.ResponseWriter, r *http.Request) {
	err := requireOwner(r)
	if err == nil {
		err = decodeOptionalBody(r, &noInput{})
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	id, err := pathID(r, "eventId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	pos, _, err := a.events.Find(r.Context(), actorOf(r).AccountID.String(), id.String())
	if err == nil {
		err = a.reprocessor.Reprocess(r.Context(), pos)
	}
	var event queries.EventItem
	if err == nil {
		event, err = a.events.Get(r.Context(), actorOf(r).AccountID.String(), id.String())
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, event)
}

// eventsPropertyFilter checks a propertyId filter names a property of the
// caller's account that the caller reads: one deleted since too, whose
// events the list keeps. Any other id (another account's, one nobody has,
// the nil UUID, a property outside a scoped key's) is a 404, as in a path,
// never an empty list that looks like "no events".
func (a *API) eventsPropertyFilter(r *http.Request, scope []string) error {
	p, err := queryID(r, "propertyId")
	if err != nil {
		return err
	}
	pid := *p // id is not empty
	notFound := entityNotFound(entities.KindProperty, pid)
	if pid == uuid.Nil || (scope != nil && !slices.Contains(scope, pid.String())) {
		return notFound
	}
	if _, err := a.entities.LastState(r.Context(), entities.KindProperty, actorOf(r).AccountID.String(), pid.String()); err != nil {
		if errors.Is(err, queries.ErrEntityNotFound) {
			return notFound
		}
		return err
	}
	return nil
}
