package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/accessd/accessd/queries"
)

// queryParam is one query parameter an operation reads. queryParams is
// the one list of them: /openapi.json documents it, the router checks
// repetitions (singleValuedQuery) and, on a paged operation, drops every
// other parameter against it (onlyDeclaredQuery), and the handlers read
// query parameters only through queryGet, queryAll and queryPrefixed,
// whose every read the tests check against it.
type queryParam struct {
	// name is the parameter's name; one ending in "[" stands for every key
	// that starts with it, one per comparison (startDateTime[after]).
	name     string
	required bool
	// multi: every value counts (repeated or, for status, comma-separated);
	// any other parameter given twice is a 400.
	multi bool
	// typ and format are the value's OpenAPI schema type and format.
	typ, format string
	enum        []string
	desc        string
}

// qp is an optional string parameter; the methods below refine it.
func qp(name, desc string) queryParam { return queryParam{name: name, typ: "string", desc: desc} }

func (q queryParam) req() queryParam              { q.required = true; return q }
func (q queryParam) many() queryParam             { q.multi = true; return q }
func (q queryParam) of(typ string) queryParam     { q.typ = typ; return q }
func (q queryParam) as(format string) queryParam  { q.format = format; return q }
func (q queryParam) oneOf(v ...string) queryParam { q.enum = v; return q }

// idParam is an optional UUID filter.
func idParam(name, desc string) queryParam { return qp(name, desc).as("uuid") }

// openAPI is the parameter's entries in /openapi.json: one per key a name
// ending in "[" stands for.
func (q queryParam) openAPI() []map[string]any {
	schema := map[string]any{"type": q.typ}
	if q.format != "" {
		schema["format"] = q.format
	}
	if len(q.enum) > 0 {
		schema["enum"] = q.enum
	}
	if q.multi {
		schema = map[string]any{"type": "array", "items": schema}
	}
	names := []string{q.name}
	if strings.HasSuffix(q.name, "[") {
		names = names[:0]
		for _, op := range queries.BoundOps() {
			names = append(names, q.name+op+"]")
		}
	}
	var out []map[string]any
	for _, name := range names {
		p := map[string]any{"name": name, "in": "query", "required": q.required, "schema": schema, "description": q.desc}
		if q.multi {
			p["style"], p["explode"] = "form", true
		}
		out = append(out, p)
	}
	return out
}

// pageParams are the query parameters of a paged list.
var pageParams = []queryParam{
	qp("pageSize", fmt.Sprintf("Items per page, 1 to %d (default %d).", queries.MaxPageSize, queries.DefaultPageSize)).of("integer"),
	qp("pageToken", "The pageToken of the previous page's answer; it continues only the list, filters included, that issued it."),
}

// paged is params followed by pageParams, in a slice of its own.
func paged(params ...queryParam) []queryParam {
	return append(slices.Clone(params), pageParams...)
}

// bookingFilters are the filters of both booking lists (bookingFilter).
var bookingFilters = []queryParam{
	idParam("areaId", "Only the bookings of this area."),
	qp("status", "Only bookings in these statuses (booked, checkedIn, checkedOut, cancelled, noCheckIn, completed), "+
		"repeated or comma-separated.").many(),
	qp("startDateTime[", "Bounds on the start (RFC 3339); every value is one more bound.").as("date-time").many(),
	qp("endDateTime[", "Bounds on the end (RFC 3339); every value is one more bound.").as("date-time").many(),
}

// historyParams are the query parameters of the audit histories (writeHistory).
var historyParams = []queryParam{
	qp("from", "Only items from this instant on (RFC 3339; default: the history's start).").as("date-time"),
	qp("to", "Only items up to this instant (RFC 3339; default: no end); not before from.").as("date-time"),
	qp("format", "json (NDJSON, the default) or csv.").oneOf(queries.HistoryJSON, queries.HistoryCSV),
}

// firmwareTargetParams name where a firmware version is assigned (firmwareTarget).
var firmwareTargetParams = []queryParam{
	qp("scope", "Where: a lock, an area, a property, or global.").req().oneOf("lock", "area", "property", "global"),
	idParam("lockId", "The lock, with scope=lock only (then required)."),
	idParam("areaId", "The area, with scope=area only (then required)."),
	idParam("propertyId", "The property, with scope=property only (then required)."),
}

// queryParams are the query parameters of every operation that reads
// any. A paged operation's list is complete: its handler sees no other
// parameter (onlyDeclaredQuery). On every operation a parameter not
// listed is read by no handler, so it is ignored, repeated or not.
var queryParams = map[string][]queryParam{
	"listEvents": paged(
		qp("eventSource", "Which events: all, property, area, userGroup, lock, user, userDevice, apiKey, firmware or key.").req().
			oneOf("all", "property", "area", "userGroup", "lock", "user", "userDevice", "apiKey", "firmware", "key"),
		idParam("propertyId", "Only events of this property (which must be one the caller reads: 404 otherwise)."),
		idParam("areaId", "Only events of this area."),
		idParam("userGroupId", "Only events of this user group."),
		idParam("lockId", "Only events of this lock."),
		idParam("userId", "Only events of this user."),
		idParam("userDeviceId", "Only events of this user device."),
		idParam("apiKeyId", "Only events of this API key."),
		idParam("keyId", "Only events of this key."),
		qp("firmwareVersion", "Only events of this firmware version."),
	),
	"listLocks": paged(
		idParam("propertyId", "Only the locks of this property."),
		qp("outOfSync", "true: only the locks whose confirmed key map lags the one they should hold.").of("boolean"),
	),
	"listActivity":         paged(idParam("propertyId", "Only this property's feed (404 when the caller does not read it).")),
	"listPropertyBookings": paged(bookingFilters...),
	"listBookings":         paged(bookingFilters...),
	"uninstallLock": {
		qp("uninstallMode", "area: out of its area only; property: out of the property; owner: released from the account.").req().
			oneOf("area", "property", "owner"),
	},
	"listPropertyCalendar": {
		qp("from", "Start of the range (RFC 3339; default: now).").as("date-time"),
		qp("to", fmt.Sprintf("End of the range (RFC 3339; default: from plus 31 days), after from and at most %d days on.", maxCalendarDays)).as("date-time"),
	},
	"listUpcomingCalendar": {
		qp("days", fmt.Sprintf("Days ahead from now, 1 to %d (default 14).", maxCalendarDays)).of("integer"),
	},
	"listUpcomingTimeline": {
		qp("from", "First day (YYYY-MM-DD) in the property's timezone (default: today there).").as("date"),
		qp("days", fmt.Sprintf("Number of days, 1 to %d (default 7).", maxCalendarDays)).of("integer"),
	},
	"auditLockAccess": {qp("at", "The instant asked about (RFC 3339).").req().as("date-time")},
	"auditDecision": {
		idParam("lockId", "The lock.").req(),
		idParam("userDeviceId", "The user device presented; give exactly one of userDeviceId and accessCodeId."),
		idParam("accessCodeId", "The access code entered; give exactly one of userDeviceId and accessCodeId."),
		qp("at", "The instant asked about (RFC 3339).").req().as("date-time"),
	},
	"auditLockHistory":            historyParams,
	"auditUserHistory":            historyParams,
	"auditPropertyHistory":        historyParams,
	"assignFirmwareVersion":       firmwareTargetParams,
	"unassignFirmwareVersion":     firmwareTargetParams,
	"listProperties":              pageParams,
	"listAreas":                   pageParams,
	"listUserGroups":              pageParams,
	"listUsersForGroup":           pageParams,
	"listGroupsForUser":           pageParams,
	"listGroupsForUserAtProperty": pageParams,
	"listUserDevices":             pageParams,
	"listApiKeys":                 pageParams,
	"listChildAccounts":           pageParams,
	"listWebhooks":                pageParams,
	"listWebhookDeliveries":       pageParams,
	"listAccessCodes":             pageParams,
	"listPropertyInvitations":     pageParams,
	"listPropertyMembers":         pageParams,
	"listLockAccessLogs":          pageParams,
	"listUserAccessLogs":          pageParams,
	"listPropertyAccessLogs":      pageParams,
}

// declaredQuery indexes queryParams by operation: the names, and the
// names read in full (multi).
type declaredQuery struct{ names, multi []string }

var declaredQueries = func() map[string]declaredQuery {
	out := map[string]declaredQuery{}
	for op, params := range queryParams {
		var d declaredQuery
		for _, p := range params {
			d.names = append(d.names, p.name)
			if p.multi {
				d.multi = append(d.multi, p.name)
			}
		}
		out[op] = d
	}
	return out
}()

// queryReadHook, when set (by the tests), is told of every query
// parameter a handler reads: the operation (the route's name) and the
// name read, a prefix for queryPrefixed.
var queryReadHook func(operation, name string)

func noteQueryRead(r *http.Request, name string) {
	if queryReadHook == nil {
		return
	}
	operation := ""
	if rt := mux.CurrentRoute(r); rt != nil {
		operation = rt.GetName()
	}
	queryReadHook(operation, name)
}

// queryGet is the first value of a query parameter ("" when absent). The
// handlers read the query only through it, queryAll and queryPrefixed,
// and only parameters their operation declares (queryParams).
func queryGet(r *http.Request, name string) string {
	noteQueryRead(r, name)
	return r.URL.Query().Get(name)
}

// queryAll is every value of a query parameter.
func queryAll(r *http.Request, name string) []string {
	noteQueryRead(r, name)
	return r.URL.Query()[name]
}

// queryPrefixed is every query parameter whose key starts with prefix, a
// declared name ending in "[".
func queryPrefixed(r *http.Request, prefix string) url.Values {
	noteQueryRead(r, prefix)
	out := url.Values{}
	for key, values := range r.URL.Query() {
		if strings.HasPrefix(key, prefix) {
			out[key] = values
		}
	}
	return out
}
