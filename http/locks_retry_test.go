package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// uninstallOut is the signed answer of an uninstall.
type uninstallOut struct {
	PropertyID    string    `json:"propertyId"`
	AreaID        string    `json:"areaId"`
	UninstallDate time.Time `json:"uninstallDate"`
}

func decodeUninstall(t *testing.T, r reply) uninstallOut {
	t.Helper()
	var out uninstallOut
	require.NoError(t, json.Unmarshal(r.Data, &out))
	return out
}

// Another API key sending a used Idempotency-Key is refused (422: the key
// is another caller's) and never gets the signed uninstall message; the
// first caller's repeat is authorized against the lock as the first
// request found it, and answers what it did, its uninstallDate included,
// even once the lock has left the caller's property.
func TestLockUninstallAndDeleteRetriesAreAuthorized(t *testing.T) {
	h := newHarness(t)
	prop, elsewhere := h.lockProperty(rootKey), h.lockProperty(rootKey)
	area := h.lockArea(rootKey, prop)
	l := h.provisionLock(rootKey, "Front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(prop, area, l.LockID), rootKey, nil).Status)
	outsider := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": elsewhere})
	otherInstaller := h.newKey(rootKey, map[string]string{"permission": "install-lock", "propertyId": elsewhere})
	installer := h.newKey(rootKey, map[string]string{"permission": "install-lock", "propertyId": prop})

	uninstall := "/locks/" + l.LockID + "/uninstall?uninstallMode=area"
	require.Equal(t, http.StatusNotFound, h.do("PUT", uninstall, outsider, nil).Status)
	first := h.doKeyedRaw("PUT", uninstall, rootKey, "uninstall-1", "")
	require.Equal(t, http.StatusOK, first.Status, first.Error)
	want := decodeUninstall(t, first)
	assert.Equal(t, prop, want.PropertyID)
	assert.Equal(t, area, want.AreaID)
	for name, key := range map[string]string{"support elsewhere": outsider, "install-lock elsewhere": otherInstaller} {
		r := h.doKeyedRaw("PUT", uninstall, key, "uninstall-1", "")
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s: %s", name, r.Error)
		assert.Nil(t, r.Signatures, "%s: no signed uninstall message", name)
		assert.Empty(t, r.Data, name)
	}
	h.clock.Advance(time.Minute)
	retry := h.doKeyedRaw("PUT", uninstall, rootKey, "uninstall-1", "")
	require.Equal(t, http.StatusOK, retry.Status, retry.Error)
	h.verifySigned(retry)
	assert.Equal(t, want, decodeUninstall(t, retry), "the retry answers the first request's uninstall")

	// Deprovisioned (still in the property): gone for everyone, the
	// retry answers its owner only.
	del := "/locks/" + l.LockID
	gone := h.doKeyedRaw("DELETE", del, rootKey, "delete-1", "")
	require.Equal(t, http.StatusOK, gone.Status, gone.Error)
	assert.Equal(t, http.StatusUnprocessableEntity, h.doKeyedRaw("DELETE", del, outsider, "delete-1", "").Status)
	assert.Equal(t, http.StatusUnprocessableEntity, h.doKeyedRaw("DELETE", del, installer, "delete-1", "").Status)
	r := h.doKeyedRaw("DELETE", del, rootKey, "delete-1", "")
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, l.LockID, r.field("lockId"))

	// Out of the property: a retry by a key scoped to it still answers.
	l2 := h.provisionLock(rootKey, "Back door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(prop, area, l2.LockID), rootKey, nil).Status)
	leave := "/locks/" + l2.LockID + "/uninstall?uninstallMode=property"
	left := h.doKeyedRaw("PUT", leave, installer, "uninstall-2", "")
	require.Equal(t, http.StatusOK, left.Status, left.Error)
	assert.Equal(t, http.StatusUnprocessableEntity, h.doKeyedRaw("PUT", leave, otherInstaller, "uninstall-2", "").Status)
	again := h.doKeyedRaw("PUT", leave, installer, "uninstall-2", "")
	require.Equal(t, http.StatusOK, again.Status, again.Error)
	assert.Equal(t, decodeUninstall(t, left), decodeUninstall(t, again))
	assert.Equal(t, prop, decodeUninstall(t, again).PropertyID)
}
