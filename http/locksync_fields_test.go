package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A syncDate of "" is missing, as absent or null: the same 400 as every
// required date-time.
func TestLockSyncTakesAnEmptySyncDateAsMissing(t *testing.T) {
	h := newHarness(t)
	l := h.lsProvision(rootKey, "Door")
	for _, body := range []string{
		`{"currentKeyMapVersion":0}`,
		`{"syncDate":null,"currentKeyMapVersion":0}`,
		`{"syncDate":"","currentKeyMapVersion":0}`,
	} {
		r := h.lsSyncRaw(l, []byte(body))
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Equal(t, "syncDate: is required", r.Error, body)
	}
}
