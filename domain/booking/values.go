package booking

import (
	"time"

	"github.com/google/uuid"
)

// Status is where a booking is in its lifecycle.
type Status string

// The statuses of a booking.
const (
	StatusBooked     Status = "booked"
	StatusCheckedIn  Status = "checkedIn"
	StatusCheckedOut Status = "checkedOut"
	StatusCancelled  Status = "cancelled"
	StatusNoCheckIn  Status = "noCheckIn"
	StatusCompleted  Status = "completed"
)

// Source is where a booking was made (the Kadence reference's values).
type Source string

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	switch s {
	case "web", "ios", "android", "calendar", "publicApi", "slack", "msTeams", "unknown":
		return true
	}
	return false
}

// CheckMethod is how a guest checked in or out.
type CheckMethod string

// MethodDoorAccess is a check-in by a granted door opening.
const MethodDoorAccess CheckMethod = "doorAccess"

// Valid reports whether m is a known method.
func (m CheckMethod) Valid() bool {
	switch m {
	case MethodDoorAccess, "wifi", "geofence", "sensor", "manual":
		return true
	}
	return false
}

// CancelReason is why a booking was cancelled (the Kadence reference's values).
type CancelReason string

// ReasonUserDeleted: the booking's guest user was deleted.
const ReasonUserDeleted CancelReason = "userDeleted"

// CheckOutReason is why a stay was ended with no one checking out: only
// CheckOutUserDeleted; a check-out by a guest has a method and no reason.
type CheckOutReason string

// CheckOutUserDeleted: the stay's guest user was deleted, which ends it.
const CheckOutUserDeleted CheckOutReason = "userDeleted"

// Valid reports whether r is a known reason.
func (r CancelReason) Valid() bool {
	switch r {
	case "byUser", "byUserInBulk", "autoSpaceRelease", "permanentDesk", "changeInBuildingPolicy",
		"changeInCompanyPolicy", "removedFromCalendarByProvider", "removedFromCalendarByKadence",
		"calendarSyncError", "spaceNoLongerAvailable", "spaceRestricted", "spaceNotRestrictedAnymore",
		ReasonUserDeleted, "buildingClosure":
		return true
	}
	return false
}

// Settings are a property's booking rules (the property's
// bookingSettings, turned into durations by the command handlers).
type Settings struct {
	// CheckInOpensBefore is how long before start check-in is allowed.
	CheckInOpensBefore time.Duration
	// GracePeriod is how long after start a booking waits for check-in
	// before it becomes noCheckIn.
	GracePeriod time.Duration
	// RequireGuestRegistration refuses check-in until a guest is registered.
	RequireGuestRegistration bool
}

// DefaultSettings: check-in opens one hour before start; two hours of
// grace; no guest registration required.
var DefaultSettings = Settings{CheckInOpensBefore: time.Hour, GracePeriod: 2 * time.Hour}

// Due is a booking whose scheduled transition is due: a booked one (door
// check-in or noCheckIn) or a checked-in one (completion), as the
// scheduler finds it.
type Due struct {
	BookingID, AccountID, PropertyID uuid.UUID
	Status                           Status
	// DoorCheckIn: a booked booking whose door was opened in its check-in
	// window, due for check-in by doorAccess.
	DoorCheckIn bool
	// DoorAccessAt is when that door was first opened (DoorCheckIn only):
	// the check-in is judged at that instant.
	DoorAccessAt time.Time
}

// Stay is a booking whose guest's membership of the booked area's group
// may need repair: a checked-in one (the guest should be a member) or one
// checked out before its end (the guest should no longer be), as the
// scheduler's reconciliation finds them.
type Stay struct {
	BookingID, AccountID, PropertyID uuid.UUID
}
