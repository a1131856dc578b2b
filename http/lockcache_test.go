package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// GET /locks/{lockId} answers from a cache (queries.Entities.CacheLocks);
// each change below is read right after its answer: a rename (the
// entities read model), a membership that only moves the lock's key map
// version (key maps), an uninstall and a deprovision. Another account's
// key gets 404 whether the lock is cached or not.
func TestLockReadsShowEachChangeAtOnce(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	room := h.lockArea(rootKey, property)
	door := h.provisionLock(rootKey, "Door")
	other := h.newAccount()
	get := func() lockOut {
		t.Helper()
		r := h.do("GET", "/locks/"+door.LockID, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		h.verifySigned(r)
		assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/"+door.LockID, other, nil).Status)
		return decodeLock(t, r)
	}
	version := func(l lockOut) int {
		t.Helper()
		require.NotNil(t, l.Private)
		if l.Private.KeyMapVersion == nil {
			return 0
		}
		return *l.Private.KeyMapVersion
	}

	assert.Equal(t, "Door", get().DisplayName)
	assert.Equal(t, "Door", get().DisplayName)
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+door.LockID, rootKey, map[string]any{"displayName": "Front door"}).Status)
	assert.Equal(t, "Front door", get().DisplayName)

	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, room, door.LockID), rootKey, nil).Status)
	installed := get()
	assert.Equal(t, room, installed.AreaID)

	user := h.do("POST", "/users", rootKey, map[string]any{"displayName": "Ana"}).field("userId")
	pub, enc := lockKeys(t)
	require.Equal(t, http.StatusCreated, h.do("POST", "/users/"+user+"/devices", rootKey,
		map[string]any{"deviceType": "iOS", "makeModel": "x", "displayName": "p", "publicKey": pub, "encryptionPublicKey": enc}).Status)
	group := h.do("GET", "/properties/"+property+"/areas/"+room, rootKey, nil).field("areaUserGroupId")
	require.Equal(t, http.StatusOK, h.do("POST", "/properties/"+property+"/groups/"+group+"/users/"+user, rootKey, nil).Status)
	assert.Greater(t, version(get()), version(installed), "the membership moved the key map, and the lock shows it")

	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+door.LockID+"/uninstall?uninstallMode=property", rootKey, nil).Status)
	assert.Empty(t, get().AreaID)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+door.LockID, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/"+door.LockID, rootKey, nil).Status)
}
