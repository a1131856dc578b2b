package keymaps

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// work is one event's change: the facts it updates, then the areas whose
// entries and the devices and locks whose maps must be computed again.
type work struct {
	tx      projections.Tx
	env     eventstore.Envelope
	areas   map[string]bool // areas to recompute, with their subtrees
	devices map[string]bool // device maps to recompute
	locks   []string        // locks whose area changed
	// groups holds, by group id, the groupFacts read since the batch's
	// transaction began (Tx.Memo; nil: none kept), less those of groups
	// whose members or devices changed since: a building's subtree, and
	// the next events of the batch, share the building's groups.
	groups map[string]any
}

// timeLayout stores instants as fixed-width UTC text, so text order is time
// order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func id(u uuid.UUID) string {
	if u == uuid.Nil {
		return ""
	}
	return u.String()
}

func (w *work) exec(ctx context.Context, q string, args ...any) error {
	err := w.tx.Write(ctx, q, args...)
	return err
}

func (w *work) facts(ctx context.Context) error {
	w.forgetGroups()
	t := w.tx.Table
	switch e := w.env.Event.(type) {
	case property.PropertyCreated:
		return w.exec(ctx, `INSERT INTO `+t(TableProperties)+` (property_id, timezone) VALUES (?, ?) ON CONFLICT (property_id) DO UPDATE SET timezone = excluded.timezone`, e.PropertyID.String(), e.Timezone)
	case property.PropertyUpdated:
		if err := w.exec(ctx, `INSERT INTO `+t(TableProperties)+` (property_id, timezone) VALUES (?, ?) ON CONFLICT (property_id) DO UPDATE SET timezone = excluded.timezone`, e.PropertyID.String(), e.Timezone); err != nil {
			return err
		}
		return w.markRoots(ctx, `SELECT area_id FROM `+t(TableAreas)+` WHERE property_id = ? AND parent_id = ''`, e.PropertyID.String())

	case area.AreaCreated:
		if err := w.exec(ctx, `INSERT INTO `+t(TableAreas)+` (area_id, account_id, property_id, parent_id, group_id, access_list) VALUES (?, ?, ?, ?, ?, '[]')
			ON CONFLICT (area_id) DO NOTHING`, e.AreaID.String(), e.AccountID.String(), e.PropertyID.String(), id(e.ParentAreaID), e.AreaUserGroupID.String()); err != nil {
			return err
		}
		if err := w.setGrants(ctx, e.AreaID.String()); err != nil {
			return err
		}
		w.areas[e.AreaID.String()] = true
	case area.AreaMoved:
		if err := w.exec(ctx, `UPDATE `+t(TableAreas)+` SET parent_id = ? WHERE area_id = ?`, id(e.ParentAreaID), e.AreaID.String()); err != nil {
			return err
		}
		w.areas[e.AreaID.String()] = true
	case area.AreaAccessListChanged:
		list, err := json.Marshal(e.AccessList)
		if err != nil {
			return err
		}
		if err := w.exec(ctx, `UPDATE `+t(TableAreas)+` SET access_list = ? WHERE area_id = ?`, string(list), e.AreaID.String()); err != nil {
			return err
		}
		if err := w.setGrants(ctx, e.AreaID.String()); err != nil {
			return err
		}
		w.areas[e.AreaID.String()] = true
	case area.AreaDeleted:
		a := e.AreaID.String()
		if err := w.dropAreaEntries(ctx, a); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM ` + t(TableGrants) + ` WHERE area_id = ?`, `DELETE FROM ` + t(TableAreas) + ` WHERE area_id = ?`} {
			if err := w.exec(ctx, q, a); err != nil {
				return err
			}
		}

	case group.UserAddedToGroup:
		return w.member(ctx, e.UserGroupID, e.UserID, e.ValidFrom, e.ValidUntil, e.BookingID)
	case group.UserGroupMembershipChanged:
		return w.member(ctx, e.UserGroupID, e.UserID, e.ValidFrom, e.ValidUntil, e.BookingID)
	case group.UserRemovedFromGroup:
		if err := w.exec(ctx, `DELETE FROM `+t(TableMembers)+` WHERE group_id = ? AND user_id = ?`, e.UserGroupID.String(), e.UserID.String()); err != nil {
			return err
		}
		return w.markGranting(ctx, e.UserGroupID.String())
	case group.UserGroupDeleted:
		if err := w.exec(ctx, `DELETE FROM `+t(TableMembers)+` WHERE group_id = ?`, e.UserGroupID.String()); err != nil {
			return err
		}
		return w.markGranting(ctx, e.UserGroupID.String())

	case device.UserDeviceProvisioned:
		if err := w.exec(ctx, `INSERT INTO `+t(TableDevices)+` (device_id, account_id, user_id, access_key_id, public_key, encryption_key) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (device_id) DO NOTHING`, e.UserDeviceID.String(), e.AccountID.String(), e.UserID.String(), e.AccessKeyID.String(), e.PublicKey, e.EncryptionPublicKey); err != nil {
			return err
		}
		if err := w.accessKey(ctx, e.AccountID, e.AccessKeyID, e.UserDeviceID, e.UserID, e.PublicKey); err != nil {
			return err
		}
		return w.deviceChanged(ctx, e.UserDeviceID.String(), e.UserID.String())
	case device.UserDeviceKeysRotated:
		if err := w.exec(ctx, `UPDATE `+t(TableDevices)+` SET access_key_id = ?, public_key = ?, encryption_key = ? WHERE device_id = ?`,
			e.AccessKeyID.String(), e.PublicKey, e.EncryptionPublicKey, e.UserDeviceID.String()); err != nil {
			return err
		}
		if err := w.accessKey(ctx, e.AccountID, e.AccessKeyID, e.UserDeviceID, e.UserID, e.PublicKey); err != nil {
			return err
		}
		return w.deviceChanged(ctx, e.UserDeviceID.String(), e.UserID.String())
	case device.UserDeviceDeprovisioned:
		if err := w.exec(ctx, `DELETE FROM `+t(TableDevices)+` WHERE device_id = ?`, e.UserDeviceID.String()); err != nil {
			return err
		}
		return w.deviceChanged(ctx, e.UserDeviceID.String(), e.UserID.String())

	case lock.LockProvisioned:
		return w.exec(ctx, `INSERT INTO `+t(TableLocks)+` (lock_id, account_id, version, hash, encryption_key) VALUES (?, ?, 0, ?, ?)
			ON CONFLICT (lock_id) DO NOTHING`, e.LockID.String(), e.AccountID.String(), emptyHash, e.EncryptionPublicKey)
	case lock.LockInstalled:
		if err := w.markLockDevices(ctx, e.LockID.String()); err != nil {
			return err
		}
		if err := w.exec(ctx, `UPDATE `+t(TableLocks)+` SET property_id = ?, area_id = ? WHERE lock_id = ?`, e.PropertyID.String(), e.AreaID.String(), e.LockID.String()); err != nil {
			return err
		}
		w.locks = append(w.locks, e.LockID.String())
	case lock.LockUninstalled:
		if err := w.markLockDevices(ctx, e.LockID.String()); err != nil {
			return err
		}
		q := `UPDATE ` + t(TableLocks) + ` SET area_id = '' WHERE lock_id = ?`
		if e.Mode != lock.UninstallArea {
			q = `UPDATE ` + t(TableLocks) + ` SET area_id = '', property_id = '' WHERE lock_id = ?`
		}
		if err := w.exec(ctx, q, e.LockID.String()); err != nil {
			return err
		}
		w.locks = append(w.locks, e.LockID.String())
	case lock.LockDeprovisioned:
		if err := w.markLockDevices(ctx, e.LockID.String()); err != nil {
			return err
		}
		if err := w.exec(ctx, `UPDATE `+t(TableLocks)+` SET area_id = '', deleted = 1 WHERE lock_id = ?`, e.LockID.String()); err != nil {
			return err
		}
		w.locks = append(w.locks, e.LockID.String())
	case booking.AccessCodeCreated:
		from, until := e.ValidFrom, e.ValidUntil
		if err := w.exec(ctx, `INSERT INTO `+t(TableCodes)+` (access_code_id, booking_id, area_id, code_hash, salt, valid_from, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (access_code_id) DO NOTHING`, e.AccessCodeID.String(), e.BookingID.String(), e.AreaID.String(), e.CodeHash, e.Salt, fmtTime(&from), fmtTime(&until)); err != nil {
			return err
		}
		w.areas[e.AreaID.String()] = true
	case booking.AccessCodeRevoked:
		return w.codesChanged(ctx, "access_code_id", e.AccessCodeID.String(), `DELETE FROM `+t(TableCodes)+` WHERE access_code_id = ?`, e.AccessCodeID.String())
	case booking.BookingRescheduled:
		// A booking's codes follow its dates and area.
		from, until := e.StartDateTime, e.EndDateTime
		return w.codesChanged(ctx, "booking_id", e.BookingID.String(), `UPDATE `+t(TableCodes)+` SET area_id = ?, valid_from = ?, valid_until = ? WHERE booking_id = ?`,
			e.AreaID.String(), fmtTime(&from), fmtTime(&until), e.BookingID.String())
	case lock.LockSynced:
		// The version the lock confirmed; an older event delivered again
		// changes nothing.
		return w.exec(ctx, `UPDATE `+t(TableLocks)+` SET confirmed_version = ?, confirmed_position = ?, last_sync_date = ?
			WHERE lock_id = ? AND confirmed_position < ?`, int64(e.CurrentKeyMapVersion), int64(w.env.Position),
			e.ReceivedAt.UTC().Format(timeLayout), e.LockID.String(), int64(w.env.Position))
	}
	return nil
}

// touched marks what an event concerns, as facts does, without changing a
// fact: for an event delivered again, whose facts later events may have
// changed since. What it marks is computed again from the facts as they
// stand, which changes nothing unless a derived map had missed them.
func (w *work) touched(ctx context.Context) error {
	t := w.tx.Table
	switch e := w.env.Event.(type) {
	case property.PropertyCreated:
		return w.markRoots(ctx, `SELECT area_id FROM `+t(TableAreas)+` WHERE property_id = ? AND parent_id = ''`, e.PropertyID.String())
	case property.PropertyUpdated:
		return w.markRoots(ctx, `SELECT area_id FROM `+t(TableAreas)+` WHERE property_id = ? AND parent_id = ''`, e.PropertyID.String())
	case area.AreaCreated:
		w.areas[e.AreaID.String()] = true
	case area.AreaMoved:
		w.areas[e.AreaID.String()] = true
	case area.AreaAccessListChanged:
		w.areas[e.AreaID.String()] = true
	case group.UserAddedToGroup:
		return w.markGranting(ctx, e.UserGroupID.String())
	case group.UserGroupMembershipChanged:
		return w.markGranting(ctx, e.UserGroupID.String())
	case group.UserRemovedFromGroup:
		return w.markGranting(ctx, e.UserGroupID.String())
	case group.UserGroupDeleted:
		return w.markGranting(ctx, e.UserGroupID.String())
	case device.UserDeviceProvisioned:
		return w.deviceChanged(ctx, e.UserDeviceID.String(), e.UserID.String())
	case device.UserDeviceKeysRotated:
		return w.deviceChanged(ctx, e.UserDeviceID.String(), e.UserID.String())
	case device.UserDeviceDeprovisioned:
		return w.deviceChanged(ctx, e.UserDeviceID.String(), e.UserID.String())
	case lock.LockInstalled:
		w.locks = append(w.locks, e.LockID.String())
	case lock.LockUninstalled:
		w.locks = append(w.locks, e.LockID.String())
	case lock.LockDeprovisioned:
		w.locks = append(w.locks, e.LockID.String())
	case booking.AccessCodeCreated:
		w.areas[e.AreaID.String()] = true
		return w.markRoots(ctx, `SELECT area_id FROM `+t(TableCodes)+` WHERE access_code_id = ?`, e.AccessCodeID.String())
	case booking.AccessCodeRevoked:
		return w.markRoots(ctx, `SELECT area_id FROM `+t(TableCodes)+` WHERE access_code_id = ?`, e.AccessCodeID.String())
	case booking.BookingRescheduled:
		return w.markRoots(ctx, `SELECT area_id FROM `+t(TableCodes)+` WHERE booking_id = ?`, e.BookingID.String())
	}
	// AreaDeleted, LockProvisioned and LockSynced concern no map that
	// the facts as they stand would change.
	return nil
}

// forgetGroups drops the group facts the event changes: a membership's
// group; for a device, every group (which groups its user is in is not
// known here, and device changes are rare next to memberships).
func (w *work) forgetGroups() {
	if len(w.groups) == 0 {
		return
	}
	switch e := w.env.Event.(type) {
	case group.UserAddedToGroup:
		delete(w.groups, e.UserGroupID.String())
	case group.UserGroupMembershipChanged:
		delete(w.groups, e.UserGroupID.String())
	case group.UserRemovedFromGroup:
		delete(w.groups, e.UserGroupID.String())
	case group.UserGroupDeleted:
		delete(w.groups, e.UserGroupID.String())
	case device.UserDeviceProvisioned, device.UserDeviceKeysRotated, device.UserDeviceDeprovisioned:
		clear(w.groups)
	}
}

// accessKey remembers a device key by its access key id, for good.
func (w *work) accessKey(ctx context.Context, accountID, accessKeyID, deviceID, userID uuid.UUID, publicKey string) error {
	return w.exec(ctx, `INSERT INTO `+w.tx.Table(TableAccessKeys)+` (account_id, access_key_id, device_id, user_id, public_key) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, access_key_id) DO NOTHING`, accountID.String(), accessKeyID.String(), deviceID.String(), userID.String(), publicKey)
}

// member sets a membership (and the booking whose stay it is, if any) and
// marks every area that grants the group.
func (w *work) member(ctx context.Context, groupID, userID uuid.UUID, from, until *time.Time, bookingID uuid.UUID) error {
	if err := w.exec(ctx, `INSERT INTO `+w.tx.Table(TableMembers)+` (group_id, user_id, valid_from, valid_until, booking_id) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (group_id, user_id) DO UPDATE SET valid_from = excluded.valid_from, valid_until = excluded.valid_until, booking_id = excluded.booking_id`,
		groupID.String(), userID.String(), fmtTime(from), fmtTime(until), optionalID(bookingID)); err != nil {
		return err
	}
	return w.markGranting(ctx, groupID.String())
}

// setGrants indexes which groups an area grants: its own and those of its
// access list (an `area` entry grants that area's own group).
func (w *work) setGrants(ctx context.Context, areaID string) error {
	t := w.tx.Table
	var groupID, rawList string
	if err := w.tx.QueryRow(ctx, `SELECT group_id, access_list FROM `+t(TableAreas)+` WHERE area_id = ?`, areaID).Scan(&groupID, &rawList); err != nil {
		return err
	}
	var list []area.AccessEntry
	if err := json.Unmarshal([]byte(rawList), &list); err != nil {
		return err
	}
	if err := w.exec(ctx, `DELETE FROM `+t(TableGrants)+` WHERE area_id = ?`, areaID); err != nil {
		return err
	}
	groups := []string{groupID}
	for _, e := range list {
		switch e.AccessType {
		case area.AccessGroup:
			groups = append(groups, e.UserGroupID.String())
		case area.AccessArea:
			var g string
			err := w.tx.QueryRow(ctx, `SELECT group_id FROM `+t(TableAreas)+` WHERE area_id = ?`, e.AreaID.String()).Scan(&g)
			if err == nil {
				groups = append(groups, g)
			}
		}
	}
	for _, g := range groups {
		if err := w.exec(ctx, `INSERT INTO `+t(TableGrants)+` (area_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, areaID, g); err != nil {
			return err
		}
	}
	return nil
}

// markGranting marks every area whose grants include the group.
func (w *work) markGranting(ctx context.Context, groupID string) error {
	return w.markRoots(ctx, `SELECT area_id FROM `+w.tx.Table(TableGrants)+` WHERE group_id = ?`, groupID)
}

// deviceChanged marks the device's map, and the areas that admit its user.
func (w *work) deviceChanged(ctx context.Context, deviceID, userID string) error {
	w.devices[deviceID] = true
	return w.markRoots(ctx, `SELECT g.area_id FROM `+w.tx.Table(TableGrants)+` g JOIN `+w.tx.Table(TableMembers)+` m ON m.group_id = g.group_id WHERE m.user_id = ?`, userID)
}

func (w *work) markRoots(ctx context.Context, query string, args ...any) error {
	rows, err := w.tx.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return err
		}
		w.areas[a] = true
	}
	return rows.Err()
}

// codesChanged runs a change to the codes whose col is key, marking the
// areas of those codes before and after it.
func (w *work) codesChanged(ctx context.Context, col, key, query string, args ...any) error {
	sel := `SELECT area_id FROM ` + w.tx.Table(TableCodes) + ` WHERE ` + col + ` = ?`
	if err := w.markRoots(ctx, sel, key); err != nil {
		return err
	}
	if err := w.exec(ctx, query, args...); err != nil {
		return err
	}
	return w.markRoots(ctx, sel, key)
}
