package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections/eventlist"
)

// TestOpenAPIDocumentsEveryRoute fails when the router serves a route that
// /openapi.json does not describe.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	h.decodeOpenAPI(&doc)
	assert.Equal(t, "3.0.3", doc.OpenAPI)

	router := h.srv.Config.Handler.(interface{ Walk(mux.WalkFunc) error })
	count := 0
	err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil || path == "/openapi.json" {
			return nil
		}
		methods, _ := route.GetMethods()
		for _, m := range methods {
			count++
			_, ok := doc.Paths[path][strings.ToLower(m)]
			assert.True(t, ok, "%s %s is served but not in /openapi.json", m, path)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, count, 5)
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	h := newHarness(t)
	assert.Equal(t, http.StatusOK, h.do("GET", "/healthz", "", nil).Status)
	assert.Equal(t, http.StatusOK, h.do("GET", "/readyz", "", nil).Status)
	h.do("GET", "/account", rootKey, nil)
	resp, err := h.client.Get(h.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	assert.Contains(t, b.String(), `accessd_http_requests_total{method="GET",route="/account",status="200"} 1`)
}

// openAPIOp is one operation of /openapi.json as the tests read it.
type openAPIOp struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	} `json:"parameters"`
	Responses map[string]json.RawMessage `json:"responses"`
	Security  []map[string][]string      `json:"security"`
}

// queryParams maps an operation's query parameters to whether each is
// required.
func (o openAPIOp) queryParams() map[string]bool {
	out := map[string]bool{}
	for _, p := range o.Parameters {
		if p.In == "query" {
			out[p.Name] = p.Required
		}
	}
	return out
}

// decodeOpenAPI reads /openapi.json, a 200, into doc.
func (h *harness) decodeOpenAPI(doc any) {
	h.t.Helper()
	resp, err := h.client.Get(h.srv.URL + "/openapi.json")
	require.NoError(h.t, err)
	defer resp.Body.Close()
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(doc))
}

// The document says what the routes answer: a create's 201, the query
// parameters of the core lists (eventSource and every filter of /events,
// paging), uninstallMode; and it documents itself.
func TestOpenAPIDocumentsStatusesAndQueryParameters(t *testing.T) {
	h := newHarness(t)
	var doc struct {
		Paths map[string]map[string]openAPIOp `json:"paths"`
	}
	h.decodeOpenAPI(&doc)
	op := func(method, path string) openAPIOp {
		o, ok := doc.Paths[path][strings.ToLower(method)]
		require.True(t, ok, "%s %s is not in /openapi.json", method, path)
		return o
	}

	propertyID := h.mkProperty(rootKey, "Doc")
	userID := h.createUser(rootKey, map[string]any{"displayName": "Ana"})
	devicePub, deviceEnc := deviceKeys(t)
	lockPub, lockEnc := lockKeys(t)
	for _, c := range []struct {
		method, path, template string
		body                   any
	}{
		{"POST", "/properties", "/properties", map[string]any{"displayName": "P"}},
		{"POST", areasPath(propertyID), "/properties/{propertyId}/areas", map[string]any{"displayName": "A", "areaType": "common"}},
		{"POST", grpListPath(propertyID), "/properties/{propertyId}/groups", map[string]any{"displayName": "G", "groupType": "staff"}},
		{"POST", "/users", "/users", map[string]any{"displayName": "Ben"}},
		{"POST", "/users/" + userID + "/devices", "/users/{userId}/devices", deviceBody("Phone", devicePub, deviceEnc)},
		{"POST", "/locks", "/locks", map[string]any{"displayName": "Door", "publicKey": lockPub, "encryptionPublicKey": lockEnc}},
		{"POST", "/accounts/keys", "/accounts/keys", map[string]any{"displayName": "k", "apiPermissions": []any{perm("support")}}},
		{"POST", "/accounts/register", "/accounts/register", map[string]any{"displayName": "Child"}},
		{"GET", "/properties", "/properties", nil},
	} {
		r := h.do(c.method, c.path, rootKey, c.body)
		require.Less(t, r.Status, 300, "%s %s: %s", c.method, c.path, r.Error)
		var codes []string
		for code := range op(c.method, c.template).Responses {
			codes = append(codes, code)
		}
		assert.Contains(t, codes, strconv.Itoa(r.Status),
			"%s %s answers %d, which /openapi.json does not say", c.method, c.template, r.Status)
	}

	events := op("GET", "/events").queryParams()
	assert.Equal(t, map[string]bool{"eventSource": true}, map[string]bool{"eventSource": events["eventSource"]}, "eventSource is required")
	for param := range eventlist.IDColumns {
		assert.Contains(t, events, param, "GET /events?%s= is not documented", param)
	}
	for _, path := range []string{"/events", "/properties", "/properties/{propertyId}/areas", "/properties/{propertyId}/groups",
		"/properties/{propertyId}/groups/{userGroupId}/users", "/users/{userId}/groups", "/users/{userId}/properties/{propertyId}/groups",
		"/users/{userId}/devices", "/locks", "/accounts/keys", "/accounts/children"} {
		params := op("GET", path).queryParams()
		assert.Contains(t, params, "pageSize", "GET %s", path)
		assert.Contains(t, params, "pageToken", "GET %s", path)
	}
	assert.Contains(t, op("GET", "/locks").queryParams(), "propertyId")
	assert.Equal(t, map[string]bool{"uninstallMode": true}, op("PUT", "/locks/{lockId}/uninstall").queryParams())
	for _, path := range []string{"/bookings", "/properties/{propertyId}/bookings"} {
		params := op("GET", path).queryParams()
		for _, name := range []string{"status", "areaId", "startDateTime[after]", "startDateTime[strictly_before]", "endDateTime[before]", "pageToken"} {
			assert.Contains(t, params, name, "GET %s", path)
		}
	}

	op("GET", "/openapi.json")
}

// The lock operations that take or answer a lock's writable fields say
// that externalRefs is one, and that PUT clears refs it is not sent.
func TestOpenAPIDescribesLockExternalRefs(t *testing.T) {
	h := newHarness(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Summary     string          `json:"summary"`
			RequestBody json.RawMessage `json:"requestBody"`
		} `json:"paths"`
	}
	h.decodeOpenAPI(&doc)
	for _, c := range []struct{ method, path string }{{"post", "/locks"}, {"put", "/locks/{lockId}"}, {"get", "/locks/{lockId}"}} {
		op, ok := doc.Paths[c.path][c.method]
		require.True(t, ok, "%s %s", c.method, c.path)
		assert.Contains(t, op.Summary, "externalRefs", "%s %s", c.method, c.path)
		if c.method != "get" {
			assert.NotEmpty(t, op.RequestBody, "%s %s", c.method, c.path)
		}
	}
	assert.Contains(t, doc.Paths["/locks/{lockId}"]["put"].Summary, "an absent purchaseDate or externalRefs clears it")
}

// Every operation that takes a key documents its 403, and the 403 of a
// key left with no live grant (every property it was scoped to deleted)
// is among what it says; such a key meets it on an operation it could
// call before.
func TestOpenAPIDocumentsTheForbiddenOfAKeyWithNoLiveGrant(t *testing.T) {
	h := newHarness(t)
	var doc struct {
		Paths      map[string]map[string]openAPIOp `json:"paths"`
		Components struct {
			Responses map[string]struct {
				Description string `json:"description"`
			} `json:"responses"`
		} `json:"components"`
	}
	h.decodeOpenAPI(&doc)
	secured := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if len(op.Security) == 0 {
				assert.NotContains(t, op.Responses, "403", "%s %s takes no key", method, path)
				continue
			}
			secured++
			assert.JSONEq(t, `{"$ref": "#/components/responses/Forbidden"}`, string(op.Responses["403"]), "%s %s", method, path)
		}
	}

	require.Greater(t, secured, 50, "operations that take a key")

	p := h.grpProperty(rootKey)
	key := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": p})
	require.Equal(t, http.StatusOK, h.do("GET", "/properties/"+p, key, nil).Status)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/properties/"+p, rootKey, nil).Status)
	r := h.do("GET", "/account", key, nil)
	require.Equal(t, http.StatusForbidden, r.Status)
	assert.Contains(t, doc.Components.Responses["Forbidden"].Description, r.Error)
}
