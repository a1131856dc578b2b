package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// pastYear9999 is 10000-01-01T04:00:00Z: RFC 3339 (and so no event, no
// answer, no stored column) can carry it.
const pastYear9999 = "9999-12-31T23:00:00-05:00"

// Every date a request gives, in a body or in the query, that is past year
// 9999 in UTC is a 400 in the envelope naming the field: not a 500 from an
// append or an answer that cannot encode it, nor a filter compared as a
// text that sorts before every real date.
func TestDatesPastYear9999AreA400NamingTheField(t *testing.T) {
	h := newHarness(t)
	w := h.buildMatrixWorld()
	id := w.ids
	free := h.mkArea(w.ownerA, id["propertyId"], "empty", "")
	start := rfc(w.start.Add(24 * time.Hour))
	booking := func(start, end string) matrixBody {
		return matrixBody{json: map[string]any{"areaId": free, "guest": map[string]any{"userId": id["userId"]},
			"startDateTime": start, "endDateTime": end, "source": "web"}}
	}
	q := url.QueryEscape(pastYear9999)
	lockPub, lockEnc := lockKeys(t)
	schedule := func(field string) matrixBody {
		return matrixBody{json: map[string]any{"displayName": "flat", "areaType": "resident", "accessList": []any{map[string]any{
			"accessType": "group", "userGroupId": id["userGroupId"], "schedule": map[string]any{field: pastYear9999}}}}}
	}
	other := w.all[1] // a user of A in no group yet
	for _, c := range []struct {
		method, path string
		body         matrixBody
		field        string
	}{
		{"POST", "/properties/" + id["propertyId"] + "/bookings", booking(start, pastYear9999), "endDateTime"},
		{"POST", "/properties/" + id["propertyId"] + "/bookings", booking(pastYear9999, "9999-12-31T23:30:00-05:00"), "startDateTime"},
		{"PATCH", "/bookings/" + id["bookingId"], matrixBody{json: map[string]any{"endDateTime": pastYear9999}}, "endDateTime"},
		{"PATCH", "/bookings/" + id["bookingId"], matrixBody{json: map[string]any{"startDateTime": pastYear9999, "endDateTime": "9999-12-31T23:30:00-05:00"}}, "startDateTime"},
		{"POST", grpMemberPath(id["propertyId"], id["userGroupId"], other), matrixBody{json: map[string]any{"validUntil": pastYear9999}}, "validUntil"},
		{"POST", grpMemberPath(id["propertyId"], id["userGroupId"], other), matrixBody{json: map[string]any{"validFrom": pastYear9999}}, "validFrom"},
		{"PUT", "/properties/" + id["propertyId"] + "/areas/" + id["areaId"], schedule("validFrom"), "accessList[0].schedule.validFrom"},
		{"PUT", "/properties/" + id["propertyId"] + "/areas/" + id["areaId"], schedule("validUntil"), "accessList[0].schedule.validUntil"},
		{"POST", "/locks", matrixBody{json: map[string]any{"displayName": "door", "publicKey": lockPub, "encryptionPublicKey": lockEnc,
			"purchaseDate": pastYear9999}}, "purchaseDate"},
		{"PUT", "/locks/" + id["lockId"], matrixBody{json: map[string]any{"displayName": "door", "purchaseDate": pastYear9999}}, "purchaseDate"},
		{"PUT", "/locks/" + id["lockId"], matrixBody{json: map[string]any{"displayName": "door",
			"externalRefs": []any{map[string]any{"id": "1", "source": "pms", "lastSyncDate": pastYear9999}}}}, "externalRefs[0].lastSyncDate"},
		{"GET", "/properties/" + id["propertyId"] + "/bookings?startDateTime[before]=" + q, matrixBody{}, "startDateTime[before]"},
		{"GET", "/bookings?endDateTime[strictly_after]=" + q, matrixBody{}, "endDateTime[strictly_after]"},
		{"GET", "/audit/locks/" + id["lockId"] + "/access?at=" + q, matrixBody{}, "at"},
		{"GET", "/audit/decisions?lockId=" + id["lockId"] + "&userDeviceId=" + id["userDeviceId"] + "&at=" + q, matrixBody{}, "at"},
		{"GET", "/audit/locks/" + id["lockId"] + "/history?to=" + q, matrixBody{}, "to"},
		{"GET", "/audit/properties/" + id["propertyId"] + "/history?from=" + q + "&to=" + q, matrixBody{}, "from"},
		{"GET", "/audit/users/" + id["userId"] + "/history?format=csv&to=" + q, matrixBody{}, "to"},
	} {
		status, raw := h.matrixCall(c.method, c.path, w.ownerA, c.body)
		var env reply
		assert.NoError(t, json.Unmarshal([]byte(raw), &env), "%s %s: %s", c.method, c.path, raw)
		if assert.Equal(t, http.StatusBadRequest, status, "%s %s: %s", c.method, c.path, raw) {
			assert.False(t, env.Success)
			assert.True(t, strings.HasPrefix(env.Error, c.field+": "), "%s %s: %q does not name %s", c.method, c.path, env.Error, c.field)
		}
	}

	// A what-if booking past 9999 fails as the real command would.
	out := h.whatIf(w.ownerA, map[string]any{"method": "POST", "path": "/properties/" + id["propertyId"] + "/bookings",
		"body": booking(start, pastYear9999).json})
	if assert.Len(t, out.Commands, 1) {
		assert.Equal(t, http.StatusBadRequest, out.Commands[0].HTTPStatus)
		assert.True(t, strings.HasPrefix(out.Commands[0].Error, "endDateTime: "), out.Commands[0].Error)
	}

	// The last second of 9999 is still a date.
	status, raw := h.matrixCall("POST", "/properties/"+id["propertyId"]+"/bookings", w.ownerA, booking(start, "9999-12-31T23:59:59Z"))
	assert.Equal(t, http.StatusCreated, status, raw)
}
