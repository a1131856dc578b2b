// Package keymaps keeps the key map of every lock and the user access map of
// every device. It keeps its own copy of the facts the access rules need
// (area tree, grants, memberships, devices, installs), so its results depend
// only on the log, never on how far another read model has got.
//
// Key maps are computed per area, not per lock: every lock of an area has
// the same entries, so a membership change that touches an area with 1,000
// locks computes one entry set and moves 1,000 version counters.
package keymaps

import (
	"context"
	"fmt"

	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Logical tables.
const (
	TableProperties  = "km_properties"
	TableAreas       = "km_areas"
	TableGrants      = "km_area_grants"
	TableMembers     = "km_members"
	TableDevices     = "km_devices"
	TableLocks       = "km_locks"
	TableSets        = "km_sets"
	TableAreaEntries = "km_area_entries"
	TableLockHistory = "km_lock_history"
	TableDeviceMaps  = "km_device_maps"
	// TableAccessKeys remembers every device key ever registered, by its
	// access key id, so an access log names its device even after the key
	// was rotated or the device removed.
	TableAccessKeys = "km_access_keys"
	// TableCodes holds the active access codes of bookings, by area.
	TableCodes = "km_access_codes"
)

// Projection is the key-map read model.
type Projection struct{}

// New returns the projection.
func New() *Projection { return &Projection{} }

// Name implements projections.Projection.
func (*Projection) Name() string { return "keymaps" }

// Version implements projections.Projection. Version 4 keeps each
// membership's booking, so a guest's entries name the booking of the stay.
// Version 5 lists a device entry once where two grants gave it twice (the
// same lock, group, schedule and key through grants on different areas):
// stored access maps held the duplicates, so they are computed again.
func (*Projection) Version() int { return 5 }

// EventTypes implements projections.Projection.
func (*Projection) EventTypes() []string {
	return []string{
		property.PropertyCreated{}.EventType(), property.PropertyUpdated{}.EventType(),
		area.AreaCreated{}.EventType(), area.AreaMoved{}.EventType(), area.AreaAccessListChanged{}.EventType(), area.AreaDeleted{}.EventType(),
		group.UserAddedToGroup{}.EventType(), group.UserGroupMembershipChanged{}.EventType(),
		group.UserRemovedFromGroup{}.EventType(), group.UserGroupDeleted{}.EventType(),
		device.UserDeviceProvisioned{}.EventType(), device.UserDeviceKeysRotated{}.EventType(), device.UserDeviceDeprovisioned{}.EventType(),
		lock.LockProvisioned{}.EventType(), lock.LockInstalled{}.EventType(), lock.LockUninstalled{}.EventType(), lock.LockDeprovisioned{}.EventType(),
		lock.LockSynced{}.EventType(),
		booking.AccessCodeCreated{}.EventType(), booking.AccessCodeRevoked{}.EventType(), booking.BookingRescheduled{}.EventType(),
	}
}

// Tables implements projections.Projection.
func (*Projection) Tables() []string {
	return []string{TableProperties, TableAreas, TableGrants, TableMembers, TableDevices, TableLocks,
		TableSets, TableAreaEntries, TableLockHistory, TableDeviceMaps, TableAccessKeys, TableCodes}
}

// Setup implements projections.Projection.
func (*Projection) Setup(ctx context.Context, tx projections.Tx) error {
	t := tx.Table
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + t(TableProperties) + ` (property_id TEXT PRIMARY KEY, timezone TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableAreas) + ` (
			area_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, property_id TEXT NOT NULL, parent_id TEXT NOT NULL,
			group_id TEXT NOT NULL, access_list TEXT NOT NULL, entries_hash TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableAreas) + `_by_parent ON ` + t(TableAreas) + ` (parent_id)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableGrants) + ` (area_id TEXT NOT NULL, group_id TEXT NOT NULL, PRIMARY KEY (area_id, group_id))`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableGrants) + `_by_group ON ` + t(TableGrants) + ` (group_id)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableMembers) + ` (group_id TEXT NOT NULL, user_id TEXT NOT NULL,
			valid_from TEXT NOT NULL DEFAULT '', valid_until TEXT NOT NULL DEFAULT '', booking_id TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (group_id, user_id))`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableMembers) + `_by_user ON ` + t(TableMembers) + ` (user_id)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableDevices) + ` (device_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, user_id TEXT NOT NULL,
			access_key_id TEXT NOT NULL, public_key TEXT NOT NULL, encryption_key TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableDevices) + `_by_user ON ` + t(TableDevices) + ` (user_id)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableLocks) + ` (lock_id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
			property_id TEXT NOT NULL DEFAULT '', area_id TEXT NOT NULL DEFAULT '', version BIGINT NOT NULL, hash TEXT NOT NULL,
			encryption_key TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
			confirmed_version BIGINT NOT NULL DEFAULT 0, confirmed_position BIGINT NOT NULL DEFAULT 0, last_sync_date TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableLocks) + `_by_area ON ` + t(TableLocks) + ` (area_id)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableSets) + ` (hash TEXT PRIMARY KEY, entries TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableAreaEntries) + ` (area_id TEXT NOT NULL, device_id TEXT NOT NULL,
			access_key_id TEXT NOT NULL, user_group_id TEXT NOT NULL, grant_area_id TEXT NOT NULL, schedule TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableAreaEntries) + `_by_area ON ` + t(TableAreaEntries) + ` (area_id)`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableAreaEntries) + `_by_device ON ` + t(TableAreaEntries) + ` (device_id)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableLockHistory) + ` (lock_id TEXT NOT NULL, version BIGINT NOT NULL, hash TEXT NOT NULL,
			position BIGINT NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (lock_id, version))`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableDeviceMaps) + ` (device_id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
			user_id TEXT NOT NULL, version BIGINT NOT NULL, hash TEXT NOT NULL, entries TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableAccessKeys) + ` (account_id TEXT NOT NULL, access_key_id TEXT NOT NULL,
			device_id TEXT NOT NULL, user_id TEXT NOT NULL, public_key TEXT NOT NULL, PRIMARY KEY (account_id, access_key_id))`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableCodes) + ` (access_code_id TEXT PRIMARY KEY, booking_id TEXT NOT NULL, area_id TEXT NOT NULL,
			code_hash TEXT NOT NULL, salt TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableCodes) + `_by_area ON ` + t(TableCodes) + ` (area_id)`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableCodes) + `_by_booking ON ` + t(TableCodes) + ` (booking_id)`,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("keymaps setup: %w", err)
		}
	}
	return nil
}

// Apply implements projections.Projection: it updates the facts, then
// recomputes what they touch.
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	return p.apply(ctx, tx, env, false)
}

// Redeliver implements projections.Redeliverer. An event delivered again
// (Reprocess) leaves the facts as they are, since a later event may have
// changed them (the member removed, the device deprovisioned, the code
// revoked since), and only recomputes from them the lock key maps and
// device access maps it concerns. That repairs a map that disagrees with
// the facts it holds, not a fact it missed, and changes nothing when they
// agree.
func (p *Projection) Redeliver(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	return p.apply(ctx, tx, env, true)
}

func (p *Projection) apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope, redelivered bool) error {
	w := &work{tx: tx, env: env, areas: map[string]bool{}, devices: map[string]bool{}, groups: tx.Memo("keymaps-groups")}
	update := w.facts
	if redelivered {
		update = w.touched
	}
	if err := update(ctx); err != nil {
		return fmt.Errorf("keymaps %s: %w", env.Type, err)
	}
	if err := w.recompute(ctx); err != nil {
		return fmt.Errorf("keymaps %s: %w", env.Type, err)
	}
	return nil
}
