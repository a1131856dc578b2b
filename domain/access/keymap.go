// Package access holds the access rules: who may open the locks of an area,
// through which grant, and when. It is pure: callers fetch the facts (the
// area chain, memberships, devices) and these functions decide.
package access

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
)

// Area is what the rules need of one area.
type Area struct {
	ID uuid.UUID
	// GroupID is the area's own user group.
	GroupID    uuid.UUID
	AccessList []area.AccessEntry
}

// Member is a user's membership of a group, with its window, and the
// booking whose guest's stay it is (nil for any other membership).
type Member struct {
	UserID     uuid.UUID
	ValidFrom  *time.Time
	ValidUntil *time.Time
	BookingID  uuid.UUID
}

// Device is an active device of a user, by the key that identifies it.
type Device struct {
	DeviceID    uuid.UUID
	UserID      uuid.UUID
	AccessKeyID uuid.UUID
	PublicKey   string
}

// Grant is one way into an area: the members of a group, when a schedule
// admits (nil: always), granted on an area.
type Grant struct {
	// AreaID is the area (the lock's own or an ancestor) holding the grant.
	AreaID      uuid.UUID
	UserGroupID uuid.UUID
	// AccessType is "area" for an area's own group, or the access-list
	// entry's type ("group" or "area").
	AccessType area.AccessType
	// ViaAreaID is the area whose own group an `area` entry admits.
	ViaAreaID uuid.UUID
	Schedule  *domain.Schedule
}

// Grants lists every grant that opens the locks of chain[0]: chain is the
// lock's area followed by its ancestors, nearest first. Each area's own
// group is admitted always; each access-list entry by its schedule.
// areaGroups maps an area id to its own group, for `area` entries.
func Grants(chain []Area, areaGroups map[uuid.UUID]uuid.UUID) []Grant {
	var out []Grant
	for _, a := range chain {
		if a.GroupID != uuid.Nil {
			out = append(out, Grant{AreaID: a.ID, UserGroupID: a.GroupID, AccessType: "area"})
		}
		for _, e := range a.AccessList {
			g := Grant{AreaID: a.ID, AccessType: e.AccessType, Schedule: e.Schedule}
			switch e.AccessType {
			case area.AccessGroup:
				g.UserGroupID = e.UserGroupID
			case area.AccessArea:
				g.ViaAreaID = e.AreaID
				g.UserGroupID = areaGroups[e.AreaID]
			}
			if g.UserGroupID != uuid.Nil {
				out = append(out, g)
			}
		}
	}
	return out
}

// Entry is one credential of a key map: a device of an admitted user, or
// an access code (AccessCodeID, CodeHash and Salt set, no device). The
// device fields are omitted when zero, so a device entry encodes as it
// did before codes existed and Hash keeps its values. BookingID names the
// booking a guest's device entry comes from (their stay's membership);
// omitted for every other entry, whose hash it leaves unchanged.
type Entry struct {
	AccessKeyID  uuid.UUID `json:"accessKeyId,omitzero"`
	UserID       uuid.UUID `json:"userId,omitzero"`
	UserDeviceID uuid.UUID `json:"userDeviceId,omitzero"`
	UserGroupID  uuid.UUID `json:"userGroupId,omitzero"`
	AccessCodeID uuid.UUID `json:"accessCodeId,omitzero"`
	BookingID    uuid.UUID `json:"bookingId,omitzero"`
	// CodeHash is hex(sha256(salt || code)), Salt the hex of the code's
	// random salt.
	CodeHash  string           `json:"codeHash,omitempty"`
	Salt      string           `json:"salt,omitempty"`
	AreaID    uuid.UUID        `json:"areaId"`
	PublicKey string           `json:"publicKey,omitempty"`
	Schedule  *domain.Schedule `json:"schedule"`
}

// Code is an active access code of an area.
type Code struct {
	AccessCodeID          uuid.UUID
	AreaID                uuid.UUID
	CodeHash, Salt        string
	ValidFrom, ValidUntil time.Time
}

// CodeEntries are the key-map entries of codes, valid from their start to
// their end, in the zone tz; sorted by code id.
func CodeEntries(codes []Code, tz string) []Entry {
	out := make([]Entry, 0, len(codes))
	for _, c := range codes {
		from, until := c.ValidFrom.UTC(), c.ValidUntil.UTC()
		s := &domain.Schedule{Timezone: tz, ValidFrom: &from, ValidUntil: &until, Weekly: []domain.WeeklyWindow{}}
		if s.Timezone == "" {
			s.Timezone = "UTC"
		}
		out = append(out, Entry{AccessCodeID: c.AccessCodeID, CodeHash: c.CodeHash, Salt: c.Salt, AreaID: c.AreaID, Schedule: s})
	}
	slices.SortFunc(out, func(a, b Entry) int { return bytes.Compare(a.AccessCodeID[:], b.AccessCodeID[:]) })
	return out
}

// Entries is the key map of an area's locks: one entry per (active device
// of an admitted user, grant), its schedule the grant's narrowed by the
// membership window. A schedule without a zone gets defaultTZ (the
// property's), so a lock evaluates it without knowing the property. The
// result is sorted, so equal inputs give equal key maps.
func Entries(grants []Grant, members map[uuid.UUID][]Member, devices map[uuid.UUID][]Device, defaultTZ string) []Entry {
	out := []Entry{}
	for _, g := range grants {
		for _, m := range members[g.UserGroupID] {
			s := withZone(g.Schedule.Narrow(m.ValidFrom, m.ValidUntil), defaultTZ)
			for _, d := range devices[m.UserID] {
				out = append(out, Entry{
					AccessKeyID: d.AccessKeyID, UserID: m.UserID, UserDeviceID: d.DeviceID,
					UserGroupID: g.UserGroupID, BookingID: m.BookingID, AreaID: g.AreaID, PublicKey: d.PublicKey, Schedule: s,
				})
			}
		}
	}
	slices.SortFunc(out, compareEntries)
	return slices.CompactFunc(out, func(a, b Entry) bool { return compareEntries(a, b) == 0 && a.Schedule.Equal(b.Schedule) })
}

func withZone(s *domain.Schedule, tz string) *domain.Schedule {
	if s == nil || s.Timezone != "" || tz == "" {
		return s
	}
	c := s.Clone()
	c.Timezone = tz
	return c
}

func compareEntries(a, b Entry) int {
	if c := bytes.Compare(a.AccessKeyID[:], b.AccessKeyID[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(a.UserGroupID[:], b.UserGroupID[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(a.AreaID[:], b.AreaID[:]); c != 0 {
		return c
	}
	return cmp.Compare(scheduleKey(a.Schedule), scheduleKey(b.Schedule))
}

func scheduleKey(s *domain.Schedule) string {
	if s == nil {
		return ""
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// Hash identifies an entry set: equal sets have equal hashes, so a key map's
// version rises exactly when its hash changes.
func Hash(entries []Entry) string {
	b, _ := json.Marshal(entries)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Opens reports whether the credential accessKeyID opens a lock whose key
// map is entries at instant t, and through which entry.
func Opens(entries []Entry, accessKeyID uuid.UUID, t time.Time) (Entry, bool) {
	for _, e := range entries {
		if e.AccessKeyID == accessKeyID && e.Schedule.Admits(t, time.UTC) {
			return e, true
		}
	}
	return Entry{}, false
}
