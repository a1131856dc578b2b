package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/queries"
)

// limitsBodyIgnored are the operations with a request body in
// /openapi.json that read none (or not JSON), and why; every other one must
// refuse a body over MaxBodyBytes with 413.
var limitsBodyIgnored = map[string]string{
	"installLock":             "takes no body",
	"uninstallLock":           "takes no body",
	"triggerEventProcessing":  "takes no body",
	"assignFirmwareVersion":   "takes its target in the query",
	"unassignFirmwareVersion": "takes its target in the query",
	"replayWebhookDelivery":   "takes no body",
	"uploadFirmwareVersion":   "an image of up to 64 MiB, not JSON: its own limit is tested in firmware_test.go",
}

// Every operation that takes a JSON body answers one over MaxBodyBytes with
// 413 in the error envelope, with the ids of real entities in its path so
// the handler gets as far as reading the body.
func TestBodiesOverTheLimitAre413(t *testing.T) {
	h := newHarness(t)
	w := h.buildMatrixWorld()
	ops := h.matrixOps()
	huge := `{"displayName":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`
	checked := 0
	for _, op := range ops {
		if op.RequestBody == nil || len(op.Security) == 0 {
			continue
		}
		if _, ok := limitsBodyIgnored[op.OperationID]; ok {
			continue
		}
		path, missing := w.fill(op.Path)
		require.Empty(t, missing, "%s: no id for %v", op.OperationID, missing)
		t.Run(op.OperationID, func(t *testing.T) {
			b := matrixBody{raw: []byte(huge), contentType: "application/json"}
			if mk, ok := matrixBodies[op.OperationID]; ok {
				b.header = mk(w).header // the signature headers of the syncs
			}
			key := w.ownerA
			if op.OperationID == "acceptPropertyInvitation" {
				key = w.lacking["me"] // a user's key, so the handler reads the body
			}
			status, raw := h.matrixCall(op.Method, path, key, b)
			assert.Equal(t, http.StatusRequestEntityTooLarge, status, "%s %s: %.200s", op.Method, op.Path, raw)
			var env struct {
				Success *bool  `json:"success"`
				Error   string `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(raw), &env), "%.200s", raw)
			require.NotNil(t, env.Success)
			assert.False(t, *env.Success)
			assert.Contains(t, env.Error, "larger than")
		})
		checked++
	}
	assert.Greater(t, checked, 25)
}

// pageSize above queries.MaxPageSize is a 400 naming it on every family of
// lists; MaxPageSize itself is served.
func TestPageSizeOverTheLimitIs400(t *testing.T) {
	h := newHarness(t)
	w := h.buildMatrixWorld()
	lists := []string{
		"/properties", "/locks", "/bookings", "/events?eventSource=all", "/accounts/keys", "/accounts/children",
		"/timeline/activity", "/properties/{propertyId}/areas", "/properties/{propertyId}/groups",
		"/properties/{propertyId}/bookings", "/properties/{propertyId}/members", "/properties/{propertyId}/invitations",
		"/properties/{propertyId}/groups/{userGroupId}/users", "/users/{userId}/devices", "/users/{userId}/groups",
		"/locks/{lockId}/logs", "/users/{userId}/logs", "/properties/{propertyId}/logs",
		"/accounts/webhooks", "/accounts/webhooks/{webhookId}/deliveries", "/users/{userId}/properties/{propertyId}/groups",
		"/bookings/{bookingId}/access-codes",
	}
	for _, list := range lists {
		path, missing := w.fill(list)
		require.Empty(t, missing)
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		r := h.do("GET", path+sep+"pageSize=500", w.ownerA, nil)
		assert.Equal(t, http.StatusOK, r.Status, "%s at the maximum: %s", list, r.Error)
		r = h.do("GET", path+sep+"pageSize=501", w.ownerA, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s over the maximum", list)
		assert.Contains(t, r.Error, "pageSize", list)
	}
	require.Equal(t, 500, queries.MaxPageSize, "the test's sizes are the documented limit")
}

// Ranges longer than a year (366 days) are a 400 naming the parameter.
func TestLongRangesAre400(t *testing.T) {
	h := newHarness(t)
	w := h.buildMatrixWorld()
	p := w.ids["propertyId"]
	from := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		path, field string
		ok          bool
	}{
		{"/properties/" + p + "/calendar?from=" + rfc(from) + "&to=" + rfc(from.AddDate(0, 0, 366)), "", true},
		{"/properties/" + p + "/calendar?from=" + rfc(from) + "&to=" + rfc(from.AddDate(0, 0, 367)), "to", false},
		{"/calendar/upcoming?days=366", "", true},
		{"/calendar/upcoming?days=367", "days", false},
		{"/properties/" + p + "/timeline/upcoming?days=366", "", true},
		{"/properties/" + p + "/timeline/upcoming?days=367", "days", false},
	} {
		r := h.do("GET", c.path, w.ownerA, nil)
		if c.ok {
			assert.Equal(t, http.StatusOK, r.Status, "%s: %s", c.path, r.Error)
			continue
		}
		assert.Equal(t, http.StatusBadRequest, r.Status, c.path)
		assert.True(t, strings.HasPrefix(r.Error, c.field), "%s: %q names %s", c.path, r.Error, c.field)
	}
}
