package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type keyMapOut struct {
	LockID        string `json:"lockId"`
	KeyMapVersion int    `json:"keyMapVersion"`
	KeyMapEntries []struct {
		AccessKeyID  string          `json:"accessKeyId"`
		UserID       string          `json:"userId"`
		UserDeviceID string          `json:"userDeviceId"`
		UserGroupID  string          `json:"userGroupId"`
		AreaID       string          `json:"areaId"`
		PublicKey    string          `json:"publicKey"`
		Schedule     json.RawMessage `json:"schedule"`
	} `json:"keyMapEntries"`
}

func (h *harness) keyMap(key, lockID string) keyMapOut {
	h.t.Helper()
	r := h.do("GET", "/locks/"+lockID+"/keymap", key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var km keyMapOut
	require.NoError(h.t, json.Unmarshal(r.Data, &km))
	return km
}

// A building with a floor with a flat: the flat's lock admits the flat's own
// group at once, a staff group granted on the building on a schedule, and
// loses each as memberships and devices go.
func TestKeyMapsFollowGrantsMembershipsAndDevices(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	building := h.mkArea(rootKey, property, "Building", "")
	floor := h.mkArea(rootKey, property, "Floor 1", building)
	flat := h.mkArea(rootKey, property, "Flat 1A", floor)
	l := h.provisionLock(rootKey, "Flat 1A door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, flat, l.LockID), rootKey, nil).Status)

	km := h.keyMap(rootKey, l.LockID)
	assert.Equal(t, 0, km.KeyMapVersion, "an empty key map stays at version 0")
	assert.Empty(t, km.KeyMapEntries)

	guest := h.grpUser(rootKey, "Guest")
	phone := h.provisionDevice(rootKey, guest, "guest phone")
	flatGroup := h.viewArea(rootKey, property, flat).AreaUserGroupID
	h.grpAdd(rootKey, property, flatGroup, guest)

	km = h.keyMap(rootKey, l.LockID)
	assert.Equal(t, 1, km.KeyMapVersion)
	require.Len(t, km.KeyMapEntries, 1)
	e := km.KeyMapEntries[0]
	assert.Equal(t, phone.AccessKeyID, e.AccessKeyID)
	assert.Equal(t, guest, e.UserID)
	assert.Equal(t, phone.UserDeviceID, e.UserDeviceID)
	assert.Equal(t, flatGroup, e.UserGroupID)
	assert.Equal(t, flat, e.AreaID)
	assert.Equal(t, phone.PublicKey, e.PublicKey)
	assert.JSONEq(t, `null`, string(e.Schedule))

	// Lock output shows the desired version.
	got := decodeLock(t, h.do("GET", "/locks/"+l.LockID, rootKey, nil))
	require.NotNil(t, got.Private)
	assert.Equal(t, 1, *got.Private.KeyMapVersion)

	// A staff group granted on the building on weekdays reaches the flat.
	staff := h.grpGroup(rootKey, property, "Cleaners")
	cleaner := h.grpUser(rootKey, "Cleaner")
	cleanerPhone := h.provisionDevice(rootKey, cleaner, "cleaner phone")
	h.grpAdd(rootKey, property, staff, cleaner)
	assert.Equal(t, 1, h.keyMap(rootKey, l.LockID).KeyMapVersion, "a group granted nowhere changes nothing")
	r := h.do("PUT", "/properties/"+property+"/areas/"+building, rootKey, map[string]any{
		"displayName": "Building", "areaType": "common",
		"accessList": []any{map[string]any{"accessType": "group", "userGroupId": staff, "schedule": map[string]any{
			"timezone": "Europe/Madrid", "weekly": []any{map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "08:00", "to": "18:00"}},
		}}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	km = h.keyMap(rootKey, l.LockID)
	assert.Equal(t, 2, km.KeyMapVersion)
	require.Len(t, km.KeyMapEntries, 2)
	var cleanerEntry bool
	for _, e := range km.KeyMapEntries {
		if e.AccessKeyID == cleanerPhone.AccessKeyID {
			cleanerEntry = true
			assert.Equal(t, building, e.AreaID, "the grant's area")
			assert.Contains(t, string(e.Schedule), "Europe/Madrid")
		}
	}
	assert.True(t, cleanerEntry)

	// Renaming an area changes no key map.
	r = h.do("PUT", "/properties/"+property+"/areas/"+flat, rootKey, map[string]any{"displayName": "Flat 1A (sea view)", "areaType": "resident", "parentAreaId": floor})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, 2, h.keyMap(rootKey, l.LockID).KeyMapVersion)

	// The guest's device goes: one entry less, one version more.
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+guest+"/devices/"+phone.UserDeviceID, rootKey, nil).Status)
	km = h.keyMap(rootKey, l.LockID)
	assert.Equal(t, 3, km.KeyMapVersion)
	require.Len(t, km.KeyMapEntries, 1)
	assert.Equal(t, cleanerPhone.AccessKeyID, km.KeyMapEntries[0].AccessKeyID)

	// The cleaner leaves the group: empty again.
	require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(property, staff, cleaner), rootKey, nil).Status)
	km = h.keyMap(rootKey, l.LockID)
	assert.Equal(t, 4, km.KeyMapVersion)
	assert.Empty(t, km.KeyMapEntries)

	// Uninstalled, the lock has an empty map; nothing moves when it was empty.
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=area", rootKey, nil).Status)
	assert.Equal(t, 4, h.keyMap(rootKey, l.LockID).KeyMapVersion)
}

func TestKeyMapMembershipWindowNarrowsTheSchedule(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	room := h.mkArea(rootKey, property, "Room", "")
	l := h.provisionLock(rootKey, "Room door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, room, l.LockID), rootKey, nil).Status)
	guest := h.grpUser(rootKey, "Guest")
	h.provisionDevice(rootKey, guest, "phone")
	group := h.viewArea(rootKey, property, room).AreaUserGroupID
	r := h.do("POST", grpMemberPath(property, group, guest), rootKey, map[string]any{"validFrom": "2026-07-01T15:00:00Z", "validUntil": "2026-07-08T11:00:00Z"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	km := h.keyMap(rootKey, l.LockID)
	require.Len(t, km.KeyMapEntries, 1)
	var s struct {
		Timezone   string `json:"timezone"`
		ValidFrom  string `json:"validFrom"`
		ValidUntil string `json:"validUntil"`
	}
	require.NoError(t, json.Unmarshal(km.KeyMapEntries[0].Schedule, &s))
	assert.Equal(t, "2026-07-01T15:00:00Z", s.ValidFrom)
	assert.Equal(t, "2026-07-08T11:00:00Z", s.ValidUntil)
	assert.Equal(t, "UTC", s.Timezone, "the property's zone")
}

func TestKeyMapPermissionsAndTenancy(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	l := h.provisionLock(rootKey, "door")
	for _, p := range []string{"support", "manage-access"} {
		assert.Equal(t, http.StatusOK, h.do("GET", "/locks/"+l.LockID+"/keymap", h.newKey(rootKey, perm(p)), nil).Status, p)
	}
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/locks/"+l.LockID+"/keymap", h.newKey(rootKey, perm("install-lock")), nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/"+l.LockID+"/keymap", h.newAccount(), nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/locks/nope/keymap", rootKey, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/locks/"+l.LockID+"/keymap", l.Private.APIKey, nil).Status, "the lock's own key syncs; it does not read")
	_ = property
}

// The lock list shows each lock's key-map version as GET /locks/{lockId}
// does, page by page, not the 0 the entities read model stores.
func TestLockListShowsKeyMapVersions(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	want := map[string]int{}
	guest := h.grpUser(rootKey, "Guest")
	h.provisionDevice(rootKey, guest, "guest phone")
	for i, name := range []string{"Flat 1A", "Flat 1B", "Flat 1C"} {
		flat := h.mkArea(rootKey, property, name, "")
		l := h.provisionLock(rootKey, name+" door")
		require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, flat, l.LockID), rootKey, nil).Status)
		group := h.viewArea(rootKey, property, flat).AreaUserGroupID
		for range i { // a different version for each lock
			h.grpAdd(rootKey, property, group, guest)
			require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(property, group, guest), rootKey, nil).Status)
		}
		h.grpAdd(rootKey, property, group, guest)
		want[l.LockID] = h.keyMap(rootKey, l.LockID).KeyMapVersion
		require.Equal(t, 1+2*i, want[l.LockID])
	}
	got := map[string]int{}
	for _, l := range h.lockPages("pageSize=2&propertyId=" + property) {
		require.NotNil(t, l.Private, "the owner sees the private part")
		got[l.LockID] = *l.Private.KeyMapVersion
		single := decodeLock(t, h.do("GET", "/locks/"+l.LockID, rootKey, nil))
		assert.Equal(t, *single.Private.KeyMapVersion, got[l.LockID], "list and lock agree on %s", l.LockID)
	}
	assert.Equal(t, want, got)
	r := h.do("GET", "/locks", rootKey, nil)
	assert.Contains(t, string(r.Data), `"keyMapVersion":5`, "the unfiltered list too")
}
