package keymaps_test

import (
	"context"
	mathrand "math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/readmodeltest"
)

// TestOneBatchEqualsOneEventAtATime: the projection keeps the groups it
// read for the rest of a batch's transaction, less those an event changes.
// Applied one event per transaction (live, waiting after each) and all in
// one transaction (a rebuild), membership and device changes in a building
// and its flats give the same tables, row for row.
func TestOneBatchEqualsOneEventAtATime(t *testing.T) {
	w := newWorld(t)
	prop, building, flat1, flat2 := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	gBuilding, gFlat1, gFlat2 := uuid.New(), uuid.New(), uuid.New()
	ana, ben, cleo := uuid.New(), uuid.New(), uuid.New()
	anaPhone, benPhone, benTablet, cleoPhone := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	emitWait := func(stream string, evs ...domain.Event) { w.wait(t, w.emit(t, stream, evs...)) }
	grp := func(g uuid.UUID) string { return "group-" + g.String() }
	dev := func(d uuid.UUID) string { return "device-" + d.String() }
	provision := func(d, u uuid.UUID) device.UserDeviceProvisioned {
		pub, enc := keys(t)
		return device.UserDeviceProvisioned{UserDeviceID: d, AccountID: w.account, UserID: u, DeviceType: device.IOS, PublicKey: pub, EncryptionPublicKey: enc, AccessKeyID: uuid.New()}
	}
	add := func(g, u uuid.UUID) group.UserAddedToGroup {
		return group.UserAddedToGroup{UserGroupID: g, AccountID: w.account, PropertyID: prop, UserID: u}
	}
	remove := func(g, u uuid.UUID) group.UserRemovedFromGroup {
		return group.UserRemovedFromGroup{UserGroupID: g, AccountID: w.account, PropertyID: prop, UserID: u}
	}

	emitWait("property-"+prop.String(), property.PropertyCreated{PropertyID: prop, AccountID: w.account, DisplayName: "P", Timezone: "Europe/Madrid"})
	emitWait("area-"+building.String(), area.AreaCreated{AreaID: building, AccountID: w.account, PropertyID: prop, DisplayName: "Building", AreaType: area.TypeCommon, AreaUserGroupID: gBuilding})
	emitWait("area-"+flat1.String(), area.AreaCreated{AreaID: flat1, AccountID: w.account, PropertyID: prop, DisplayName: "Flat 1", AreaType: area.TypeResident, AreaUserGroupID: gFlat1, ParentAreaID: building})
	emitWait("area-"+flat2.String(), area.AreaCreated{AreaID: flat2, AccountID: w.account, PropertyID: prop, DisplayName: "Flat 2", AreaType: area.TypeResident, AreaUserGroupID: gFlat2, ParentAreaID: building})
	for _, a := range []uuid.UUID{building, flat1, flat2} {
		_, pos := w.installLock(t, prop, a)
		w.wait(t, pos)
	}
	emitWait(dev(anaPhone), provision(anaPhone, ana))
	emitWait(dev(benPhone), provision(benPhone, ben))
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	// Each change below invalidates what an earlier one read in the batch.
	emitWait(grp(gFlat1), add(gFlat1, ana))
	emitWait(grp(gBuilding), add(gBuilding, ben))
	emitWait(grp(gFlat1), add(gFlat1, ben))
	emitWait(dev(benTablet), provision(benTablet, ben))
	emitWait(grp(gFlat2), add(gFlat2, cleo))
	emitWait(dev(cleoPhone), provision(cleoPhone, cleo))
	rpub, renc := keys(t)
	emitWait(dev(anaPhone), device.UserDeviceKeysRotated{UserDeviceID: anaPhone, AccountID: w.account, UserID: ana, PublicKey: rpub, EncryptionPublicKey: renc, AccessKeyID: uuid.New()})
	emitWait(grp(gFlat1), group.UserGroupMembershipChanged{UserGroupID: gFlat1, AccountID: w.account, PropertyID: prop, UserID: ben, ValidUntil: &until})
	emitWait(grp(gBuilding), remove(gBuilding, ben))
	emitWait(dev(benPhone), device.UserDeviceDeprovisioned{UserDeviceID: benPhone, AccountID: w.account, UserID: ben})
	emitWait(grp(gBuilding), add(gBuilding, cleo))
	emitWait(grp(gFlat2), group.UserGroupDeleted{UserGroupID: gFlat2, AccountID: w.account, PropertyID: prop, GroupSource: group.SourceArea, AreaID: flat2})
	emitWait(grp(gFlat1), remove(gFlat1, ana))

	w.assertRebuiltEqualsLive(t)
	assert.Equal(t, 2, w.areaEntries(t, flat1), "Ben's tablet, through Flat 1 until 2027, and Cleo's phone through the building")
}

// TestOneBatchEqualsOneEventAtATimeRandomly: 300 random membership and
// device events over three groups, one granted on a building through its
// flats' access lists too, applied one per transaction (live) and all in
// one (a rebuild, where each membership event updates the kept group in
// place), give the same tables, row for row.
func TestOneBatchEqualsOneEventAtATimeRandomly(t *testing.T) {
	w := newWorld(t)
	rng := mathrand.New(mathrand.NewPCG(7, 11))
	prop, building, flat := uuid.New(), uuid.New(), uuid.New()
	gBuilding, gFlat, gStaff := uuid.New(), uuid.New(), uuid.New()
	emitWait := func(stream string, evs ...domain.Event) { w.wait(t, w.emit(t, stream, evs...)) }
	emitWait("property-"+prop.String(), property.PropertyCreated{PropertyID: prop, AccountID: w.account, DisplayName: "P", Timezone: "Europe/Madrid"})
	emitWait("area-"+building.String(), area.AreaCreated{AreaID: building, AccountID: w.account, PropertyID: prop, DisplayName: "Building", AreaType: area.TypeCommon, AreaUserGroupID: gBuilding})
	emitWait("area-"+flat.String(), area.AreaCreated{AreaID: flat, AccountID: w.account, PropertyID: prop, DisplayName: "Flat", AreaType: area.TypeResident, AreaUserGroupID: gFlat, ParentAreaID: building})
	emitWait("area-"+flat.String(), area.AreaAccessListChanged{AreaID: flat, AccountID: w.account, PropertyID: prop,
		AccessList: []area.AccessEntry{{AccessType: area.AccessGroup, UserGroupID: gStaff, Schedule: &domain.Schedule{Weekly: []domain.WeeklyWindow{{Days: []string{"mon", "tue"}, From: "08:00", To: "18:00"}}}}}})
	for _, a := range []uuid.UUID{building, flat} {
		_, pos := w.installLock(t, prop, a)
		w.wait(t, pos)
	}
	users := make([]uuid.UUID, 6)
	for i := range users {
		users[i] = uuid.New()
	}
	devices := map[uuid.UUID]uuid.UUID{} // device -> user
	groups := []uuid.UUID{gBuilding, gFlat, gStaff}
	member := map[[2]uuid.UUID]bool{}
	day := func() *time.Time {
		d := time.Date(2027, 1, 1+rng.IntN(300), rng.IntN(24), 0, 0, 0, time.FixedZone("", 3600))
		return &d
	}
	for range 300 {
		g, u := groups[rng.IntN(len(groups))], users[rng.IntN(len(users))]
		stream := "group-" + g.String()
		switch k := rng.IntN(10); {
		case k < 4:
			e := group.UserAddedToGroup{UserGroupID: g, AccountID: w.account, PropertyID: prop, UserID: u}
			if rng.IntN(3) == 0 {
				e.ValidFrom, e.ValidUntil = day(), day()
			}
			if rng.IntN(4) == 0 {
				e.BookingID = uuid.New()
			}
			member[[2]uuid.UUID{g, u}] = true
			emitWait(stream, e)
		case k < 5 && member[[2]uuid.UUID{g, u}]:
			emitWait(stream, group.UserGroupMembershipChanged{UserGroupID: g, AccountID: w.account, PropertyID: prop, UserID: u, ValidUntil: day()})
		case k < 7 && member[[2]uuid.UUID{g, u}]:
			delete(member, [2]uuid.UUID{g, u})
			emitWait(stream, group.UserRemovedFromGroup{UserGroupID: g, AccountID: w.account, PropertyID: prop, UserID: u})
		case k < 8:
			d := uuid.New()
			pub, enc := keys(t)
			devices[d] = u
			emitWait("device-"+d.String(), device.UserDeviceProvisioned{UserDeviceID: d, AccountID: w.account, UserID: u, DeviceType: device.IOS, PublicKey: pub, EncryptionPublicKey: enc, AccessKeyID: uuid.New()})
		default:
			for d, owner := range devices {
				if rng.IntN(2) == 0 {
					pub, enc := keys(t)
					emitWait("device-"+d.String(), device.UserDeviceKeysRotated{UserDeviceID: d, AccountID: w.account, UserID: owner, PublicKey: pub, EncryptionPublicKey: enc, AccessKeyID: uuid.New()})
				} else {
					delete(devices, d)
					emitWait("device-"+d.String(), device.UserDeviceDeprovisioned{UserDeviceID: d, AccountID: w.account, UserID: owner})
				}
				break
			}
		}
	}

	w.assertRebuiltEqualsLive(t)
	assert.NotZero(t, w.areaEntries(t, flat), "the flat's key map is not empty, so the comparison compares something")
}

// assertRebuiltEqualsLive rebuilds the key maps from the log in one
// transaction and compares every table with what the live projection
// built one event at a time.
func (w *world) assertRebuiltEqualsLive(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	p := []projections.Projection{keymaps.New()}
	live, err := readmodeltest.Checksums(ctx, w.db, p)
	require.NoError(t, err)
	rb := &projections.Rebuild{DB: w.db, Store: w.store, Registry: w.registry, Projections: p}
	require.NoError(t, rb.Run(ctx))
	rebuilt, err := readmodeltest.Checksums(ctx, w.db, p)
	require.NoError(t, err)
	assert.Equal(t, live, rebuilt)
}
