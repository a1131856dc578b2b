package access_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/area"
)

var (
	building, floor, flat    = uuid.New(), uuid.New(), uuid.New()
	buildingG, floorG, flatG = uuid.New(), uuid.New(), uuid.New()
	cleaners, gym, gymG      = uuid.New(), uuid.New(), uuid.New()
	alice, bob, carol        = uuid.New(), uuid.New(), uuid.New()
	alicePhone, bobPhone     = uuid.New(), uuid.New()
	aliceKey, bobKey         = uuid.New(), uuid.New()
)

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

var weekdays = &domain.Schedule{Weekly: []domain.WeeklyWindow{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "08:00", To: "18:00"}}}

// A flat on a floor of a building: the flat's lock admits the flat's,
// floor's and building's own groups, the cleaners on weekdays (granted on
// the floor) and the gym's members (an `area` entry on the building).
func chain() []access.Area {
	return []access.Area{
		{ID: flat, GroupID: flatG},
		{ID: floor, GroupID: floorG, AccessList: []area.AccessEntry{{AccessType: area.AccessGroup, UserGroupID: cleaners, Schedule: weekdays}}},
		{ID: building, GroupID: buildingG, AccessList: []area.AccessEntry{{AccessType: area.AccessArea, AreaID: gym}}},
	}
}

func TestGrantsWalkTheChain(t *testing.T) {
	t.Parallel()
	grants := access.Grants(chain(), map[uuid.UUID]uuid.UUID{gym: gymG})
	require.Len(t, grants, 5)
	assert.Equal(t, access.Grant{AreaID: flat, UserGroupID: flatG, AccessType: "area"}, grants[0])
	assert.Equal(t, cleaners, grants[2].UserGroupID)
	assert.Equal(t, floor, grants[2].AreaID)
	assert.Same(t, weekdays, grants[2].Schedule)
	assert.Equal(t, gymG, grants[4].UserGroupID)
	assert.Equal(t, gym, grants[4].ViaAreaID)

	// An `area` entry whose area is unknown grants nothing.
	assert.Len(t, access.Grants(chain(), nil), 4)
}

func TestEntriesOnePerDeviceAndGrantWithNarrowedSchedules(t *testing.T) {
	t.Parallel()
	grants := access.Grants(chain(), map[uuid.UUID]uuid.UUID{gym: gymG})
	members := map[uuid.UUID][]access.Member{
		flatG:    {{UserID: alice, ValidFrom: at("2026-07-01T15:00:00Z"), ValidUntil: at("2026-07-08T11:00:00Z")}},
		cleaners: {{UserID: bob}},
		gymG:     {{UserID: alice}, {UserID: carol}},
	}
	devices := map[uuid.UUID][]access.Device{
		alice: {{DeviceID: alicePhone, UserID: alice, AccessKeyID: aliceKey, PublicKey: "A"}},
		bob:   {{DeviceID: bobPhone, UserID: bob, AccessKeyID: bobKey, PublicKey: "B"}},
		// carol has no device: no entry
	}
	entries := access.Entries(grants, members, devices, "Europe/Madrid")
	require.Len(t, entries, 3)

	byGroup := map[uuid.UUID]access.Entry{}
	for _, e := range entries {
		byGroup[e.UserGroupID] = e
	}
	stay := byGroup[flatG]
	assert.Equal(t, aliceKey, stay.AccessKeyID)
	assert.Equal(t, flat, stay.AreaID)
	require.NotNil(t, stay.Schedule, "the membership window narrows an always-open grant")
	assert.Equal(t, *at("2026-07-01T15:00:00Z"), *stay.Schedule.ValidFrom)
	assert.Equal(t, "Europe/Madrid", stay.Schedule.Timezone)

	clean := byGroup[cleaners]
	assert.Equal(t, bobKey, clean.AccessKeyID)
	assert.Equal(t, "Europe/Madrid", clean.Schedule.Timezone, "the property's zone fills a schedule without one")
	assert.Empty(t, weekdays.Timezone, "the grant's own schedule is not changed")

	assert.Nil(t, byGroup[gymG].Schedule, "always")

	// Opening: bob on a Monday at 09:00 Madrid time, not at 20:00, not on Sunday.
	_, ok := access.Opens(entries, bobKey, *at("2026-07-06T07:00:00Z"))
	assert.True(t, ok)
	_, ok = access.Opens(entries, bobKey, *at("2026-07-06T18:30:00Z"))
	assert.False(t, ok)
	_, ok = access.Opens(entries, bobKey, *at("2026-07-05T09:00:00Z"))
	assert.False(t, ok)
	_, ok = access.Opens(entries, aliceKey, *at("2026-09-01T09:00:00Z"))
	assert.True(t, ok, "alice still has the gym grant after her stay")
	_, ok = access.Opens(entries, uuid.New(), *at("2026-07-06T07:00:00Z"))
	assert.False(t, ok)
}

func TestHashIsStableAndChangesWithContent(t *testing.T) {
	t.Parallel()
	grants := access.Grants(chain(), nil)
	members := map[uuid.UUID][]access.Member{flatG: {{UserID: alice}}, cleaners: {{UserID: bob}}}
	devices := map[uuid.UUID][]access.Device{
		alice: {{DeviceID: alicePhone, UserID: alice, AccessKeyID: aliceKey, PublicKey: "A"}},
		bob:   {{DeviceID: bobPhone, UserID: bob, AccessKeyID: bobKey, PublicKey: "B"}},
	}
	a := access.Entries(grants, members, devices, "UTC")
	// The same facts in another order give the same key map.
	members2 := map[uuid.UUID][]access.Member{cleaners: {{UserID: bob}}, flatG: {{UserID: alice}}}
	b := access.Entries(grants, members2, devices, "UTC")
	assert.Equal(t, access.Hash(a), access.Hash(b))

	delete(devices, bob)
	c := access.Entries(grants, members, devices, "UTC")
	assert.NotEqual(t, access.Hash(a), access.Hash(c))
	assert.Equal(t, access.Hash(access.Entries(nil, nil, nil, "UTC")), access.Hash([]access.Entry{}))
}
