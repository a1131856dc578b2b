package booking

import (
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// GuestErased: a registered guest asked to be forgotten. The event says
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

func withGuest(guests map[uuid.UUID]bool, id uuid.UUID, erased bool) map[uuid.UUID]bool {
	out := maps.Clone(guests)
	if out == nil {
		out = map[uuid.UUID]bool{}
	}
	out[id] = erased
	return out
}
