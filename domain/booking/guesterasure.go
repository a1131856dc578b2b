package booking

import (
	"bytes"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// GuestErased: a registered guest was forgotten, because they asked to
// be or because the booking's guest user was deleted. The event says
// only that; erasing the guest's key (after it is recorded) makes the
// sealed details of every GuestRegistered unreadable, while the log and
// its hash chains stay as they were.
type GuestErased struct {
	GuestID    uuid.UUID `json:"guestId"`
	BookingID  uuid.UUID `json:"bookingId"`
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
	At         time.Time `json:"at"`
}

// EventType names the event in the log.
func (GuestErased) EventType() string { return "GuestErased" }

// Errors of guest erasure.
var (
	ErrGuestNotFound = domain.NewError(domain.ErrNotFound, "guest not found")
	// ErrGuestErased: the guest was erased already; the key erasure may
	// still be due (an erasure interrupted after its event).
	ErrGuestErased = domain.NewError(domain.ErrNotFound, "guest not found (erased)")
)

// EraseGuest forgets a registered guest of the booking, whatever the
// booking's status: the right to erasure does not wait for check-out.
type EraseGuest struct {
	GuestID uuid.UUID
}

// Decide records GuestErased.
func (c EraseGuest) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	erased, ok := s.guests[c.GuestID]
	if !ok {
		return nil, ErrGuestNotFound
	}
	if erased {
		return nil, ErrGuestErased
	}
	return []domain.Event{GuestErased{GuestID: c.GuestID, BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, At: now.UTC()}}, nil
}

// EraseGuestsOfDeletedGuest forgets every registered guest of a booking
// whose guest user (UserID) was deleted, whatever the booking's status or
// dates: the guests registered on a user's booking are that user's stay
// (often the user themself, by their identity document, or those who
// came with them), and nothing tells them apart. Guests already erased
// are left as they are, so a deletion run again records nothing twice. A
// guest given by name is no user and is never the guest user.
type EraseGuestsOfDeletedGuest struct {
	UserID uuid.UUID
}

// Decide records GuestErased for each registered guest not yet erased, in
// guest id order; or nothing.
func (c EraseGuestsOfDeletedGuest) Decide(s State, now time.Time) ([]domain.Event, error) {
	if err := s.requireGuestUser(c.UserID); err != nil {
		return nil, err
	}
	var events []domain.Event
	for _, id := range s.GuestIDs() {
		if !s.guests[id] {
			events = append(events, GuestErased{GuestID: id, BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, At: now.UTC()})
		}
	}
	return events, nil
}

// GuestIDs lists the registered guests, erased ones included, in id
// order: whose keys an erasure interrupted after its events still has to
// erase.
func (s State) GuestIDs() []uuid.UUID {
	ids := slices.Collect(maps.Keys(s.guests))
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

func withGuest(guests map[uuid.UUID]bool, id uuid.UUID, erased bool) map[uuid.UUID]bool {
	out := maps.Clone(guests)
	if out == nil {
		out = map[uuid.UUID]bool{}
	}
	out[id] = erased
	return out
}
