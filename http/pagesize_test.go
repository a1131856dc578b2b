package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// pageSize is plain decimal digits: a sign or a leading zero is a 400
// naming it, on the lists paged by position and on the access logs.
func TestPageSizeIsPlainDigits(t *testing.T) {
	h := newHarness(t)
	l := h.provisionLock(rootKey, "door")
	for _, list := range []string{"/properties", "/locks/" + l.LockID + "/logs"} {
		for _, size := range []string{"+2", "02", "002", "-2", " 2", "2 ", "0x2", "1e2"} {
			r := h.do("GET", list+"?pageSize="+url.QueryEscape(size), rootKey, nil)
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s %q", list, size)
			assert.Contains(t, r.Error, "pageSize", "%s %q", list, size)
		}
		for _, size := range []string{"2", "10", "500"} {
			r := h.do("GET", list+"?pageSize="+size, rootKey, nil)
			assert.Equal(t, http.StatusOK, r.Status, "%s %q: %s", list, size, r.Error)
		}
	}
}
