package access

import (
	"slices"

	"github.com/google/uuid"
)

// Explained is a key-map entry with the grant and the membership that
// made it, for audit answers that must say why a credential opens a lock.
type Explained struct {
	Entry
	Grant  Grant
	Member Member
}

// Explain computes the same entries as Entries, each with its grant and
// membership. Where two grants give the same entry, the first in grant
// order (nearest area first) is kept.
func Explain(grants []Grant, members map[uuid.UUID][]Member, devices map[uuid.UUID][]Device, defaultTZ string) []Explained {
	out := []Explained{}
	for _, g := range grants {
		for _, m := range members[g.UserGroupID] {
			s := withZone(g.Schedule.Narrow(m.ValidFrom, m.ValidUntil), defaultTZ)
			for _, d := range devices[m.UserID] {
				out = append(out, Explained{
					Entry: Entry{
						AccessKeyID: d.AccessKeyID, UserID: m.UserID, UserDeviceID: d.DeviceID,
						UserGroupID: g.UserGroupID, BookingID: m.BookingID, AreaID: g.AreaID, PublicKey: d.PublicKey, Schedule: s,
					},
					Grant: g, Member: m,
				})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Explained) int { return compareEntries(a.Entry, b.Entry) })
	return slices.CompactFunc(out, func(a, b Explained) bool {
		return compareEntries(a.Entry, b.Entry) == 0 && a.Schedule.Equal(b.Schedule)
	})
}

// EntriesOf strips the explanations: the key map's entries.
func EntriesOf(ex []Explained) []Entry {
	out := make([]Entry, len(ex))
	for i, e := range ex {
		out[i] = e.Entry
	}
	return out
}
