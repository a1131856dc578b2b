package keymaps_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/projections/keymaps"
)

// TestDeviceMapHasOneEntryPerLockGroupAndSchedule: given a group granted
// with the same schedule on a flat and on the building above it, when a
// member has a phone, then the flat lock's key map keeps one entry per
// grant (each names its grant's area), but the phone's access map, whose
// entries name the lock's area and not the grant's, lists the flat lock
// once for that group and schedule: the second grant changes nothing the
// phone can see, so it moves neither its content nor its version. A grant
// of the same group with another schedule is another entry.
func TestDeviceMapHasOneEntryPerLockGroupAndSchedule(t *testing.T) {
	w := newWorld(t)
	lb := w.lobby(t) // the lobby is the building
	prop, building, phone := lb.prop, lb.area, lb.device
	flat, gFlat, staff := uuid.New(), uuid.New(), uuid.New()
	weekdays := &domain.Schedule{Weekly: []domain.WeeklyWindow{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "08:00", To: "18:00"}}}
	weekends := &domain.Schedule{Weekly: []domain.WeeklyWindow{{Days: []string{"sat", "sun"}, From: "10:00", To: "12:00"}}}
	grant := func(a uuid.UUID, scheds ...*domain.Schedule) {
		var list []area.AccessEntry
		for _, s := range scheds {
			list = append(list, area.AccessEntry{AccessType: area.AccessGroup, UserGroupID: staff, Schedule: s})
		}
		w.wait(t, w.emit(t, "area-"+a.String(), area.AreaAccessListChanged{AreaID: a, AccountID: w.account, PropertyID: prop, AccessList: list}))
	}
	w.emit(t, "area-"+flat.String(), area.AreaCreated{AreaID: flat, AccountID: w.account, PropertyID: prop, DisplayName: "Flat", AreaType: area.TypeResident, AreaUserGroupID: gFlat, ParentAreaID: building})
	flatLock, pos := w.installLock(t, prop, flat)
	w.wait(t, pos)
	w.wait(t, w.emit(t, "group-"+staff.String(), group.UserAddedToGroup{UserGroupID: staff, AccountID: w.account, PropertyID: prop, UserID: lb.user}))

	grant(flat, weekdays)
	version, entries := w.deviceMap(t, phone)
	require.Len(t, entries, 1)
	assert.Equal(t, 1, version)

	grant(building, weekdays)
	assert.Len(t, w.lockEntries(t, flatLock), 2, "the lock's key map: one entry per grant, each naming its area")
	version, entries = w.deviceMap(t, phone)
	assert.Len(t, entries, 1, "the phone's map lists the flat lock once for the group and schedule: %+v", entries)
	assert.Equal(t, 1, version, "a grant that changes nothing the phone sees moves no version")
	assert.Equal(t, keymaps.DeviceEntry{PropertyID: prop.String(), AreaID: flat.String(), LockID: flatLock.String(), UserGroupID: staff.String(),
		Schedule: entries[0].Schedule, AccessKeyID: entries[0].AccessKeyID}, entries[0])

	grant(building, weekdays, weekends)
	version, entries = w.deviceMap(t, phone)
	assert.Len(t, entries, 2, "another schedule is another entry")
	assert.Equal(t, 2, version)

	grant(flat)
	version, entries = w.deviceMap(t, phone)
	assert.Len(t, entries, 2, "the building's grants still hold for the flat")
	assert.Equal(t, 2, version, "the flat's own grant went, but the building's gives the phone the same entries")

	w.assertRebuiltEqualsLive(t)
}

// deviceMap reads a device's access map as stored.
func (w *world) deviceMap(t *testing.T, deviceID uuid.UUID) (int, []keymaps.DeviceEntry) {
	t.Helper()
	var version int
	var raw string
	require.NoError(t, w.db.QueryRowContext(context.Background(), w.db.Dialect.Rebind(`SELECT version, entries FROM `+keymaps.TableDeviceMaps+` WHERE device_id = ?`),
		deviceID.String()).Scan(&version, &raw))
	var out []keymaps.DeviceEntry
	require.NoError(t, json.Unmarshal([]byte(raw), &out))
	return version, out
}

// lockEntries reads a lock's key map as stored.
func (w *world) lockEntries(t *testing.T, lockID uuid.UUID) []json.RawMessage {
	t.Helper()
	var raw string
	require.NoError(t, w.db.QueryRowContext(context.Background(), w.db.Dialect.Rebind(`SELECT s.entries FROM `+keymaps.TableLocks+` l JOIN `+keymaps.TableSets+` s ON s.hash = l.hash WHERE l.lock_id = ?`),
		lockID.String()).Scan(&raw))
	var out []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(raw), &out))
	return out
}
