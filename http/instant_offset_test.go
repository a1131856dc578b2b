package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// outsideRFC3339Offsets are offsets Go's parser takes and RFC 3339 does
// not: its hours run 00-23 and its minutes 00-59.
var outsideRFC3339Offsets = []string{"+24:00", "-24:00", "+23:60", "+24:59", "-00:60"}

// A date-time whose offset is outside RFC 3339's is a 400 naming the
// field, in the query and in a body; the largest offsets it allows are
// taken.
func TestDateTimeOffsetOutsideRFC3339IsA400(t *testing.T) {
	h := newHarness(t)
	l := h.provisionLock(rootKey, "door")
	property := h.lockProperty(rootKey)
	group := h.grpGroup(rootKey, property, "Cleaners")
	user := h.grpUser(rootKey, "Ana")
	access := "/audit/locks/" + l.LockID + "/access?at="
	history := "/audit/locks/" + l.LockID + "/history?"
	refused := func(r reply, field, what string) {
		t.Helper()
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", what, r.Error)
		assert.True(t, strings.HasPrefix(r.Error, field+":"), "%s: %s", what, r.Error)
	}
	for _, offset := range outsideRFC3339Offsets {
		at := url.QueryEscape("2026-11-25T12:00:00" + offset)
		refused(h.do("GET", access+at, rootKey, nil), "at", offset)
		refused(h.do("GET", history+"from="+at, rootKey, nil), "from", offset)
		refused(h.do("GET", history+"to="+at, rootKey, nil), "to", offset)
		body := map[string]any{"validUntil": "2027-01-01T00:00:00" + offset}
		refused(h.do("POST", grpMemberPath(property, group, user), rootKey, body), "validUntil", offset)
	}

	for _, offset := range []string{"+23:59", "-23:59", "+00:00", "-00:00"} {
		at := url.QueryEscape("2026-11-25T12:00:00" + offset)
		r := h.do("GET", access+at, rootKey, nil)
		assert.Equal(t, http.StatusOK, r.Status, "%s: %s", offset, r.Error)
		r = h.do("GET", history+"from="+at+"&to="+at, rootKey, nil)
		assert.Equal(t, http.StatusOK, r.Status, "%s: %s", offset, r.Error)
	}
	r := h.do("POST", grpMemberPath(property, group, user), rootKey, map[string]any{"validUntil": "2027-01-01T00:00:00+23:59"})
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
}
