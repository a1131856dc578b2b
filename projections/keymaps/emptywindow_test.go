package keymaps_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/group"
)

// TestKeyMapLeavesOutMembersOutsideTheGrantWindow: given a group granted on
// an area in July only, when a member's window lies outside July, then the
// lock's key map lists no entry for them (one would admit nothing) and its
// version does not move; moving that window elsewhere outside July moves
// nothing either, and only a window that overlaps July gives an entry (the
// overlap) and a new version, which a window outside July takes away again.
func TestKeyMapLeavesOutMembersOutsideTheGrantWindow(t *testing.T) {
	w := newWorld(t)
	lb := w.lobby(t)
	staff := uuid.New()
	day := func(s string) *time.Time {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return &d
	}
	july := &domain.Schedule{ValidFrom: day("2027-07-01"), ValidUntil: day("2027-08-01"), Weekly: []domain.WeeklyWindow{}}
	l, pos := w.installLock(t, lb.prop, lb.area)
	w.wait(t, pos)
	w.wait(t, w.emit(t, "area-"+lb.area.String(), area.AreaAccessListChanged{AreaID: lb.area, AccountID: w.account, PropertyID: lb.prop,
		AccessList: []area.AccessEntry{{AccessType: area.AccessGroup, UserGroupID: staff, Schedule: july}}}))
	membership := func(from, until string) {
		w.wait(t, w.emit(t, "group-"+staff.String(), group.UserGroupMembershipChanged{UserGroupID: staff, AccountID: w.account, PropertyID: lb.prop,
			UserID: lb.user, ValidFrom: day(from), ValidUntil: day(until)}))
	}

	w.wait(t, w.emit(t, "group-"+staff.String(), group.UserAddedToGroup{UserGroupID: staff, AccountID: w.account, PropertyID: lb.prop,
		UserID: lb.user, ValidFrom: day("2027-02-01"), ValidUntil: day("2027-06-01")}))
	assert.Empty(t, w.lockEntries(t, l), "February to June does not overlap July: no entry")
	assert.Equal(t, 0, w.versions(t, l)[l])

	membership("2027-03-01", "2027-07-01")
	assert.Empty(t, w.lockEntries(t, l), "a window ending where July starts admits nothing in it")
	assert.Equal(t, 0, w.versions(t, l)[l], "no entry before, none after: the version stays")

	membership("2027-06-15", "2027-07-15")
	entries := w.lockEntries(t, l)
	require.Len(t, entries, 1)
	assert.Contains(t, string(entries[0]), `"validFrom":"2027-07-01T00:00:00Z","validUntil":"2027-07-15T00:00:00Z"`)
	assert.Equal(t, 1, w.versions(t, l)[l])

	membership("2027-09-01", "2027-10-01")
	assert.Empty(t, w.lockEntries(t, l))
	assert.Equal(t, 2, w.versions(t, l)[l], "the entry went: a new version")

	w.assertRebuiltEqualsLive(t)
}
