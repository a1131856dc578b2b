package booking

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// BookingCreated: an area of a property was booked for a guest (a user of
// the account) from StartDateTime until EndDateTime. AreaUserGroupID is the
// area's own group, which check-in makes the guest a member of.
type BookingCreated struct {
	BookingID       uuid.UUID `json:"bookingId"`
	AccountID       uuid.UUID `json:"accountId"`
	PropertyID      uuid.UUID `json:"propertyId"`
	AreaID          uuid.UUID `json:"areaId"`
	AreaUserGroupID uuid.UUID `json:"areaUserGroupId"`
	// GuestUserID is the guest when a user of the account; GuestID the
	// guest registered with the booking (GuestRegistered follows) when
	// given by name. Exactly one is set.
	GuestUserID   uuid.UUID `json:"guestUserId,omitzero"`
	GuestID       uuid.UUID `json:"guestId,omitzero"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
	Source        Source    `json:"source"`
	// ExternalRefs link the booking to its records in other systems (a
	// channel manager's reservation, say); absent from older events.
	ExternalRefs []domain.ExternalRef `json:"externalRefs,omitempty"`
}

// BookingRescheduled: the booking's dates or area changed.
type BookingRescheduled struct {
	BookingID       uuid.UUID `json:"bookingId"`
	AccountID       uuid.UUID `json:"accountId"`
	PropertyID      uuid.UUID `json:"propertyId"`
	AreaID          uuid.UUID `json:"areaId"`
	AreaUserGroupID uuid.UUID `json:"areaUserGroupId"`
	StartDateTime   time.Time `json:"startDateTime"`
	EndDateTime     time.Time `json:"endDateTime"`
}

// BookingCheckedIn: the guest arrived (At), by Method; UserID is who
// checked in (the guest user unless said otherwise; none for a guest
// given by name).
type BookingCheckedIn struct {
	BookingID  uuid.UUID   `json:"bookingId"`
	AccountID  uuid.UUID   `json:"accountId"`
	PropertyID uuid.UUID   `json:"propertyId"`
	Method     CheckMethod `json:"method"`
	UserID     uuid.UUID   `json:"userId,omitzero"`
	At         time.Time   `json:"at"`
}

// BookingCheckedOut: the guest left before or at the end (by Method), or
// the stay was ended for a Reason with no one checking out (the guest
// user was deleted: no Method). Events recorded before Reason existed
// have a Method and no Reason.
type BookingCheckedOut struct {
	BookingID  uuid.UUID      `json:"bookingId"`
	AccountID  uuid.UUID      `json:"accountId"`
	PropertyID uuid.UUID      `json:"propertyId"`
	Method     CheckMethod    `json:"method,omitempty"`
	Reason     CheckOutReason `json:"reason,omitempty"`
	At         time.Time      `json:"at"`
}

// BookingCancelled: the booking was called off before check-in.
type BookingCancelled struct {
	BookingID  uuid.UUID    `json:"bookingId"`
	AccountID  uuid.UUID    `json:"accountId"`
	PropertyID uuid.UUID    `json:"propertyId"`
	Reason     CancelReason `json:"reason"`
	At         time.Time    `json:"at"`
}

// BookingNoCheckInRecorded: nobody checked in by start plus the grace period.
type BookingNoCheckInRecorded struct {
	BookingID  uuid.UUID `json:"bookingId"`
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
	At         time.Time `json:"at"`
}

// BookingCompleted: a checked-in booking reached its end without check-out.
type BookingCompleted struct {
	BookingID  uuid.UUID `json:"bookingId"`
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
	At         time.Time `json:"at"`
}

// EventType names the event in the log.
func (BookingCreated) EventType() string { return "BookingCreated" }

// EventType names the event in the log.
func (BookingRescheduled) EventType() string { return "BookingRescheduled" }

// EventType names the event in the log.
func (BookingCheckedIn) EventType() string { return "BookingCheckedIn" }

// EventType names the event in the log.
func (BookingCheckedOut) EventType() string { return "BookingCheckedOut" }

// EventType names the event in the log.
func (BookingCancelled) EventType() string { return "BookingCancelled" }

// EventType names the event in the log.
func (BookingNoCheckInRecorded) EventType() string { return "BookingNoCheckInRecorded" }

// EventType names the event in the log.
func (BookingCompleted) EventType() string { return "BookingCompleted" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event {
	return []domain.Event{BookingCreated{}, BookingRescheduled{}, BookingCheckedIn{}, BookingCheckedOut{},
		BookingCancelled{}, BookingNoCheckInRecorded{}, BookingCompleted{}, AccessCodeCreated{}, AccessCodeRevoked{}, GuestRegistered{},
		BookingSlotHeld{}, BookingSlotReleased{}, GuestErased{}}
}
