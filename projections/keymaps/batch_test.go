package keymaps_test

import (
	"context"
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

	ctx := context.Background()
	p := []projections.Projection{keymaps.New()}
	live, err := readmodeltest.Checksums(ctx, w.db, p)
	require.NoError(t, err)
	rb := &projections.Rebuild{DB: w.db, Store: w.store, Registry: w.registry, Projections: p}
	require.NoError(t, rb.Run(ctx))
	rebuilt, err := readmodeltest.Checksums(ctx, w.db, p)
	require.NoError(t, err)
	assert.Equal(t, live, rebuilt)
	assert.Equal(t, 2, w.areaEntries(t, flat1), "Ben's tablet, through Flat 1 until 2027, and Cleo's phone through the building")
}
