package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/accessd/accessd/domain"
)

var pathParam = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// openAPI builds the OpenAPI 3 document of the routes.
func openAPI(routes []route) []byte {
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		ops := paths[rt.path]
		if ops == nil {
			ops = map[string]any{}
			paths[rt.path] = ops
		}
		var params []map[string]any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{
				"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"},
			})
		}
		responses := map[string]any{"default": map[string]any{"description": "Error", "content": envelopeContent}}
		codes, ok := successCodes[rt.operation]
		if !ok {
			codes = []string{"200"}
		}
		for _, code := range codes {
			responses[code] = map[string]any{"description": "Success", "content": envelopeContent}
		}
		if !rt.public {
			responses["403"] = map[string]any{"$ref": "#/components/responses/Forbidden"}
		}
		for _, q := range queryParams[rt.operation] {
			params = append(params, q.openAPI()...)
		}
		op := map[string]any{
			"operationId": rt.operation,
			"summary":     rt.summary,
			"responses":   responses,
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if !rt.public {
			op["security"] = []map[string]any{{"apiKey": []string{}}}
		}
		if perms, ok := routePermissions[rt.operation]; ok && !rt.public {
			op["x-permissions"] = perms
		}
		if rt.lockKey {
			op["x-lock-key"] = true
		}
		if rt.method == "POST" || rt.method == "PUT" || rt.method == "PATCH" {
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		ops[strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "accessd", "version": "1"},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "x-api-key"}},
			"responses": map[string]any{"Forbidden": map[string]any{
				"description": forbiddenDescription, "content": envelopeContent,
			}},
			"schemas": map[string]any{"Envelope": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"success":    map[string]any{"type": "boolean"},
					"data":       map[string]any{},
					"error":      map[string]any{"type": "string"},
					"signatures": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				},
				"required": []string{"success"},
			}},
		},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // only maps of strings: cannot fail
	}
	return out
}

// forbiddenDescription is the 403 of every operation that takes a key.
var forbiddenDescription = "Forbidden. The key holds none of the operation's x-permissions for the resource " +
	"(a resource outside the key's scope answers 404 instead), or it is a lock's own key on an operation " +
	"not meant for it. A key whose every grant was scoped to a property since deleted holds no live grant: " +
	"it still exists (not 401) but answers 403 to every operation, with the error `" + errNoLiveGrant.Error() + "`."

var envelopeContent = map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Envelope"}}}

// successCodes are the success statuses of the operations that answer
// other than 200: creates answer 201.
var successCodes = map[string][]string{
	"createProperty": {"201"}, "createArea": {"201"}, "createUserGroup": {"201"}, "createUser": {"201"},
	"provisionUserDevice": {"201"}, "provisionLock": {"201"}, "createApiKey": {"201"}, "registerAccount": {"201"},
	"createWebhook": {"201"}, "createBooking": {"201"}, "createAccessCode": {"201"}, "registerGuest": {"201"},
	"createPropertyInvitation": {"201"},
	"uploadFirmwareVersion":    {"200", "201"}, // 201 for a version first recorded
	"replayWebhookDelivery":    {"202"},
}

// wellFormedQuery answers 400 to a request whose query does not parse (a
// malformed %-escape, a `;` separator): Go's parser would drop such a
// pair, so `?propertyId=<id>%zz` would list everything, unfiltered, and a
// mangled pageToken would read the first page again.
func wellFormedQuery(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			writeErr(w, r, domain.InvalidField("query", "is malformed: "+err.Error()))
			return
		}
		h(w, r)
	}
}

// singleValuedQuery answers 400 naming the parameter to a request that
// gives a single-valued query parameter the operation declares more than
// once (?days=7&days=30): the handlers read one value, and would silently
// take the first. A parameter the operation does not declare is read by
// no handler, so it is ignored however often it comes (a client's cache
// buster, ?_=1&_=2), as a paged operation drops it. On a paged operation
// it runs after onlyDeclaredQuery, so it sees only the declared
// parameters, their empty values dropped.
func singleValuedQuery(h http.HandlerFunc, d declaredQuery) http.HandlerFunc {
	if len(d.names) == 0 {
		return h // it reads no query parameter
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			h(w, r) // most requests: no map to build
			return
		}
		for key, values := range r.URL.Query() {
			if len(values) > 1 && declares(d.names, key) && !declares(d.multi, key) {
				writeErr(w, r, domain.InvalidField(key, "must be given once"))
				return
			}
		}
		h(w, r)
	}
}

// declares reports whether the parameter list names key, itself or by a
// name ending in "[" that key starts with.
func declares(names []string, key string) bool {
	for _, d := range names {
		if key == d || (strings.HasSuffix(d, "[") && strings.HasPrefix(key, d)) {
			return true
		}
	}
	return false
}

// pagedOperation reports whether an operation answers pages.
func pagedOperation(operation string) bool {
	return slices.Contains(declaredQueries[operation].names, "pageToken")
}

// onlyDeclaredQuery drops from a paged operation's request every query
// parameter the operation does not declare (queryParams), and every empty
// value, before the handler sees it. A page token continues only the list it was issued for,
// which listOf names by the request's query; a parameter no filter reads,
// such as a client's cache buster (`_=<time>`), would otherwise make the
// next page a 400. Dropping it, rather than leaving it out of listOf
// alone, keeps the filters and the token's list the same set: a filter
// missing from the declared list is not read at all, so one filter's
// token can never page through another filter's list.
func onlyDeclaredQuery(h http.HandlerFunc, declared []string) http.HandlerFunc {
	keep := func(key string) bool { return declares(declared, key) }
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		dropped := false
		for key, values := range q {
			// An empty value is no filter to the handlers (?propertyId=),
			// so it is no part of the list either.
			given := slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == "" })
			switch {
			case !keep(key) || len(given) == 0:
				delete(q, key)
			case len(given) < len(values):
				q[key] = given
			default:
				continue
			}
			dropped = true
		}
		if dropped {
			r2 := r.Clone(r.Context())
			r2.URL.RawQuery = q.Encode()
			r = r2
		}
		h(w, r)
	}
}
