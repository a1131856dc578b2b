package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A group granted in July only: a member whose window (February to June)
// lies outside July gets no entry in the lock's key map, and the audit's
// answer for that instant lists none either, with the key map's version
// and hash; a member whose window overlaps July gets one, for the overlap.
// The first member's refusal still names the grant and the membership:
// outside the schedule, not for want of a grant.
func TestKeyMapAndAuditLeaveOutMembersOutsideTheGrantWindow(t *testing.T) {
	h := newHarness(t)
	prop := h.lockProperty(rootKey)
	building := h.mkArea(rootKey, prop, "Building", "")
	lock := h.provisionLock(rootKey, "door").LockID
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(prop, building, lock), rootKey, nil).Status)
	staff := h.grpGroup(rootKey, prop, "Summer staff")
	r := h.do("PUT", "/properties/"+prop+"/areas/"+building, rootKey, map[string]any{
		"displayName": "Building", "areaType": "common",
		"accessList": []any{map[string]any{"accessType": "group", "userGroupId": staff,
			"schedule": map[string]any{"validFrom": "2027-07-01T00:00:00Z", "validUntil": "2027-08-01T00:00:00Z"}}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	member := func(name, from, until string) (string, string) {
		u := h.grpUser(rootKey, name)
		phone := h.provisionDevice(rootKey, u, name+" phone")
		r := h.do("POST", grpMemberPath(prop, staff, u), rootKey, map[string]any{"validFrom": from, "validUntil": until})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		return u, phone.UserDeviceID
	}
	_, springPhone := member("Spring", "2027-02-01T00:00:00Z", "2027-06-01T00:00:00Z")
	summer, _ := member("Summer", "2027-06-15T00:00:00Z", "2027-07-15T00:00:00Z")
	at := h.settle()

	km := h.keyMap(rootKey, lock)
	require.Len(t, km.KeyMapEntries, 1, "only the member whose window overlaps July")
	assert.Equal(t, summer, km.KeyMapEntries[0].UserID)
	assert.JSONEq(t, `{"timezone":"UTC","validFrom":"2027-07-01T00:00:00Z","validUntil":"2027-07-15T00:00:00Z","weekly":[]}`, string(km.KeyMapEntries[0].Schedule))

	a := h.auditAccess(rootKey, lock, at)
	require.Len(t, a.Entries, 1, "the audit lists what the key map did")
	assert.Equal(t, summer, a.Entries[0].UserID)
	assert.Equal(t, km.KeyMapVersion, a.KeyMapVersion)
	assert.Equal(t, a.KeyMapHash, a.EntriesHash)

	d := h.auditDecide(lock, springPhone, at)
	assert.False(t, d.Allowed)
	assert.Equal(t, "outsideSchedule", d.Reason)
	assert.Equal(t, []string{"install", "grant", "membership", "device"}, linkNames(d.Path))
}
