package httpapi_test

import (
	"net/http"
	"testing"
	"time"

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

// A lock reports a firmware version by the rule the firmware routes name
// versions with: "." and ".." are refused there, so here too.
func TestLockSyncRefusesADotFirmwareVersion(t *testing.T) {
	h := newHarness(t)
	l := h.lsProvision(rootKey, "Door")
	head := h.lsHead()
	for _, v := range []string{".", ".."} {
		body := `{"syncDate":"` + time.Now().UTC().Format(time.RFC3339) + `","currentKeyMapVersion":0,"currentFirmwareVersion":"` + v + `"}`
		r := h.lsSyncRaw(l, []byte(body))
		assert.Equal(t, http.StatusBadRequest, r.Status, v)
		assert.Contains(t, r.Error, "currentFirmwareVersion: ", v)
	}
	assert.Equal(t, head, h.lsHead(), "nothing is recorded")
	assert.Equal(t, http.StatusOK, h.lsSyncRaw(l, []byte(`{"syncDate":"`+time.Now().UTC().Format(time.RFC3339)+`","currentKeyMapVersion":0,"currentFirmwareVersion":"1.0.0"}`)).Status)
}
