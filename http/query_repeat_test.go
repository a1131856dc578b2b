package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A query parameter a route reads one value of, given twice, is a 400
// naming it, never the first value silently; bookings' status and date
// bounds take every value given, and a parameter the route does not
// declare, which no handler reads, is ignored however often it comes.
func TestRepeatedSingleValuedQueryParameterIsA400(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	l := h.provisionLock(rootKey, "door")
	for path, name := range map[string]string{
		"/calendar/upcoming?days=7&days=30": "days",
		"/calendar/upcoming?days=&days=30":  "days",
		"/properties/" + prop + "/calendar?from=2027-01-01T00:00:00Z&from=2027-02-01T00:00:00Z": "from",
		"/properties/" + prop + "/timeline/upcoming?from=2027-03-26&from=2027-03-27":            "from",
		"/audit/locks/" + l.LockID + "/access?at=2026-11-25T06:28:41Z&at=2026-11-26T06:28:41Z":  "at",
		"/audit/locks/" + l.LockID + "/history?format=json&format=csv":                          "format",
		"/locks?outOfSync=true&outOfSync=false":                                                 "outOfSync",
		"/properties?pageSize=1&pageSize=2":                                                     "pageSize",
		"/events?eventSource=all&eventSource=lock":                                              "eventSource",
		"/bookings?areaId=" + l.LockID + "&areaId=" + prop:                                      "areaId",
	} {
		r := h.do("GET", path, rootKey, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", path, r.Error)
		assert.False(t, r.Success, path)
		assert.True(t, strings.HasPrefix(r.Error, name+":"), "%s: %s", path, r.Error)
	}
	r := h.do("PUT", "/firmware/1.0/assign?scope=global&scope=area", rootKey, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.True(t, strings.HasPrefix(r.Error, "scope:"), r.Error)
	r = h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=area&uninstallMode=owner", rootKey, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.True(t, strings.HasPrefix(r.Error, "uninstallMode:"), r.Error)

	for _, path := range []string{
		"/bookings?status=booked&status=cancelled",
		"/bookings?startDateTime[after]=2026-01-01T00:00:00Z&startDateTime[after]=2026-02-01T00:00:00Z",
		"/properties/" + prop + "/bookings?status=booked&status=cancelled",
		"/properties?_=1&_=2",              // a paged list ignores what it does not declare
		"/properties?pageSize=&pageSize=2", // nor an empty value
		"/calendar/upcoming?days=30",
		// Nor does any other route: a parameter it does not declare is read
		// by no handler, so it is ignored, repeated or not.
		"/calendar/upcoming?days=30&_=1&_=2",
		"/properties/" + prop + "/calendar?_=1&_=2",
		"/locks/" + l.LockID + "?_=1&_=2",
		"/audit/locks/" + l.LockID + "/access?at=2026-11-25T06:28:41Z&_=1&_=2",
	} {
		r := h.do("GET", path, rootKey, nil)
		assert.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Error)
	}
}
