package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Routing answers an unknown path 404 and a known path with another method
// 405, each in the envelope, and a path that only shares a route's first
// letters, or only matches once cleaned, is unknown. Each route's first
// segment has its own router;
// paths of no known segment go to the router of all routes.
func TestRoutingAnswersUnknownPathsAndMethods(t *testing.T) {
	h := newHarness(t)
	l := h.provisionLock(rootKey, "Door")
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/no-such-thing", http.StatusNotFound},
		{"GET", "/locksmith", http.StatusNotFound},
		{"GET", "/locks/" + l.LockID + "/no-such-thing", http.StatusNotFound},
		{"DELETE", "/locks", http.StatusMethodNotAllowed},
		{"PATCH", "/locks/" + l.LockID, http.StatusMethodNotAllowed},
		{"GET", "/locks/" + l.LockID, http.StatusOK},
		{"GET", "/keys/server", http.StatusOK},
		{"GET", "/", http.StatusNotFound},
		{"GET", "/locks/" + l.LockID + "/", http.StatusNotFound},
		// An unclean path names no route: no bare 301 outside the envelope
		// that a client would follow with a GET whatever its method.
		{"GET", "/locks/../keys/server", http.StatusNotFound},
		{"GET", "//locks/" + l.LockID, http.StatusNotFound},
		{"POST", "//properties", http.StatusNotFound},
		// An escaped slash splits no segment.
		{"GET", "/keys%2Fserver", http.StatusNotFound},
		{"GET", "/locks%2f" + l.LockID, http.StatusNotFound},
		// A query that does not parse is refused, not read without the
		// pair the parser would drop.
		{"GET", "/locks?propertyId=" + l.LockID + "%zz", http.StatusBadRequest},
		{"GET", "/locks/" + l.LockID + "?x=%zz", http.StatusBadRequest},
		{"GET", "/locks?a=1;b=2", http.StatusBadRequest},
		{"GET", "/healthz", http.StatusOK},
		{"POST", "/healthz", http.StatusMethodNotAllowed},
	} {
		r := h.do(tc.method, tc.path, rootKey, nil)
		assert.Equal(t, tc.want, r.Status, "%s %s: %s", tc.method, tc.path, r.Error)
		if tc.want != http.StatusOK {
			assert.False(t, r.Success)
			assert.NotEmpty(t, r.Error, "%s %s answers in the envelope", tc.method, tc.path)
		}
	}
}
