package keymaps

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/area"
)

// emptyHash is the hash of a key map with no entries: a lock's version 0.
var emptyHash = access.Hash([]access.Entry{})

// maxDepth bounds an area chain; the domain refuses cycles, this only keeps
// a corrupted tree from looping.
const maxDepth = 256

func (w *work) recompute(ctx context.Context) error {
	areas, err := w.subtrees(ctx)
	if err != nil {
		return err
	}
	for _, a := range areas {
		if err := w.computeArea(ctx, a); err != nil {
			return fmt.Errorf("area %s: %w", a, err)
		}
	}
	for _, l := range w.locks {
		if err := w.refreshLock(ctx, l); err != nil {
			return fmt.Errorf("lock %s: %w", l, err)
		}
	}
	devices := make([]string, 0, len(w.devices))
	for d := range w.devices {
		devices = append(devices, d)
	}
	slices.Sort(devices)
	for _, d := range devices {
		if err := w.computeDevice(ctx, d); err != nil {
			return fmt.Errorf("device %s: %w", d, err)
		}
	}
	return nil
}

// subtrees expands the marked areas with all their descendants, parents
// before children, each once.
func (w *work) subtrees(ctx context.Context) ([]string, error) {
	queue := make([]string, 0, len(w.areas))
	for a := range w.areas {
		queue = append(queue, a)
	}
	slices.Sort(queue)
	seen := map[string]bool{}
	var out []string
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		if seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, a)
		children, err := w.strings(ctx, `SELECT area_id FROM `+w.tx.Table(TableAreas)+` WHERE parent_id = ? ORDER BY area_id`, a)
		if err != nil {
			return nil, err
		}
		queue = append(queue, children...)
	}
	return out, nil
}

// computeArea works out the entries of an area's locks; when they changed it
// stores the new set, moves the version of every lock of the area by one,
// and marks the devices that gained or lost entries.
func (w *work) computeArea(ctx context.Context, areaID string) error {
	t := w.tx.Table
	var chain []access.Area
	var propertyID, oldHash string
	for cur, depth := areaID, 0; cur != "" && depth < maxDepth; depth++ {
		var parent, group, list, prop, hash string
		err := w.tx.QueryRow(ctx, `SELECT parent_id, group_id, access_list, property_id, entries_hash FROM `+t(TableAreas)+` WHERE area_id = ?`, cur).
			Scan(&parent, &group, &list, &prop, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			if depth == 0 {
				return nil // deleted area: nothing to compute
			}
			break
		}
		if err != nil {
			return err
		}
		a := access.Area{ID: uuid.MustParse(cur), GroupID: parseID(group)}
		if err := json.Unmarshal([]byte(list), &a.AccessList); err != nil {
			return err
		}
		if depth == 0 {
			propertyID, oldHash = prop, hash
		}
		chain = append(chain, a)
		cur = parent
	}

	areaGroups := map[uuid.UUID]uuid.UUID{}
	for _, a := range chain {
		for _, e := range a.AccessList {
			if e.AccessType != area.AccessArea {
				continue
			}
			var g string
			if err := w.tx.QueryRow(ctx, `SELECT group_id FROM `+t(TableAreas)+` WHERE area_id = ?`, e.AreaID.String()).Scan(&g); err == nil {
				areaGroups[e.AreaID] = parseID(g)
			}
		}
	}
	grants := access.Grants(chain, areaGroups)
	members := map[uuid.UUID][]access.Member{}
	devices := map[uuid.UUID][]access.Device{}
	for _, g := range grants {
		if _, done := members[g.UserGroupID]; done {
			continue
		}
		gf, err := w.group(ctx, g.UserGroupID)
		if err != nil {
			return err
		}
		ms, byUser := gf.members, gf.devices
		members[g.UserGroupID] = ms
		for _, m := range ms {
			if _, done := devices[m.UserID]; !done {
				devices[m.UserID] = byUser[m.UserID]
			}
		}
	}
	var tz string
	_ = w.tx.QueryRow(ctx, `SELECT timezone FROM `+t(TableProperties)+` WHERE property_id = ?`, propertyID).Scan(&tz)
	entries := access.Entries(grants, members, devices, tz)
	codes, err := w.codesOf(ctx, chain)
	if err != nil {
		return err
	}
	if len(codes) > 0 {
		entries = append(entries, access.CodeEntries(codes, tz)...)
	}
	raw, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	hash := hashOf(raw) // access.Hash, without marshalling twice
	if hash == oldHash {
		return nil
	}
	if err := w.exec(ctx, `INSERT INTO `+t(TableSets)+` (hash, entries) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`, hash, string(raw)); err != nil {
		return err
	}
	// Only the rows of devices whose own entries changed are rewritten, and
	// only their access maps computed again: in a large group, one member's
	// change touches one device, not every member's.
	before, err := w.entriesByDevice(ctx, areaID)
	if err != nil {
		return err
	}
	afterParts := map[string][]string{}
	scheds := make(map[int]string, len(entries))
	for i, e := range entries {
		if e.AccessCodeID != uuid.Nil {
			continue // codes have no device and no device map
		}
		sched, _ := json.Marshal(e.Schedule)
		scheds[i] = string(sched)
		dev := e.UserDeviceID.String()
		afterParts[dev] = append(afterParts[dev], entryKey(e.AccessKeyID.String(), e.UserGroupID.String(), e.AreaID.String(), string(sched)))
	}
	after := joinSorted(afterParts)
	for dev, k := range before {
		if after[dev] == k {
			continue
		}
		w.devices[dev] = true
		if err := w.exec(ctx, `DELETE FROM `+t(TableAreaEntries)+` WHERE area_id = ? AND device_id = ?`, areaID, dev); err != nil {
			return err
		}
	}
	for i, e := range entries {
		dev := e.UserDeviceID.String()
		if e.AccessCodeID != uuid.Nil || before[dev] == after[dev] {
			continue
		}
		w.devices[dev] = true
		if err := w.exec(ctx, `INSERT INTO `+t(TableAreaEntries)+` (area_id, device_id, access_key_id, user_group_id, grant_area_id, schedule) VALUES (?, ?, ?, ?, ?, ?)`,
			areaID, dev, e.AccessKeyID.String(), e.UserGroupID.String(), e.AreaID.String(), scheds[i]); err != nil {
			return err
		}
	}
	if err := w.exec(ctx, `UPDATE `+t(TableAreas)+` SET entries_hash = ? WHERE area_id = ?`, hash, areaID); err != nil {
		return err
	}
	return w.setAreaLocksHash(ctx, areaID, hash)
}

// setAreaLocksHash moves the key map of every lock of an area to hash, in
// two statements whatever the number of locks: each lock whose entry set
// changed gets its version raised by one and a history row for it.
func (w *work) setAreaLocksHash(ctx context.Context, areaID, hash string) error {
	t := w.tx.Table
	if err := w.exec(ctx, `UPDATE `+t(TableLocks)+` SET version = version + 1, hash = ? WHERE area_id = ? AND deleted = 0 AND hash <> ?`,
		hash, areaID, hash); err != nil {
		return err
	}
	// A lock at version 1 or more already has the history row of its
	// version, so only the locks just moved gain one; a lock still at
	// version 0 (never changed) has none and needs none.
	return w.exec(ctx, `INSERT INTO `+t(TableLockHistory)+` (lock_id, version, hash, position, recorded_at)
		SELECT lock_id, version, hash, ?, ? FROM `+t(TableLocks)+` WHERE area_id = ? AND deleted = 0 AND hash = ? AND version > 0
		ON CONFLICT (lock_id, version) DO NOTHING`,
		int64(w.env.Position), w.env.RecordedAt.UTC().Format(timeLayout), areaID, hash)
}

// entriesByDevice reads an area's stored entries as one comparable string
// per device.
func (w *work) entriesByDevice(ctx context.Context, areaID string) (map[string]string, error) {
	rows, err := w.tx.Query(ctx, `SELECT device_id, access_key_id, user_group_id, grant_area_id, schedule FROM `+w.tx.Table(TableAreaEntries)+` WHERE area_id = ?`, areaID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	parts := map[string][]string{}
	for rows.Next() {
		var dev, key, grp, area, sched string
		if err := rows.Scan(&dev, &key, &grp, &area, &sched); err != nil {
			return nil, err
		}
		parts[dev] = append(parts[dev], entryKey(key, grp, area, sched))
	}
	return joinSorted(parts), rows.Err()
}

func joinSorted(parts map[string][]string) map[string]string {
	out := make(map[string]string, len(parts))
	for dev, ps := range parts {
		slices.Sort(ps)
		out[dev] = strings.Join(ps, "")
	}
	return out
}

func entryKey(accessKey, group, area, schedule string) string {
	return accessKey + "|" + group + "|" + area + "|" + schedule + ";"
}

// dropAreaEntries removes an area's entries, marking their devices.
func (w *work) dropAreaEntries(ctx context.Context, areaID string) error {
	old, err := w.strings(ctx, `SELECT DISTINCT device_id FROM `+w.tx.Table(TableAreaEntries)+` WHERE area_id = ?`, areaID)
	if err != nil {
		return err
	}
	for _, d := range old {
		w.devices[d] = true
	}
	return w.exec(ctx, `DELETE FROM `+w.tx.Table(TableAreaEntries)+` WHERE area_id = ?`, areaID)
}

// refreshLock gives a lock whose area changed the key map of its new area.
func (w *work) refreshLock(ctx context.Context, lockID string) error {
	t := w.tx.Table
	var areaID string
	var deleted int
	if err := w.tx.QueryRow(ctx, `SELECT area_id, deleted FROM `+t(TableLocks)+` WHERE lock_id = ?`, lockID).Scan(&areaID, &deleted); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	hash := emptyHash
	if areaID != "" && deleted == 0 {
		if err := w.tx.QueryRow(ctx, `SELECT entries_hash FROM `+t(TableAreas)+` WHERE area_id = ?`, areaID).Scan(&hash); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if hash == "" {
			hash = emptyHash
		}
		devices, err := w.strings(ctx, `SELECT DISTINCT device_id FROM `+t(TableAreaEntries)+` WHERE area_id = ?`, areaID)
		if err != nil {
			return err
		}
		for _, d := range devices {
			w.devices[d] = true
		}
	}
	return w.setLockHash(ctx, lockID, hash)
}

// setLockHash moves a lock's key map to hash, raising its version by one
// when, and only when, the entry set changed.
func (w *work) setLockHash(ctx context.Context, lockID, hash string) error {
	t := w.tx.Table
	var version int64
	var old string
	if err := w.tx.QueryRow(ctx, `SELECT version, hash FROM `+t(TableLocks)+` WHERE lock_id = ?`, lockID).Scan(&version, &old); err != nil {
		return err
	}
	if old == hash {
		return nil
	}
	version++
	if err := w.exec(ctx, `UPDATE `+t(TableLocks)+` SET version = ?, hash = ? WHERE lock_id = ?`, version, hash, lockID); err != nil {
		return err
	}
	return w.exec(ctx, `INSERT INTO `+t(TableLockHistory)+` (lock_id, version, hash, position, recorded_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (lock_id, version) DO NOTHING`, lockID, version, hash, int64(w.env.Position), w.env.RecordedAt.UTC().Format(timeLayout))
}

// markLockDevices marks the devices that can open a lock now, before the
// lock leaves its area, so their access maps drop it.
func (w *work) markLockDevices(ctx context.Context, lockID string) error {
	devices, err := w.strings(ctx, `SELECT DISTINCT e.device_id FROM `+w.tx.Table(TableAreaEntries)+` e JOIN `+w.tx.Table(TableLocks)+` l ON l.area_id = e.area_id WHERE l.lock_id = ?`, lockID)
	if err != nil {
		return err
	}
	for _, d := range devices {
		w.devices[d] = true
	}
	return nil
}

// DeviceEntry is one lock of a user access map.
type DeviceEntry struct {
	PropertyID  string           `json:"propertyId"`
	AreaID      string           `json:"areaId"`
	LockID      string           `json:"lockId"`
	UserGroupID string           `json:"userGroupId"`
	Schedule    *domain.Schedule `json:"schedule"`
	AccessKeyID string           `json:"accessKeyId"`
}

// deviceRow is a device entry as read, its schedule the stored JSON: two
// rows are the same entry when every field is equal.
type deviceRow struct {
	propertyID, areaID, lockID, groupID, schedule, accessKeyID string
}

func compareDeviceRows(a, b deviceRow) int {
	return cmp.Or(strings.Compare(a.lockID, b.lockID), strings.Compare(a.groupID, b.groupID),
		strings.Compare(a.schedule, b.schedule), strings.Compare(a.accessKeyID, b.accessKeyID),
		strings.Compare(a.areaID, b.areaID), strings.Compare(a.propertyID, b.propertyID))
}

// computeDevice rebuilds a device's access map from the entries of the
// areas whose locks admit it; its version rises by one when it changed.
func (w *work) computeDevice(ctx context.Context, deviceID string) error {
	t := w.tx.Table
	var accountID, userID string
	err := w.tx.QueryRow(ctx, `SELECT account_id, user_id FROM `+t(TableDevices)+` WHERE device_id = ?`, deviceID).Scan(&accountID, &userID)
	active := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	entries := []DeviceEntry{}
	if active {
		// A device entry names the lock's area, not the grant's, so two
		// grants of one group with one schedule (on the lock's area and on
		// an ancestor, say) give the same entry twice: it is listed once.
		// The lock's key map keeps both, one per grant.
		rows, err := w.tx.Query(ctx, `SELECT l.property_id, l.area_id, l.lock_id, e.user_group_id, e.schedule, e.access_key_id
			FROM `+t(TableAreaEntries)+` e JOIN `+t(TableLocks)+` l ON l.area_id = e.area_id AND l.deleted = 0
			WHERE e.device_id = ?`, deviceID)
		if err != nil {
			return err
		}
		var found []deviceRow
		for rows.Next() {
			var r deviceRow
			if err := rows.Scan(&r.propertyID, &r.areaID, &r.lockID, &r.groupID, &r.schedule, &r.accessKeyID); err != nil {
				rows.Close()
				return err
			}
			found = append(found, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Sorted here, not by the database, so the order (and the hash)
		// does not depend on a backend's collation.
		slices.SortFunc(found, compareDeviceRows)
		found = slices.Compact(found)
		for _, r := range found {
			d := DeviceEntry{PropertyID: r.propertyID, AreaID: r.areaID, LockID: r.lockID, UserGroupID: r.groupID, AccessKeyID: r.accessKeyID}
			if err := json.Unmarshal([]byte(r.schedule), &d.Schedule); err != nil {
				return err
			}
			entries = append(entries, d)
		}
	}
	raw, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])

	var version int64
	var old string
	err = w.tx.QueryRow(ctx, `SELECT version, hash FROM `+t(TableDeviceMaps)+` WHERE device_id = ?`, deviceID).Scan(&version, &old)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if !active {
			return nil
		}
		if len(entries) > 0 {
			version = 1
		}
		return w.exec(ctx, `INSERT INTO `+t(TableDeviceMaps)+` (device_id, account_id, user_id, version, hash, entries) VALUES (?, ?, ?, ?, ?, ?)`,
			deviceID, accountID, userID, version, hash, string(raw))
	case err != nil:
		return err
	case old == hash:
		return nil
	}
	return w.exec(ctx, `UPDATE `+t(TableDeviceMaps)+` SET version = ?, hash = ?, entries = ? WHERE device_id = ?`, version+1, hash, string(raw), deviceID)
}

// groupFacts is a group's members and, by user, their devices.
type groupFacts struct {
	members []access.Member
	devices map[uuid.UUID][]access.Device
}

// hashOf is access.Hash of the entries whose JSON is raw.
func hashOf(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// group reads a group's members and their devices, each user's in device
// order, in one query, once per batch unless they change (see work.groups).
func (w *work) group(ctx context.Context, groupID uuid.UUID) (groupFacts, error) {
	if gf, ok := w.groups[groupID.String()].(groupFacts); ok {
		return gf, nil
	}
	t := w.tx.Table
	rows, err := w.tx.Query(ctx, `SELECT m.user_id, m.valid_from, m.valid_until, m.booking_id,
		COALESCE(d.device_id, ''), COALESCE(d.access_key_id, ''), COALESCE(d.public_key, '')
		FROM `+t(TableMembers)+` m LEFT JOIN `+t(TableDevices)+` d ON d.user_id = m.user_id
		WHERE m.group_id = ? ORDER BY m.user_id, d.device_id`, groupID.String())
	if err != nil {
		return groupFacts{}, err
	}
	defer rows.Close()
	gf := groupFacts{devices: map[uuid.UUID][]access.Device{}}
	var lastUser string
	var user uuid.UUID
	for rows.Next() {
		var userID, from, until, booking, dev, key, pub string
		if err := rows.Scan(&userID, &from, &until, &booking, &dev, &key, &pub); err != nil {
			return groupFacts{}, err
		}
		if userID != lastUser {
			lastUser, user = userID, parseID(userID)
			gf.members = append(gf.members, access.Member{UserID: user, ValidFrom: parseTime(from), ValidUntil: parseTime(until), BookingID: parseID(booking)})
		}
		if dev != "" {
			gf.devices[user] = append(gf.devices[user], access.Device{DeviceID: parseID(dev), UserID: user, AccessKeyID: parseID(key), PublicKey: pub})
		}
	}
	if err := rows.Err(); err != nil {
		return groupFacts{}, err
	}
	if w.groups != nil {
		w.groups[groupID.String()] = gf
	}
	return gf, nil
}

func (w *work) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := w.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// optionalID stores a nil id as the empty string (no booking), which
// parseID reads back as nil.
func optionalID(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func parseID(s string) uuid.UUID {
	u, _ := uuid.Parse(s)
	return u
}

func parseTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return nil
	}
	return &t
}

// codesOf lists the active codes of the areas of a chain: a code opens the
// locks of its area and of every sub-area.
func (w *work) codesOf(ctx context.Context, chain []access.Area) ([]access.Code, error) {
	var out []access.Code
	for _, a := range chain {
		rows, err := w.tx.Query(ctx, `SELECT access_code_id, code_hash, salt, valid_from, valid_until FROM `+w.tx.Table(TableCodes)+` WHERE area_id = ?`, a.ID.String())
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, from, until string
			c := access.Code{AreaID: a.ID}
			if err := rows.Scan(&id, &c.CodeHash, &c.Salt, &from, &until); err != nil {
				rows.Close()
				return nil, err
			}
			c.AccessCodeID = parseID(id)
			if c.ValidFrom, err = time.Parse(timeLayout, from); err != nil {
				rows.Close()
				return nil, err
			}
			if c.ValidUntil, err = time.Parse(timeLayout, until); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
