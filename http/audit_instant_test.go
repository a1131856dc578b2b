package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The audit's `at` (and the other query instants) take lower-case t and z,
// and refuse an instant finer than a nanosecond with a 400 naming `at`.
func TestAuditAtLowerCaseAndTooManyDigits(t *testing.T) {
	h := newHarness(t)
	l := h.provisionLock(rootKey, "door")
	r := h.do("GET", "/audit/locks/"+l.LockID+"/access?at=2026-11-25t06:28:41z", rootKey, nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
	r = h.do("GET", "/audit/locks/"+l.LockID+"/access?at=2026-11-25T06:28:41.1234567891Z", rootKey, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.False(t, r.Success)
	assert.True(t, strings.HasPrefix(r.Error, "at"), r.Error)
	r = h.do("GET", "/audit/locks/"+l.LockID+"/history?from=2026-11-25t06:28:41z&to=2026-11-26t06:28:41.5z", rootKey, nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
}
