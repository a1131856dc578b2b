package queries

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
)

// auditMaxDepth bounds an area chain, as the key-map projection does.
const auditMaxDepth = 256

// auditFacts are the access facts folded from the events of the entities
// an audit question involves, with the event that set each one. It mirrors
// projections/keymaps' facts, in memory.
type auditFacts struct {
	timezones map[uuid.UUID]string
	areas     map[uuid.UUID]*auditArea
	members   map[uuid.UUID]map[uuid.UUID]*auditMember // group -> user
	// removed are the removals of members not added again since.
	removed map[uuid.UUID]map[uuid.UUID]*eventstore.Envelope // group -> user
	devices map[uuid.UUID]map[uuid.UUID]*auditDevice         // user -> device
	retired map[uuid.UUID]*eventstore.Envelope               // deprovisioned devices
	locks   map[uuid.UUID]*auditLock
	// codes are the access codes not revoked, by id; bookings every
	// booking whose code events were met (the fold follows them).
	codes    map[uuid.UUID]*auditCode
	bookings map[uuid.UUID]bool
	// revokedCodes are the revocations, by code id, and revokedCode the
	// codes as they were when revoked (where they opened).
	revokedCodes map[uuid.UUID]*eventstore.Envelope
	revokedCode  map[uuid.UUID]*auditCode
}

// auditCode is a booking's access code: where and when it opens.
type auditCode struct {
	booking, area uuid.UUID
	hash, salt    string
	from, until   time.Time
	created       *eventstore.Envelope
}

type auditArea struct {
	property, parent, group uuid.UUID
	list                    []area.AccessEntry
	// grantedBy holds, for each entry of list, the access-list change
	// since which the entry has been there as it is: a later change that
	// leaves it alone did not grant it.
	grantedBy []*eventstore.Envelope
	created   *eventstore.Envelope
	// revoked holds, for each grantee (a group, or an area's group) that
	// an access-list change took off the list and none put back since,
	// that change: the event a noGrant refusal names.
	revoked map[grantee]*eventstore.Envelope
}

// grantee is whom an access-list entry admits: a group (accessType
// group) or an area's group (accessType area), whatever the schedule.
type grantee struct {
	accessType area.AccessType
	id         uuid.UUID
}

func granteeOf(e area.AccessEntry) grantee {
	if e.AccessType == area.AccessArea {
		return grantee{accessType: e.AccessType, id: e.AreaID}
	}
	return grantee{accessType: e.AccessType, id: e.UserGroupID}
}

type auditMember struct {
	m  access.Member
	ev *eventstore.Envelope
}

type auditDevice struct {
	d  access.Device
	ev *eventstore.Envelope
}

type auditLock struct {
	area, property uuid.UUID
	deleted        bool
	// last is the last install, uninstall or deprovisioning.
	last *eventstore.Envelope
}

// propertyOf is the property the lock is in, as a string ("" in none).
func (f *auditFacts) propertyOf(lockID uuid.UUID) string {
	if l := f.locks[lockID]; l != nil && l.property != uuid.Nil {
		return l.property.String()
	}
	return ""
}

func newAuditFacts() *auditFacts {
	return &auditFacts{timezones: map[uuid.UUID]string{}, areas: map[uuid.UUID]*auditArea{},
		members: map[uuid.UUID]map[uuid.UUID]*auditMember{}, removed: map[uuid.UUID]map[uuid.UUID]*eventstore.Envelope{}, devices: map[uuid.UUID]map[uuid.UUID]*auditDevice{},
		retired: map[uuid.UUID]*eventstore.Envelope{}, locks: map[uuid.UUID]*auditLock{},
		codes: map[uuid.UUID]*auditCode{}, bookings: map[uuid.UUID]bool{}, revokedCodes: map[uuid.UUID]*eventstore.Envelope{},
		revokedCode: map[uuid.UUID]*auditCode{}}
}

// apply folds one event, as projections/keymaps' facts do.
func (f *auditFacts) apply(env *eventstore.Envelope) {
	switch e := env.Event.(type) {
	case property.PropertyCreated:
		f.timezones[e.PropertyID] = e.Timezone
	case property.PropertyUpdated:
		f.timezones[e.PropertyID] = e.Timezone
	case area.AreaCreated:
		if f.areas[e.AreaID] == nil {
			f.areas[e.AreaID] = &auditArea{property: e.PropertyID, parent: e.ParentAreaID, group: e.AreaUserGroupID, created: env}
		}
	case area.AreaMoved:
		if a := f.areas[e.AreaID]; a != nil {
			a.parent = e.ParentAreaID
		}
	case area.AreaAccessListChanged:
		if a := f.areas[e.AreaID]; a != nil {
			by := make([]*eventstore.Envelope, len(e.AccessList))
			kept := map[grantee]bool{}
			for i, entry := range e.AccessList {
				by[i] = env
				if j := sameEntry(a.list, entry); j >= 0 {
					by[i] = a.grantedBy[j]
				}
				kept[granteeOf(entry)] = true
				delete(a.revoked, granteeOf(entry))
			}
			for _, old := range a.list {
				if g := granteeOf(old); !kept[g] {
					if a.revoked == nil {
						a.revoked = map[grantee]*eventstore.Envelope{}
					}
					a.revoked[g] = env
				}
			}
			a.list, a.grantedBy = e.AccessList, by
		}
	case area.AreaDeleted:
		delete(f.areas, e.AreaID)
	case group.UserAddedToGroup:
		f.member(e.UserGroupID, e.UserID, e.ValidFrom, e.ValidUntil, e.BookingID, env)
	case group.UserGroupMembershipChanged:
		f.member(e.UserGroupID, e.UserID, e.ValidFrom, e.ValidUntil, e.BookingID, env)
	case group.UserRemovedFromGroup:
		delete(f.members[e.UserGroupID], e.UserID)
		if f.removed[e.UserGroupID] == nil {
			f.removed[e.UserGroupID] = map[uuid.UUID]*eventstore.Envelope{}
		}
		f.removed[e.UserGroupID][e.UserID] = env
	case group.UserGroupDeleted:
		// The deletion removed every member: it is the event a refusal
		// names for them, as a removal would be.
		for u := range f.members[e.UserGroupID] {
			if f.removed[e.UserGroupID] == nil {
				f.removed[e.UserGroupID] = map[uuid.UUID]*eventstore.Envelope{}
			}
			f.removed[e.UserGroupID][u] = env
		}
		delete(f.members, e.UserGroupID)
	case device.UserDeviceProvisioned:
		ds := f.userDevices(e.UserID)
		if ds[e.UserDeviceID] == nil {
			ds[e.UserDeviceID] = &auditDevice{d: access.Device{DeviceID: e.UserDeviceID, UserID: e.UserID, AccessKeyID: e.AccessKeyID, PublicKey: e.PublicKey}, ev: env}
		}
	case device.UserDeviceKeysRotated:
		if d := f.devices[e.UserID][e.UserDeviceID]; d != nil {
			d.d.AccessKeyID, d.d.PublicKey, d.ev = e.AccessKeyID, e.PublicKey, env
		}
	case device.UserDeviceDeprovisioned:
		delete(f.devices[e.UserID], e.UserDeviceID)
		f.retired[e.UserDeviceID] = env
	case booking.AccessCodeCreated:
		f.bookings[e.BookingID] = true
		if f.codes[e.AccessCodeID] == nil {
			f.codes[e.AccessCodeID] = &auditCode{booking: e.BookingID, area: e.AreaID, hash: e.CodeHash, salt: e.Salt,
				from: e.ValidFrom, until: e.ValidUntil, created: env}
		}
	case booking.AccessCodeRevoked:
		f.bookings[e.BookingID] = true
		if c := f.codes[e.AccessCodeID]; c != nil {
			f.revokedCode[e.AccessCodeID] = c
		}
		delete(f.codes, e.AccessCodeID)
		f.revokedCodes[e.AccessCodeID] = env
	case booking.BookingRescheduled:
		// A booking's codes follow its dates and area, as in the key maps.
		f.bookings[e.BookingID] = true
		for _, c := range f.codes {
			if c.booking == e.BookingID {
				c.area, c.from, c.until = e.AreaID, e.StartDateTime, e.EndDateTime
			}
		}
	case lock.LockProvisioned:
		if f.locks[e.LockID] == nil {
			f.locks[e.LockID] = &auditLock{}
		}
	case lock.LockInstalled:
		if l := f.lock(e.LockID); l != nil {
			l.area, l.property, l.last = e.AreaID, e.PropertyID, env
		}
	case lock.LockUninstalled:
		if l := f.lock(e.LockID); l != nil {
			l.area, l.last = uuid.Nil, env
			if e.Mode != lock.UninstallArea {
				l.property = uuid.Nil
			}
		}
	case lock.LockDeprovisioned:
		if l := f.lock(e.LockID); l != nil {
			l.area, l.deleted, l.last = uuid.Nil, true, env
		}
	}
}

// sameEntry is the index in list of an entry granting what e grants (the
// same group, or the same area's group), on the same schedule; -1 when
// there is none.
func sameEntry(list []area.AccessEntry, e area.AccessEntry) int {
	return slices.IndexFunc(list, func(x area.AccessEntry) bool {
		if x.AccessType != e.AccessType || !x.Schedule.Equal(e.Schedule) {
			return false
		}
		if e.AccessType == area.AccessArea {
			return x.AreaID == e.AreaID
		}
		return x.UserGroupID == e.UserGroupID
	})
}

// lock returns a lock's facts, nil before its provisioning: an install of
// an unknown lock changes nothing, as in the key-map projection.
func (f *auditFacts) lock(id uuid.UUID) *auditLock { return f.locks[id] }

func (f *auditFacts) member(groupID, userID uuid.UUID, from, until *time.Time, bookingID uuid.UUID, env *eventstore.Envelope) {
	ms := f.members[groupID]
	if ms == nil {
		ms = map[uuid.UUID]*auditMember{}
		f.members[groupID] = ms
	}
	delete(f.removed[groupID], userID)
	ms[userID] = &auditMember{m: access.Member{UserID: userID, ValidFrom: from, ValidUntil: until, BookingID: bookingID}, ev: env}
}

func (f *auditFacts) userDevices(userID uuid.UUID) map[uuid.UUID]*auditDevice {
	ds := f.devices[userID]
	if ds == nil {
		ds = map[uuid.UUID]*auditDevice{}
		f.devices[userID] = ds
	}
	return ds
}

// chain is the lock's area and its ancestors, nearest first, as far as the
// facts know them; nil when the lock is in no (existing) area.
func (f *auditFacts) chain(lockID uuid.UUID) []access.Area {
	l := f.locks[lockID]
	if l == nil || l.deleted || l.area == uuid.Nil {
		return nil
	}
	var out []access.Area
	for cur, depth := l.area, 0; cur != uuid.Nil && depth < auditMaxDepth; depth++ {
		a := f.areas[cur]
		if a == nil {
			break
		}
		out = append(out, access.Area{ID: cur, GroupID: a.group, AccessList: a.list})
		cur = a.parent
	}
	return out
}

// grants are the grants opening the locks of chain[0]; an `area` entry
// whose area the facts do not hold grants nothing, as in the projection.
func (f *auditFacts) grants(chain []access.Area) []access.Grant {
	areaGroups := map[uuid.UUID]uuid.UUID{}
	for _, a := range chain {
		for _, e := range a.AccessList {
			if e.AccessType == area.AccessArea {
				if ref := f.areas[e.AreaID]; ref != nil {
					areaGroups[e.AreaID] = ref.group
				}
			}
		}
	}
	return access.Grants(chain, areaGroups)
}

// needs lists the ids whose events the answer for the lock depends on,
// given what the facts hold so far: the lock, its area chain and the
// parent beyond it, areas named by `area` entries, the property, the
// granted groups, and their members (for their devices).
func (f *auditFacts) needs(lockID uuid.UUID) []uuid.UUID {
	out := []uuid.UUID{lockID}
	l := f.locks[lockID]
	if l == nil || l.deleted || l.area == uuid.Nil {
		return out
	}
	out = append(out, l.area)
	chain := f.chain(lockID)
	if len(chain) > 0 {
		if a := f.areas[chain[0].ID]; a != nil {
			out = append(out, a.property)
		}
		if last := f.areas[chain[len(chain)-1].ID]; last != nil && last.parent != uuid.Nil {
			out = append(out, last.parent)
		}
	}
	for _, a := range chain {
		for _, e := range a.AccessList {
			if e.AccessType == area.AccessArea {
				out = append(out, e.AreaID)
			}
		}
	}
	for _, g := range f.grants(chain) {
		out = append(out, g.UserGroupID)
		for u := range f.members[g.UserGroupID] {
			out = append(out, u)
		}
	}
	for b := range f.bookings {
		out = append(out, b)
	}
	return out
}

// explain computes the lock's key map from the facts, with each entry's
// grant and membership.
func (f *auditFacts) explain(lockID uuid.UUID) []access.Explained {
	chain := f.chain(lockID)
	if len(chain) == 0 {
		return []access.Explained{}
	}
	grants := f.grants(chain)
	members := map[uuid.UUID][]access.Member{}
	devices := map[uuid.UUID][]access.Device{}
	for _, g := range grants {
		if _, done := members[g.UserGroupID]; done {
			continue
		}
		var ms []access.Member
		for _, m := range f.members[g.UserGroupID] {
			ms = append(ms, m.m)
			if _, done := devices[m.m.UserID]; !done {
				for _, d := range f.devices[m.m.UserID] {
					devices[m.m.UserID] = append(devices[m.m.UserID], d.d)
				}
			}
		}
		members[g.UserGroupID] = ms
	}
	tz := ""
	if a := f.areas[chain[0].ID]; a != nil {
		tz = f.timezones[a.property]
	}
	out := access.Explain(grants, members, devices, tz)
	// Codes come after the devices' entries, as the key maps write them:
	// a code opens the locks of its area and of every sub-area.
	var codes []access.Code
	for id, c := range f.codes {
		for _, a := range chain {
			if c.area == a.ID {
				codes = append(codes, access.Code{AccessCodeID: id, AreaID: c.area, CodeHash: c.hash, Salt: c.salt, ValidFrom: c.from, ValidUntil: c.until})
				break
			}
		}
	}
	for _, e := range access.CodeEntries(codes, tz) {
		out = append(out, access.Explained{Entry: e, Grant: access.Grant{AreaID: e.AreaID, AccessType: area.AccessType(accessTypeCode)}})
	}
	return out
}

// accessTypeCode is the via.accessType of an access code's entry.
const accessTypeCode = "accessCode"
