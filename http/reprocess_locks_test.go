package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reprocess re-delivers the event with id (PUT /events/{eventId}/process)
// and waits for the read models.
func (h *harness) reprocess(id string) {
	h.t.Helper()
	r := h.do("PUT", "/events/"+id+"/process", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	h.settle()
}

// getLockJSON is GET /locks/{lockId}'s status and data.
func (h *harness) getLockJSON(lockID string) (int, string) {
	h.t.Helper()
	r := h.do("GET", "/locks/"+lockID, rootKey, nil)
	return r.Status, string(r.Data)
}

// A lock's LockProvisioned delivered again after the lock was renamed,
// given refs, installed and synced leaves the lock as it is: the read
// models already hold that event's effect, and later events changed it.
func TestReprocessingLockProvisionedKeepsTheLockAsItIs(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	a := h.lockArea(rootKey, property)
	l := h.lsProvision(rootKey, "Front door")
	r := h.do("PUT", "/locks/"+l.ID, rootKey, map[string]any{
		"displayName": "Main door", "externalRefs": []map[string]any{{"id": "door-7", "source": "pms"}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, a, l.ID), rootKey, nil).Status)
	h.lsSync(l, 0)
	h.settle()
	status, before := h.getLockJSON(l.ID)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, before, `"lastKnownSyncDate"`)

	h.reprocess(h.latestEvent("eventSource=lock&lockId="+l.ID, "LockProvisioned"))

	status, after := h.getLockJSON(l.ID)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, before, after, "re-delivering LockProvisioned changed the lock")
	_, ids := h.lockIDs(rootKey, "?propertyId="+property)
	assert.Equal(t, []string{l.ID}, ids, "the installed lock is still listed in its property")
}

// A lock released from the account (uninstallMode=owner) stays released
// when its LockProvisioned, LockInstalled and ApiKeyCreated are delivered
// again: no active lock, no lock key listed again, and its old area is
// free to delete.
func TestReprocessingAReleasedLocksEventsKeepsItReleased(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	a := h.lockArea(rootKey, property)
	l := h.provisionLock(rootKey, "Front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, a, l.LockID), rootKey, nil).Status)
	events := []string{
		h.latestEvent("eventSource=lock&lockId="+l.LockID, "LockProvisioned"),
		h.latestEvent("eventSource=lock&lockId="+l.LockID, "LockInstalled"),
		h.latestEvent("eventSource=apiKey&apiKeyId="+l.Private.APIKeyID, "ApiKeyCreated"),
	}
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=owner", rootKey, nil).Status)
	h.settle()
	lockStatus, lockBefore := h.getLockJSON(l.LockID)
	keys := h.do("GET", "/accounts/keys", rootKey, nil)
	require.Equal(t, http.StatusOK, keys.Status, keys.Error)
	require.NotContains(t, string(keys.Data), l.Private.APIKeyID)

	for _, id := range events {
		h.reprocess(id)
	}

	status, after := h.getLockJSON(l.LockID)
	assert.Equal(t, lockStatus, status)
	assert.Equal(t, lockBefore, after, "re-delivery brought the released lock back")
	keys = h.do("GET", "/accounts/keys", rootKey, nil)
	require.Equal(t, http.StatusOK, keys.Status, keys.Error)
	assert.NotContains(t, string(keys.Data), l.Private.APIKeyID, "the lock's deleted key is listed again")
	assert.Empty(t, h.areaLockIDs(property, a))
	r := h.do("DELETE", "/properties/"+property+"/areas/"+a, rootKey, nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
}

// An old LockInstalled delivered again after the lock moved from area X to
// area Y leaves it in Y only: X's lockIds do not take it back.
func TestReprocessingAnOldInstallKeepsTheLockWhereItMoved(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	x := h.mkArea(rootKey, property, "X", "")
	y := h.mkArea(rootKey, property, "Y", "")
	l := h.provisionLock(rootKey, "Front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, x, l.LockID), rootKey, nil).Status)
	installedInX := h.latestEvent("eventSource=lock&lockId="+l.LockID, "LockInstalled")
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=area", rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, y, l.LockID), rootKey, nil).Status)
	h.settle()
	keyMap := h.keyMap(rootKey, l.LockID)

	h.reprocess(installedInX)

	assert.Empty(t, h.areaLockIDs(property, x), "the lock is back in the area it left")
	assert.Equal(t, []string{l.LockID}, h.areaLockIDs(property, y))
	status, got := h.getLockJSON(l.LockID)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, y, reply{Data: []byte(got)}.field("areaId"))
	assert.Equal(t, keyMap, h.keyMap(rootKey, l.LockID))
}
