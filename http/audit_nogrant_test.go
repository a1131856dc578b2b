package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A member whose group's access-list entry was removed is refused for want
// of the grant, not of the membership: the path shows the membership,
// which still stands, and ends with the missing grant, naming the
// AreaAccessListChanged that took the entry off and the area it was on.
// Putting the entry back opens the lock again.
func TestAuditNoGrantNamesTheRemovedEntry(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, f.lock), rootKey, nil).Status)
	h.grpAdd(rootKey, f.property, f.staff, f.cleaner)
	d := h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle())
	require.True(t, d.Allowed, d.Reason)

	setBuildingList := func(list []any) {
		t.Helper()
		r := h.do("PUT", "/properties/"+f.property+"/areas/"+f.building, rootKey, map[string]any{
			"displayName": "Building", "areaType": "common", "accessList": list})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	setBuildingList([]any{})
	revoked := h.settle()
	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, revoked)
	assert.False(t, d.Allowed)
	require.Equal(t, "noGrant", d.Reason)
	require.Equal(t, []string{"install", "device", "membership", "grant"}, linkNames(d.Path))
	member, grant := d.Path[2], d.Path[3]
	assert.False(t, member.Missing, "the membership stands")
	assert.Equal(t, "UserAddedToGroup", member.EventType)
	assert.Equal(t, f.staff, member.UserGroupID)
	assert.True(t, grant.Missing)
	assert.Equal(t, "AreaAccessListChanged", grant.EventType)
	assert.NotEmpty(t, grant.EventID)
	assert.Equal(t, f.building, grant.AreaID, "the area whose list held the entry")
	assert.Equal(t, f.staff, grant.UserGroupID)
	assert.Equal(t, "group", grant.AccessType)

	setBuildingList([]any{map[string]any{"accessType": "group", "userGroupId": f.staff, "schedule": nil}})
	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle())
	assert.True(t, d.Allowed, d.Reason)
	// The past answer stands: at that instant the grant was gone.
	assert.Equal(t, "noGrant", h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, revoked).Reason)
}

// A member of a group that no access list on the lock's chain ever named
// is refused for want of a grant, with no event to name; a user in no
// group at all, for want of a membership.
func TestAuditNoGrantForAGroupNeverGranted(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, f.lock), rootKey, nil).Status)
	gardener := h.grpUser(rootKey, "Gardener")
	phone := h.provisionDevice(rootKey, gardener, "gardener phone")
	d := h.auditDecide(f.lock, phone.UserDeviceID, h.settle())
	require.Equal(t, "noMembership", d.Reason, "in no group")

	gardeners := h.grpGroup(rootKey, f.property, "Gardeners")
	h.grpAdd(rootKey, f.property, gardeners, gardener)
	d = h.auditDecide(f.lock, phone.UserDeviceID, h.settle())
	require.Equal(t, "noGrant", d.Reason)
	require.Equal(t, []string{"install", "device", "membership", "grant"}, linkNames(d.Path))
	assert.Equal(t, gardeners, d.Path[2].UserGroupID)
	assert.NotEmpty(t, d.Path[2].EventID)
	last := d.Path[3]
	assert.True(t, last.Missing)
	assert.Empty(t, last.EventID, "never granted: no event removed it")
	assert.Equal(t, gardeners, last.UserGroupID)

	// Out of the group again: no membership.
	require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(f.property, gardeners, gardener), rootKey, nil).Status)
	assert.Equal(t, "noMembership", h.auditDecide(f.lock, phone.UserDeviceID, h.settle()).Reason)
}

// A user removed from a group granted on the lock (the flat's own), then
// added to another group that was granted and then taken off the list, is
// refused for want of that grant: the list change that ended the path
// which last admitted them, not the old removal from the first group,
// which is no longer the cause.
func TestAuditNoGrantAfterARegrantNamesTheLastListChange(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, f.lock), rootKey, nil).Status)
	h.grpAdd(rootKey, f.property, f.flatGroup, f.cleaner)
	require.True(t, h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle()).Allowed)
	require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(f.property, f.flatGroup, f.cleaner), rootKey, nil).Status)
	d := h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle())
	require.Equal(t, "noMembership", d.Reason)
	require.Equal(t, "UserRemovedFromGroup", d.Path[len(d.Path)-1].EventType)

	night := h.grpGroup(rootKey, f.property, "Night cleaners")
	h.grpAdd(rootKey, f.property, night, f.cleaner)
	setBuildingList := func(list []any) {
		t.Helper()
		r := h.do("PUT", "/properties/"+f.property+"/areas/"+f.building, rootKey, map[string]any{
			"displayName": "Building", "areaType": "common", "accessList": list})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	setBuildingList([]any{map[string]any{"accessType": "group", "userGroupId": night, "schedule": nil}})
	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle())
	require.True(t, d.Allowed, d.Reason)

	setBuildingList([]any{})
	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle())
	require.Equal(t, "noGrant", d.Reason)
	require.Equal(t, []string{"install", "device", "membership", "grant"}, linkNames(d.Path))
	member, grant := d.Path[2], d.Path[3]
	assert.False(t, member.Missing)
	assert.Equal(t, night, member.UserGroupID)
	assert.Equal(t, "UserAddedToGroup", member.EventType)
	assert.True(t, grant.Missing)
	assert.Equal(t, "AreaAccessListChanged", grant.EventType)
	assert.Equal(t, f.building, grant.AreaID)
	assert.Equal(t, night, grant.UserGroupID)
}
