// Package booking is the booking aggregate: a guest's stay in an area of a
// property, from start to end, and its lifecycle: booked, then checkedIn
// and checkedOut, or cancelled; noCheckIn when nobody came by start plus a
// grace period; completed when a checked-in stay reached its end.
package booking

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Category names the aggregate's streams: `booking-<id>`.
const Category = "booking"

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "booking not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "booking already exists")
	// ErrTransition: the booking's status forbids the change. Errors
	// returned for it wrap it and name the current status.
	ErrTransition = domain.NewError(domain.ErrConflict, "the booking's status forbids this change")
	// ErrCheckInClosed: check-in is outside its window (from start minus
	// the opening time until start plus the grace period, and never at or
	// after end).
	ErrCheckInClosed = domain.NewError(domain.ErrConflict, "check-in is not open at this time")
	// ErrGracePassed: check-in asked for once start plus the grace period
	// has passed: the booking is due noCheckIn, whether or not the
	// scheduler has recorded it yet. It matches ErrCheckInClosed (and so
	// ErrConflict) with errors.Is.
	ErrGracePassed = &domain.Error{Kind: ErrCheckInClosed, Message: "the check-in grace period has passed; the booking is due noCheckIn"}
	// ErrEnded: a booked booking whose end would already be past, when it
	// is created or rescheduled. It matches ErrUnprocessable; errors
	// returned for it name endDateTime.
	ErrEnded = domain.NewError(domain.ErrUnprocessable, "must be in the future: the booking would have ended already")
	// ErrInvalidSource: a source that is none of Source.Valid's.
	ErrInvalidSource = domain.InvalidField("source", "must be one of web, ios, android, calendar, publicApi, slack, msTeams, unknown")
	// ErrNotDue: a time-driven transition asked for before its time.
	ErrNotDue = domain.NewError(domain.ErrConflict, "the transition is not due yet")
)

// State is a booking as its events left it.
type State struct {
	id, accountID, propertyID, areaID, groupID, guestID uuid.UUID
	start, end                                          time.Time
	status                                              Status
	created                                             bool
	// codes are the booking's access codes: true while active.
	codes map[uuid.UUID]bool
	// codeHashes are the codes' salted hashes, to refuse a code twice.
	codeHashes map[uuid.UUID]codeHash
	// guests are the registered guests: true once erased.
	guests map[uuid.UUID]bool
	// guestUserDeleted: the booking was ended because its guest user was
	// deleted (cancelled or checked out for userDeleted).
	guestUserDeleted bool
	// noCheckInCodes are the codes noCheckIn revoked: a door check-in
	// judged in time after it gives them back.
	noCheckInCodes []uuid.UUID
}

// Exists reports whether the booking was created.
func (s State) Exists() bool { return s.created }

// ID is the booking's id.
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account the booking belongs to.
func (s State) AccountID() uuid.UUID { return s.accountID }

// PropertyID is the booked property.
func (s State) PropertyID() uuid.UUID { return s.propertyID }

// AreaID is the booked area.
func (s State) AreaID() uuid.UUID { return s.areaID }

// AreaUserGroupID is the booked area's own group.
func (s State) AreaUserGroupID() uuid.UUID { return s.groupID }

// GuestUserID is the guest.
func (s State) GuestUserID() uuid.UUID { return s.guestID }

// Start is when the stay begins.
func (s State) Start() time.Time { return s.start }

// End is when the stay ends.
func (s State) End() time.Time { return s.end }

// Status is the booking's status.
func (s State) Status() Status { return s.status }

// transition returns ErrTransition naming the current status.
func (s State) transition(action string) error {
	return &domain.Error{Kind: ErrTransition, Message: "the booking is " + string(s.status) + "; it cannot be " + action}
}

// Create books an area for a guest: a user of the account (GuestUserID),
// or a person given by name, registered with the booking (Guest).
type Create struct {
	BookingID, AccountID, PropertyID, AreaID, AreaUserGroupID, GuestUserID uuid.UUID
	Guest                                                                  *RegisterGuest
	StartDateTime, EndDateTime                                             time.Time
	Source                                                                 Source
	ExternalRefs                                                           []domain.ExternalRef
}

// Decide checks the booking and records BookingCreated. A start in the
// past is allowed (walk-ins); an end at or before now is not (ErrEnded):
// a stay already over would be recorded booked, and the scheduler would
// at once mark it noCheckIn.
func (c Create) Decide(s State, now time.Time) ([]domain.Event, error) {
	if s.created {
		return nil, ErrExists
	}
	for _, id := range []struct {
		field string
		id    uuid.UUID
	}{{"bookingId", c.BookingID}, {"accountId", c.AccountID}, {"propertyId", c.PropertyID},
		{"areaId", c.AreaID}, {"areaUserGroupId", c.AreaUserGroupID}} {
		if err := domain.RequireID(id.field, id.id); err != nil {
			return nil, err
		}
	}
	if (c.GuestUserID == uuid.Nil) == (c.Guest == nil) {
		return nil, domain.InvalidField("guest", "give either userId or the guest's details")
	}
	if err := validDates(c.StartDateTime, c.EndDateTime); err != nil {
		return nil, err
	}
	if err := requireFutureEnd(c.EndDateTime, now); err != nil {
		return nil, err
	}
	src := c.Source
	if src == "" {
		src = "unknown"
	}
	if !src.Valid() {
		return nil, ErrInvalidSource
	}
	if err := domain.ValidateExternalRefs("externalRefs", c.ExternalRefs); err != nil {
		return nil, err
	}
	created := BookingCreated{
		BookingID: c.BookingID, AccountID: c.AccountID, PropertyID: c.PropertyID, AreaID: c.AreaID,
		AreaUserGroupID: c.AreaUserGroupID, GuestUserID: c.GuestUserID,
		StartDateTime: c.StartDateTime.UTC(), EndDateTime: c.EndDateTime.UTC(), Source: src,
		ExternalRefs: domain.CloneExternalRefs(c.ExternalRefs),
	}
	if c.Guest == nil {
		return []domain.Event{created}, nil
	}
	created.GuestID = c.Guest.GuestID
	guest, err := c.Guest.Decide(Evolve(s, created), now)
	if err != nil {
		return nil, err
	}
	return append([]domain.Event{created}, guest...), nil
}

// requireFutureEnd refuses a booked booking's end at or before now
// (ErrEnded): the stay would be over before anyone could check in, and
// the scheduler would at once mark it noCheckIn.
func requireFutureEnd(end, now time.Time) error {
	if !end.After(now) {
		return ErrEnded.At("endDateTime")
	}
	return nil
}

// validDates checks a booking's dates. That they were given is the
// caller's to check (the API's decoder: absent, null or empty): time.Time's
// zero is an instant, 0001-01-01T00:00:00Z, a start in the past as any
// other of the years 1 to 9999.
func validDates(start, end time.Time) error {
	// Past year 9999 in UTC (9999-12-31T23:00:00-05:00) no event can carry
	// it: the append would fail, a 500 for bad input.
	if err := domain.ValidateInstant("startDateTime", start); err != nil {
		return err
	}
	if err := domain.ValidateInstant("endDateTime", end); err != nil {
		return err
	}
	if !start.Before(end) {
		return domain.InvalidField("endDateTime", "must be after startDateTime")
	}
	return nil
}

// Reschedule changes the dates or the area of a booked or checked-in
// booking. A checked-in booking keeps its area (the guest is in it).
type Reschedule struct {
	AreaID, AreaUserGroupID    uuid.UUID
	StartDateTime, EndDateTime time.Time
}

// Decide records BookingRescheduled, or nothing when nothing changes. A
// booked booking's end must stay in the future, as on Create (ErrEnded).
func (c Reschedule) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if s.status != StatusBooked && s.status != StatusCheckedIn {
		return nil, s.transition("changed")
	}
	if err := validDates(c.StartDateTime, c.EndDateTime); err != nil {
		return nil, err
	}
	if s.status == StatusBooked {
		if err := requireFutureEnd(c.EndDateTime, now); err != nil {
			return nil, err
		}
	}
	if s.status == StatusCheckedIn {
		if c.AreaID != s.areaID {
			return nil, domain.NewError(domain.ErrConflict, "the booking is checkedIn; its area cannot change").At("areaId")
		}
		if !c.EndDateTime.After(now) {
			return nil, domain.NewError(domain.ErrConflict, "the booking is checkedIn; its end cannot move into the past").At("endDateTime")
		}
		// The guest is in: a later start still to come would shut their
		// codes out until then.
		if c.StartDateTime.After(s.start) && c.StartDateTime.After(now) {
			return nil, domain.NewError(domain.ErrConflict, "the booking is checkedIn; its start cannot move later, into the future").At("startDateTime")
		}
	}
	if c.AreaID == s.areaID && c.StartDateTime.Equal(s.start) && c.EndDateTime.Equal(s.end) {
		return nil, nil
	}
	return []domain.Event{BookingRescheduled{
		BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, AreaID: c.AreaID,
		AreaUserGroupID: c.AreaUserGroupID, StartDateTime: c.StartDateTime.UTC(), EndDateTime: c.EndDateTime.UTC(),
	}}, nil
}

// CheckIn checks a booked booking in, from start minus
// Settings.CheckInOpensBefore until start plus Settings.GracePeriod (when
// the booking becomes due noCheckIn), and never at or after end. A
// noCheckIn booking is checked in too when the arrival is known
// (ArrivedAt) and was in time: the guest opened the door within the grace
// period, but the lock's log came after the scheduler's noCheckIn.
type CheckIn struct {
	Method   CheckMethod
	UserID   uuid.UUID
	Settings Settings
	// ArrivedAt, when set, is when the guest arrived, known to be earlier
	// than the decision (a door opening the scheduler acts on later): the
	// window and the grace period are judged at that instant, so a guest
	// who opened the door in time is not turned into a no-show by the
	// scheduler's pace or a lock's late upload.
	ArrivedAt *time.Time
	// GuestUserDeleted: the booking's guest user is deleted (their
	// deletion has not ended the booking yet): nobody is left to admit,
	// so check-in is refused (ErrGuestUserDeleted).
	GuestUserDeleted bool
}

// Decide records BookingCheckedIn.
func (c CheckIn) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if !c.Method.Valid() {
		return nil, domain.InvalidField("method", "must be one of doorAccess, wifi, geofence, sensor, manual")
	}
	// Only a known arrival can undo noCheckIn: a check-in asked for now is
	// after the grace period by noCheckIn's own rule.
	if s.status != StatusBooked && (s.status != StatusNoCheckIn || c.ArrivedAt == nil) {
		return nil, s.transition("checked in")
	}
	if c.GuestUserDeleted && s.guestID != uuid.Nil {
		return nil, ErrGuestUserDeleted
	}
	at := now
	if c.ArrivedAt != nil && c.ArrivedAt.Before(now) {
		at = *c.ArrivedAt
	}
	if at.Before(s.start.Add(-c.Settings.CheckInOpensBefore)) || !at.Before(s.end) || !now.Before(s.end) {
		return nil, ErrCheckInClosed
	}
	// The grace period is the decision's rule, not the scheduler's: from
	// the instant noCheckIn is due, check-in is refused, however late the
	// scheduler records it.
	if !at.Before(s.NoCheckInDue(c.Settings)) {
		return nil, ErrGracePassed
	}
	if c.Settings.RequireGuestRegistration && len(s.guests) == 0 {
		return nil, ErrGuestRegistrationRequired
	}
	userID := c.UserID
	if userID == uuid.Nil {
		userID = s.guestID
	}
	// A known arrival (the door's first opening) is when the guest checked
	// in, whenever the scheduler or the lock's upload got to it.
	checkedInAt := at
	out := []domain.Event{BookingCheckedIn{
		BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, Method: c.Method, UserID: userID, At: checkedInAt.UTC(),
	}}
	// Undoing noCheckIn gives back the codes it revoked, as they were.
	for _, id := range s.noCheckInCodes {
		h := s.codeHashes[id]
		out = append(out, AccessCodeCreated{
			AccessCodeID: id, BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, AreaID: s.areaID,
			CodeHash: h.hash, Salt: h.salt, ValidFrom: s.start, ValidUntil: s.end,
		})
	}
	return out, nil
}

// CheckOut checks a checked-in booking out.
type CheckOut struct {
	Method CheckMethod
}

// Decide records BookingCheckedOut.
func (c CheckOut) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if !c.Method.Valid() {
		return nil, domain.InvalidField("method", "must be one of doorAccess, wifi, geofence, sensor, manual")
	}
	if s.status != StatusCheckedIn {
		return nil, s.transition("checked out")
	}
	return s.revokeAll(BookingCheckedOut{
		BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, Method: c.Method, At: now.UTC(),
	}), nil
}

// Cancel calls off a booked booking.
type Cancel struct {
	Reason CancelReason
}

// Decide records BookingCancelled.
func (c Cancel) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if !c.Reason.Valid() {
		return nil, domain.InvalidField("reason", "is not a known cancellation reason")
	}
	if s.status != StatusBooked {
		return nil, s.transition("cancelled")
	}
	return s.revokeAll(BookingCancelled{
		BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, Reason: c.Reason, At: now.UTC(),
	}), nil
}

// RecordNoCheckIn marks a booked booking noCheckIn once start plus the
// grace period has passed.
type RecordNoCheckIn struct {
	Settings Settings
}

// Decide records BookingNoCheckInRecorded.
func (c RecordNoCheckIn) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if s.status != StatusBooked {
		return nil, s.transition("marked noCheckIn")
	}
	if now.Before(s.NoCheckInDue(c.Settings)) {
		return nil, ErrNotDue
	}
	return s.revokeAll(BookingNoCheckInRecorded{
		BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, At: now.UTC(),
	}), nil
}

// NoCheckInDue is when a booked booking becomes noCheckIn.
func (s State) NoCheckInDue(set Settings) time.Time { return s.start.Add(set.GracePeriod) }

// Complete ends a checked-in booking at its end.
type Complete struct{}

// Decide records BookingCompleted.
func (Complete) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.created {
		return nil, ErrNotFound
	}
	if s.status != StatusCheckedIn {
		return nil, s.transition("completed")
	}
	if now.Before(s.end) {
		return nil, ErrNotDue
	}
	return s.revokeAll(BookingCompleted{
		BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, At: now.UTC(),
	}), nil
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case BookingCreated:
		s = State{
			id: e.BookingID, accountID: e.AccountID, propertyID: e.PropertyID, areaID: e.AreaID,
			groupID: e.AreaUserGroupID, guestID: e.GuestUserID, start: e.StartDateTime, end: e.EndDateTime,
			status: StatusBooked, created: true,
		}
	case BookingRescheduled:
		s.areaID, s.groupID, s.start, s.end = e.AreaID, e.AreaUserGroupID, e.StartDateTime, e.EndDateTime
	case BookingCheckedIn:
		s.status, s.noCheckInCodes = StatusCheckedIn, nil
	case BookingCheckedOut:
		s.status = StatusCheckedOut
		s.guestUserDeleted = e.Reason == CheckOutUserDeleted
	case BookingCancelled:
		s.status = StatusCancelled
		s.guestUserDeleted = e.Reason == ReasonUserDeleted
	case BookingNoCheckInRecorded:
		s.status = StatusNoCheckIn
	case BookingCompleted:
		s.status = StatusCompleted
	case AccessCodeCreated:
		s.codes = withCode(s.codes, e.AccessCodeID, true)
		s.codeHashes = withHash(s.codeHashes, e.AccessCodeID, codeHash{hash: e.CodeHash, salt: e.Salt})
	case AccessCodeRevoked:
		s.codes = withCode(s.codes, e.AccessCodeID, false)
		if s.status == StatusNoCheckIn {
			s.noCheckInCodes = append(slices.Clip(s.noCheckInCodes), e.AccessCodeID)
		}
	case GuestRegistered:
		s.guests = withGuest(s.guests, e.GuestID, false)
	case GuestErased:
		s.guests = withGuest(s.guests, e.GuestID, true)
	}
	return s
}

func withCode(codes map[uuid.UUID]bool, id uuid.UUID, active bool) map[uuid.UUID]bool {
	out := make(map[uuid.UUID]bool, len(codes)+1)
	for k, v := range codes {
		out[k] = v
	}
	out[id] = active
	return out
}
