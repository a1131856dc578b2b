package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// latestEvent is the id of the newest event named name that GET /events
// answers for query.
func (h *harness) latestEvent(query, name string) string {
	h.t.Helper()
	page, r := listEvents(h.t, h, rootKey, query+"&pageSize=500")
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	for _, e := range page.Events {
		if e.EventName == name {
			return e.EventID
		}
	}
	h.t.Fatalf("no %s in %s", name, query)
	return ""
}

// Re-delivering an event (PUT /events/{eventId}/process) changes no key
// map: the log is the same, so the rules give the same entries. An event
// a later one superseded (a membership since removed, a device since
// deprovisioned, a code since revoked, a lock since uninstalled, an area
// moved or an access list or a zone changed since) must not bring its
// effect back: the removed guest's phone would open the door again.
func TestKeyMapReprocessingASupersededEventChangesNothing(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "P", "timezone": "Europe/Madrid"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	property := r.field("propertyId")
	building := h.mkArea(rootKey, property, "Building", "")
	wing := h.mkArea(rootKey, property, "Wing", "")
	flat := h.mkArea(rootKey, property, "Flat", building)
	l := h.provisionLock(rootKey, "Flat door")
	other := h.provisionLock(rootKey, "Spare door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, flat, l.LockID), rootKey, nil).Status)
	flatGroup := h.viewArea(rootKey, property, flat).AreaUserGroupID
	wingGroup := h.viewArea(rootKey, property, wing).AreaUserGroupID
	resident := h.grpUser(rootKey, "Resident")
	h.provisionDevice(rootKey, resident, "resident phone")
	h.grpAdd(rootKey, property, flatGroup, resident)
	staff := h.grpGroup(rootKey, property, "Staff")
	cleaner := h.grpUser(rootKey, "Cleaner")
	h.provisionDevice(rootKey, cleaner, "cleaner phone")
	h.grpAdd(rootKey, property, staff, cleaner)
	h.grpAdd(rootKey, property, wingGroup, cleaner)
	putBuilding := func(list []any) {
		t.Helper()
		r := h.do("PUT", areaPath(property, building), rootKey, map[string]any{"displayName": "Building", "areaType": "resident", "accessList": list})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	weekdays := map[string]any{"weekly": []any{map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "08:00", "to": "18:00"}}}
	putBuilding([]any{map[string]any{"accessType": "group", "userGroupId": staff, "schedule": weekdays}})

	cases := []struct {
		name string
		// supersede makes a change, then one that supersedes it, and
		// returns the first change's event.
		supersede func() string
	}{
		{"a membership since removed", func() string {
			guest := h.grpUser(rootKey, "Guest")
			h.provisionDevice(rootKey, guest, "guest phone")
			h.grpAdd(rootKey, property, flatGroup, guest)
			id := h.latestEvent("eventSource=userGroup&userGroupId="+flatGroup, "UserAddedToGroup")
			require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(property, flatGroup, guest), rootKey, nil).Status)
			return id
		}},
		{"a membership window since changed", func() string {
			r := h.do("POST", grpMemberPath(property, flatGroup, resident), rootKey, map[string]any{"validUntil": "2030-01-01T00:00:00Z"})
			require.Equal(t, http.StatusOK, r.Status, r.Error)
			id := h.latestEvent("eventSource=userGroup&userGroupId="+flatGroup, "UserGroupMembershipChanged")
			r = h.do("POST", grpMemberPath(property, flatGroup, resident), rootKey, map[string]any{"validUntil": "2031-01-01T00:00:00Z"})
			require.Equal(t, http.StatusOK, r.Status, r.Error)
			return id
		}},
		{"a device since deprovisioned", func() string {
			d := h.provisionDevice(rootKey, resident, "old phone")
			require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+resident+"/devices/"+d.UserDeviceID, rootKey, nil).Status)
			return h.latestEvent("eventSource=userDevice&userDeviceId="+d.UserDeviceID, "UserDeviceProvisioned")
		}},
		{"a code since revoked", func() string {
			now := h.clock.Now()
			b := h.do("POST", "/properties/"+property+"/bookings", rootKey, map[string]any{
				"areaId": flat, "guest": map[string]any{"displayName": "Walk-in"},
				"startDateTime": rfc(now.Add(-time.Hour)), "endDateTime": rfc(now.Add(24 * time.Hour)),
			})
			require.Equal(t, http.StatusCreated, b.Status, b.Error)
			c := h.do("POST", "/bookings/"+b.field("bookingId")+"/access-codes", rootKey, map[string]any{"code": "482913"})
			require.Equal(t, http.StatusCreated, c.Status, c.Error)
			id := h.latestEvent("eventSource=all", "AccessCodeCreated")
			require.Equal(t, http.StatusOK, h.do("DELETE", "/access-codes/"+c.field("accessCodeId"), rootKey, nil).Status)
			require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+b.field("bookingId")+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
			return id
		}},
		{"an install since undone", func() string {
			require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, flat, other.LockID), rootKey, nil).Status)
			require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+other.LockID+"/uninstall?uninstallMode=area", rootKey, nil).Status)
			return h.latestEvent("eventSource=lock&lockId="+other.LockID, "LockInstalled")
		}},
		{"an area moved since", func() string {
			require.Equal(t, http.StatusOK, h.moveArea(property, flat, wing).Status)
			id := h.latestEvent("eventSource=area&areaId="+flat, "AreaMoved")
			require.Equal(t, http.StatusOK, h.moveArea(property, flat, building).Status)
			return id
		}},
		{"an access list changed since", func() string {
			putBuilding([]any{map[string]any{"accessType": "area", "areaId": wing, "schedule": nil}})
			id := h.latestEvent("eventSource=area&areaId="+building, "AreaAccessListChanged")
			putBuilding([]any{map[string]any{"accessType": "group", "userGroupId": staff, "schedule": weekdays}})
			return id
		}},
		{"a zone changed since", func() string {
			r := h.do("PUT", "/properties/"+property, rootKey, map[string]any{"displayName": "P", "timezone": "America/New_York"})
			require.Equal(t, http.StatusOK, r.Status, r.Error)
			id := h.latestEvent("eventSource=property&propertyId="+property, "PropertyUpdated")
			r = h.do("PUT", "/properties/"+property, rootKey, map[string]any{"displayName": "P", "timezone": "Europe/Madrid"})
			require.Equal(t, http.StatusOK, r.Status, r.Error)
			return id
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := c.supersede()
			h.settle()
			before := h.keyMap(rootKey, l.LockID)
			require.NotEmpty(t, before.KeyMapEntries)
			r := h.do("PUT", "/events/"+id+"/process", rootKey, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Error)
			h.settle()
			after := h.keyMap(rootKey, l.LockID)
			assert.Equal(t, before, after, "reprocessing changed the key map")
			assert.Empty(t, h.keyMap(rootKey, other.LockID).KeyMapEntries, "an uninstalled lock's map stays empty")
		})
	}
}
