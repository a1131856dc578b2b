package booking

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// GuestRegistered: a guest of the booking gave their details. Personal is
// the details sealed with a key of the guest's own (GuestID), so erasing
// that key erases the person from every event; nothing personal is kept
// in the clear.
type GuestRegistered struct {
	GuestID    uuid.UUID `json:"guestId"`
	BookingID  uuid.UUID `json:"bookingId"`
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
	Personal   string    `json:"personal"`
	At         time.Time `json:"at"`
}

// EventType names the event in the log.
func (GuestRegistered) EventType() string { return "GuestRegistered" }

// ErrGuestRegistrationRequired: the property wants a registered guest
// before check-in.
var ErrGuestRegistrationRequired = domain.NewError(domain.ErrConflict, "a guest must be registered before check-in")

// RegisterGuest records a guest's sealed details on a booking that is
// booked or checked in.
type RegisterGuest struct {
	GuestID  uuid.UUID
	Personal string
}

// Decide records GuestRegistered.
func (c RegisterGuest) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if s.status != StatusBooked && s.status != StatusCheckedIn {
		return nil, s.transition("given guests")
	}
	if err := domain.RequireID("guestId", c.GuestID); err != nil {
		return nil, err
	}
	if c.Personal == "" {
		return nil, domain.InvalidField("displayName", "is required")
	}
	return []domain.Event{GuestRegistered{
		GuestID: c.GuestID, BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, Personal: c.Personal, At: now.UTC(),
	}}, nil
}

// Guests is how many guests are registered (erased ones included: they
// were registered).
func (s State) Guests() int { return len(s.guests) }
