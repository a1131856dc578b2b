package booking

import (
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// AreaIndexCategory names the streams of the per-area booking index:
// `areabookings-<areaId>`. The index holds the stays of an area's live
// bookings, so that two overlapping bookings cannot both be recorded: a
// booking holds its slot there (appended at the index's revision) before
// the booking itself is recorded. A booking also holds a slot "via" its
// area in the index of each ancestor area: booking a flat while a room
// in it is booked (or the reverse) overlaps too, and the two bookings
// always meet in the index of the higher of the two areas.
const AreaIndexCategory = "areabookings"

// ErrOverlap: the area is already booked at an overlapping time.
var ErrOverlap = domain.NewError(domain.ErrConflict, "the area is already booked at an overlapping time")

// BookingSlotHeld: a live booking holds the area from Start to End (a
// booking holding again moves its slot). ViaAreaID, when set, is the
// booked area under this one: the slot stands for a booking of a
// sub-area (events recorded before sub-areas counted have none).
type BookingSlotHeld struct {
	AreaID     uuid.UUID `json:"areaId"`
	BookingID  uuid.UUID `json:"bookingId"`
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	ViaAreaID  uuid.UUID `json:"viaAreaId,omitzero"`
}

// BookingSlotReleased: the booking no longer holds the area (it ended,
// was cancelled or moved to another area).
type BookingSlotReleased struct {
	AreaID     uuid.UUID `json:"areaId"`
	BookingID  uuid.UUID `json:"bookingId"`
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
}

// EventType names the event in the log.
func (BookingSlotHeld) EventType() string { return "BookingSlotHeld" }

// EventType names the event in the log.
func (BookingSlotReleased) EventType() string { return "BookingSlotReleased" }

type slot struct {
	start, end time.Time
	via        uuid.UUID
}

// AreaIndex is one area's held slots.
type AreaIndex struct {
	slots map[uuid.UUID]slot
}

// Held reports whether a booking holds a slot.
func (x AreaIndex) Held(bookingID uuid.UUID) bool { _, ok := x.slots[bookingID]; return ok }

// LiveAt reports whether a booking of the area itself (not one of a
// sub-area, held via it) holds a slot that has not ended at now.
func (x AreaIndex) LiveAt(now time.Time) bool {
	for _, s := range x.slots {
		if s.via == uuid.Nil && s.end.After(now) {
			return true
		}
	}
	return false
}

// ErrAreaBooked: an area with live bookings cannot be deleted.
var ErrAreaBooked = domain.NewError(domain.ErrConflict, "the area has live bookings (booked or checked in); cancel, check out or move them first")

// Hold has a booking hold an area from Start to End: a booking of the
// area itself, or of the sub-area ViaAreaID.
type Hold struct {
	AreaID, BookingID, AccountID, PropertyID uuid.UUID
	Start, End                               time.Time
	ViaAreaID                                uuid.UUID
}

// Decide records BookingSlotHeld, nothing when the booking already holds
// that slot, or ErrOverlap when another booking's slot overlaps: any slot
// for a booking of the area itself; for a booking of a sub-area, only the
// slots of bookings of the area itself (two sub-areas do not overlap).
func (c Hold) Decide(x AreaIndex, _ time.Time) ([]domain.Event, error) {
	for id, s := range x.slots {
		if id == c.BookingID || !s.start.Before(c.End) || !c.Start.Before(s.end) {
			continue
		}
		if c.ViaAreaID == uuid.Nil || s.via == uuid.Nil {
			return nil, ErrOverlap
		}
	}
	if s, ok := x.slots[c.BookingID]; ok && s.start.Equal(c.Start) && s.end.Equal(c.End) && s.via == c.ViaAreaID {
		return nil, nil
	}
	return []domain.Event{BookingSlotHeld{AreaID: c.AreaID, BookingID: c.BookingID, AccountID: c.AccountID,
		PropertyID: c.PropertyID, Start: c.Start.UTC(), End: c.End.UTC(), ViaAreaID: c.ViaAreaID}}, nil
}

// Release frees a booking's slot.
type Release struct {
	AreaID, BookingID, AccountID, PropertyID uuid.UUID
}

// Decide records BookingSlotReleased, or nothing when the booking holds
// no slot.
func (c Release) Decide(x AreaIndex, _ time.Time) ([]domain.Event, error) {
	if !x.Held(c.BookingID) {
		return nil, nil
	}
	return []domain.Event{BookingSlotReleased{AreaID: c.AreaID, BookingID: c.BookingID, AccountID: c.AccountID, PropertyID: c.PropertyID}}, nil
}

// EvolveAreaIndex applies one event to an area's index.
func EvolveAreaIndex(x AreaIndex, e domain.Event) AreaIndex {
	x, _ = applyToAreaIndex(x, e, false)
	return x
}

// FoldAreaIndex applies events in order, as EvolveAreaIndex would one by
// one, but copies the slots once, not once per event: an area's index
// holds every booking it ever had in its history. The index given is never
// altered.
func FoldAreaIndex(x AreaIndex, events []domain.Event) AreaIndex {
	owned := false
	for _, e := range events {
		x, owned = applyToAreaIndex(x, e, owned)
	}
	return x
}

// applyToAreaIndex applies one event. owned says x.slots is a map this
// fold made, which it may change in place; it is copied before the first
// change otherwise.
func applyToAreaIndex(x AreaIndex, e domain.Event, owned bool) (AreaIndex, bool) {
	switch e := e.(type) {
	case BookingSlotHeld:
		if !owned {
			x.slots, owned = maps.Clone(x.slots), true
			if x.slots == nil {
				x.slots = map[uuid.UUID]slot{}
			}
		}
		x.slots[e.BookingID] = slot{start: e.Start, end: e.End, via: e.ViaAreaID}
	case BookingSlotReleased:
		if !owned {
			x.slots, owned = maps.Clone(x.slots), x.slots != nil
		}
		delete(x.slots, e.BookingID)
	}
	return x, owned
}
