package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lock that moved from property A to property B is audited by a caller
// scoped to B only for its time in B: its history starts at its install
// in B, and who could open it (or whether a device could) at an instant of
// its time in A answers as a lock out of scope. A caller scoped to A sees
// neither (the lock is not in A now); an account-wide one sees all.
func TestMovedLockIsAuditedPerPropertyStay(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey) // the lock in A, a guest's phone admitted
	first := uuid.NewString()
	h.lsSync(s.lock, 1, lsEntry(s.lock.ID, s.phone, first, time.Now(), "granted"))
	h.settle()
	inA := time.Now().UTC()

	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+s.lock.ID+"/uninstall?uninstallMode=property", rootKey, nil).Status)
	propertyB := h.lockProperty(rootKey)
	areaB := h.mkArea(rootKey, propertyB, "Lobby", "")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(propertyB, areaB, s.lock.ID), rootKey, nil).Status)
	second := uuid.NewString()
	h.lsSync(s.lock, 1, lsEntry(s.lock.ID, s.phone, second, time.Now(), "denied"))
	h.settle()

	scopedA := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": s.property})
	scopedB := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": propertyB})

	history := func(key string) (int, []map[string]any) {
		t.Helper()
		status, _, body := h.rawGet("/audit/locks/"+s.lock.ID+"/history", key)
		if status != http.StatusOK {
			return status, nil
		}
		var items []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			var it map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &it), line)
			items = append(items, it)
		}
		return status, items
	}

	_, all := history(rootKey)
	require.NotEmpty(t, all)
	allText, _ := json.Marshal(all)
	assert.Contains(t, string(allText), first, "the account-wide history holds the A-era access")

	status, items := history(scopedB)
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, items)
	assert.Equal(t, "LockInstalled", items[0]["eventType"], "B's history starts at the install in B")
	text, _ := json.Marshal(items)
	assert.NotContains(t, string(text), s.property, "nothing of property A")
	assert.NotContains(t, string(text), first, "no A-era access")
	assert.Contains(t, string(text), second, "the B-era access")

	// The same with from before the move: the filter still knows where
	// the lock was.
	status, _, body := h.rawGet("/audit/locks/"+s.lock.ID+"/history?from="+url.QueryEscape(inA.Add(-time.Hour).Format(time.RFC3339Nano)), scopedB)
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, body, first)
	assert.Contains(t, body, second, "the B-era access: the window is not just empty")

	status, _ = history(scopedA)
	assert.Equal(t, http.StatusNotFound, status, "A's auditor: the lock is not in A now")

	at := url.QueryEscape(inA.Format(time.RFC3339Nano))
	now := url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano))
	for _, c := range []struct {
		key, path string
		want      int
	}{
		{scopedB, "/audit/locks/" + s.lock.ID + "/access?at=" + at, http.StatusNotFound},
		{scopedB, "/audit/decisions?lockId=" + s.lock.ID + "&userDeviceId=" + s.phone.UserDeviceID + "&at=" + at, http.StatusNotFound},
		{scopedB, "/audit/locks/" + s.lock.ID + "/access?at=" + now, http.StatusOK},
		{scopedB, "/audit/decisions?lockId=" + s.lock.ID + "&userDeviceId=" + s.phone.UserDeviceID + "&at=" + now, http.StatusOK},
		{rootKey, "/audit/locks/" + s.lock.ID + "/access?at=" + at, http.StatusOK},
		{rootKey, "/audit/decisions?lockId=" + s.lock.ID + "&userDeviceId=" + s.phone.UserDeviceID + "&at=" + at, http.StatusOK},
	} {
		r := h.do("GET", c.path, c.key, nil)
		assert.Equal(t, c.want, r.Status, "%s: %s", c.path, r.Error)
	}
}

// A lock taken out of its area only (uninstallMode=area) stays in its
// property: an auditor scoped to that property goes on seeing its
// history, the uninstall and what follows, as long as it stays there.
func TestAreaUninstalledLockStaysInItsPropertysHistory(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey) // the lock in an area of the property
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+s.lock.ID+"/uninstall?uninstallMode=area", rootKey, nil).Status)
	r := h.do("PUT", "/locks/"+s.lock.ID, rootKey, map[string]any{"displayName": "Renamed out of its area"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.settle()
	scoped := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": s.property})

	eventTypes := func(key string) []string {
		t.Helper()
		status, _, body := h.rawGet("/audit/locks/"+s.lock.ID+"/history", key)
		require.Equal(t, http.StatusOK, status, body)
		var types []string
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			var it struct {
				EventType string `json:"eventType"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &it), line)
			types = append(types, it.EventType)
		}
		return types
	}
	all := eventTypes(rootKey)
	require.Contains(t, all, "LockInstalled")
	require.Contains(t, all, "LockUninstalled")
	require.Contains(t, all, "LockUpdated")
	seen := eventTypes(scoped)
	assert.Equal(t, all[slices.Index(all, "LockInstalled"):], seen, "from the install on, all of it: the lock never left the property")
}
