package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A forged page token whose cursor is past 2^63-1 (here 2^64-1, which a
// signed read-model position would read as -1) is a 400 naming pageToken,
// not the first page again.
func TestPageTokenBeyond63BitsIsA400(t *testing.T) {
	h := newHarness(t)
	w := h.buildMatrixWorld()
	forged := "cDEuMTg0NDY3NDQwNzM3MDk1NTE2MTU" // base64url("p1.18446744073709551615")
	for _, path := range []string{
		"/properties", "/locks", "/events?eventSource=all", "/accounts/keys", "/accounts/children", "/accounts/webhooks",
		"/accounts/webhooks/" + w.ids["webhookId"] + "/deliveries", "/bookings", "/properties/" + w.ids["propertyId"] + "/areas",
		"/properties/" + w.ids["propertyId"] + "/groups", "/properties/" + w.ids["propertyId"] + "/groups/" + w.ids["userGroupId"] + "/users",
		"/users/" + w.ids["userId"] + "/groups", "/users/" + w.ids["userId"] + "/devices", "/bookings/" + w.ids["bookingId"] + "/access-codes",
		"/timeline/activity",
	} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		status, raw := h.matrixCall("GET", path+sep+"pageSize=1&pageToken="+forged, w.ownerA, matrixBody{})
		var env reply
		assert.NoError(t, json.Unmarshal([]byte(raw), &env), "%s: %s", path, raw)
		assert.Equal(t, http.StatusBadRequest, status, "%s: %s", path, raw)
		assert.True(t, strings.HasPrefix(env.Error, "pageToken: "), "%s: %s", path, raw)
	}
}
