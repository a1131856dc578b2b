package booking

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/domaintest"
)

// A booking whose end has already passed when it is created is refused
// (422 naming endDateTime); a start in the past is not (walk-ins).
func TestCreateRefusesAWhollyPastBooking(t *testing.T) {
	t.Parallel()
	base := Create{BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		AreaUserGroupID: groupID, GuestUserID: guestID, StartDateTime: start, EndDateTime: end, Source: "web"}
	at := func(now time.Time, cases ...domaintest.Case[State]) { domaintest.Run(t, Evolve, now, cases) }
	at(end.Add(time.Hour), domaintest.Case[State]{Name: "ended an hour ago", When: base, Err: domain.ErrUnprocessable, Field: "endDateTime"})
	at(end, domaintest.Case[State]{Name: "ends now", When: base, Err: ErrEnded, Field: "endDateTime"})
	at(end.Add(-time.Second), domaintest.Case[State]{Name: "walk-in ending in a second", When: base, Then: []domain.Event{created}})
	at(start.Add(-time.Hour), domaintest.Case[State]{Name: "future", When: base, Then: []domain.Event{created}})
	// Malformed dates stay a 400, whatever the clock says.
	bad := base
	bad.EndDateTime = start.Add(-time.Hour)
	at(end.Add(time.Hour), domaintest.Case[State]{Name: "end before start", When: bad, Err: domain.ErrInvalid, Field: "endDateTime"})
}

// PATCH keeps the rule of Create: a booked booking cannot be moved to an
// end at or before now (422 naming endDateTime), else the scheduler would
// at once mark it noCheckIn; a checked-in one keeps its 409.
func TestRescheduleRefusesAnEndInThePastOfABookedBooking(t *testing.T) {
	t.Parallel()
	now := end.Add(24 * time.Hour)
	past := Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: end, EndDateTime: end.Add(time.Hour)}
	atNow := Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: end, EndDateTime: now}
	future := Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: end, EndDateTime: now.Add(time.Second)}
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "booked, wholly past", Given: []domain.Event{created}, When: past, Err: ErrEnded, Field: "endDateTime"},
		{Name: "booked, ends now", Given: []domain.Event{created}, When: atNow, Err: domain.ErrUnprocessable, Field: "endDateTime"},
		{Name: "booked, ends a second from now", Given: []domain.Event{created}, When: future, Then: []domain.Event{BookingRescheduled{
			BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID, AreaUserGroupID: groupID,
			StartDateTime: end, EndDateTime: now.Add(time.Second)}}},
		{Name: "checkedIn, wholly past", Given: []domain.Event{created, checkedIn}, When: past, Err: domain.ErrConflict, Field: "endDateTime"},
	})
}

// Check-in closes when noCheckIn becomes due (start plus the grace
// period), by the decision itself: it does not wait for the scheduler to
// record noCheckIn.
func TestCheckInClosesAtTheGracePeriod(t *testing.T) {
	t.Parallel()
	checkIn := CheckIn{Method: "wifi", Settings: set}
	grace := start.Add(set.GracePeriod)
	in := func(at time.Time) []domain.Event {
		return []domain.Event{BookingCheckedIn{BookingID: bookingID, AccountID: accountID, PropertyID: propID, Method: "wifi", UserID: guestID, At: at}}
	}
	at := func(now time.Time, cases ...domaintest.Case[State]) { domaintest.Run(t, Evolve, now, cases) }
	at(grace.Add(-time.Second), domaintest.Case[State]{Name: "a second before grace ends", Given: []domain.Event{created}, When: checkIn, Then: in(grace.Add(-time.Second))})
	at(grace, domaintest.Case[State]{Name: "at grace end", Given: []domain.Event{created}, When: checkIn, Err: ErrGracePassed})
	at(start.Add(5*time.Hour), domaintest.Case[State]{Name: "after grace, before end", Given: []domain.Event{created}, When: checkIn, Err: ErrCheckInClosed})
	at(start.Add(5*time.Hour), domaintest.Case[State]{Name: "after grace is a conflict", Given: []domain.Event{created}, When: checkIn, Err: domain.ErrConflict})
	// A property with a longer grace period keeps check-in open.
	long := Settings{CheckInOpensBefore: time.Hour, GracePeriod: 6 * time.Hour}
	at(start.Add(5*time.Hour), domaintest.Case[State]{Name: "within a longer grace", Given: []domain.Event{created},
		When: CheckIn{Method: "wifi", Settings: long}, Then: in(start.Add(5 * time.Hour))})
	// No grace: check-in closes at start.
	none := Settings{CheckInOpensBefore: time.Hour}
	at(start, domaintest.Case[State]{Name: "no grace, at start", Given: []domain.Event{created}, When: CheckIn{Method: "wifi", Settings: none}, Err: ErrGracePassed})
	// The refused check-in leaves the way to noCheckIn open at the same instant.
	at(grace, domaintest.Case[State]{Name: "noCheckIn at grace end", Given: []domain.Event{created}, When: RecordNoCheckIn{Settings: set},
		Then: []domain.Event{BookingNoCheckInRecorded{BookingID: bookingID, AccountID: accountID, PropertyID: propID, At: grace}}})
}

// A check-in whose arrival is known (a door opening acted on later) is
// judged at the arrival: in time within the grace period however late the
// decision, refused when the arrival itself came after it. An arrival
// "later" than the decision is ignored.
func TestCheckInJudgedAtTheArrival(t *testing.T) {
	t.Parallel()
	grace := start.Add(set.GracePeriod)
	arrived := func(at time.Time) CheckIn {
		return CheckIn{Method: "doorAccess", Settings: set, ArrivedAt: &at}
	}
	in := func(at time.Time) []domain.Event {
		return []domain.Event{BookingCheckedIn{BookingID: bookingID, AccountID: accountID, PropertyID: propID, Method: "doorAccess", UserID: guestID, At: at}}
	}
	at := func(now time.Time, cases ...domaintest.Case[State]) { domaintest.Run(t, Evolve, now, cases) }
	late := grace.Add(time.Hour)
	at(late, domaintest.Case[State]{Name: "arrived within grace, decided after", Given: []domain.Event{created}, When: arrived(start.Add(time.Hour)), Then: in(start.Add(time.Hour))})
	at(late, domaintest.Case[State]{Name: "arrived after grace", Given: []domain.Event{created}, When: arrived(grace.Add(time.Minute)), Err: ErrGracePassed})
	at(grace.Add(-time.Minute), domaintest.Case[State]{Name: "arrival after the decision is ignored", Given: []domain.Event{created}, When: arrived(late), Then: in(grace.Add(-time.Minute))})
	at(end, domaintest.Case[State]{Name: "never at or after end", Given: []domain.Event{created}, When: arrived(start.Add(time.Hour)), Err: ErrCheckInClosed})
}

// A door opening within the grace period that reaches the booking only
// after the scheduler recorded noCheckIn (a lock uploading late) still
// checks the guest in, as of the arrival, and gives back the codes
// noCheckIn revoked, not one revoked before it. An arrival after the grace period, or a check-in
// with no known arrival, leaves noCheckIn as it is.
func TestDoorArrivalInTimeUndoesNoCheckIn(t *testing.T) {
	t.Parallel()
	grace := start.Add(set.GracePeriod)
	kept := AccessCodeCreated{AccessCodeID: codeID, BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		CodeHash: "ab", Salt: "cd", ValidFrom: start, ValidUntil: end}
	gone := kept
	gone.AccessCodeID, gone.CodeHash, gone.Salt = uuid.MustParse("00000000-0000-0000-0000-00000000c0d2"), "ef", "01"
	revoked := func(c AccessCodeCreated) AccessCodeRevoked {
		return AccessCodeRevoked{AccessCodeID: c.AccessCodeID, BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID}
	}
	ended := BookingNoCheckInRecorded{BookingID: bookingID, AccountID: accountID, PropertyID: propID, At: grace.Add(time.Second)}
	history := []domain.Event{created, kept, gone, revoked(gone), ended, revoked(kept)}
	arrived := func(at time.Time) CheckIn {
		return CheckIn{Method: "doorAccess", Settings: set, ArrivedAt: &at}
	}
	late := grace.Add(time.Minute)
	domaintest.Run(t, Evolve, late, []domaintest.Case[State]{
		{Name: "arrived within grace", Given: history, When: arrived(grace.Add(-time.Second)), Then: []domain.Event{
			BookingCheckedIn{BookingID: bookingID, AccountID: accountID, PropertyID: propID, Method: "doorAccess", UserID: guestID, At: grace.Add(-time.Second)},
			kept}},
		{Name: "arrived at grace end", Given: history, When: arrived(grace), Err: ErrGracePassed},
		{Name: "arrived before check-in opened", Given: history, When: arrived(start.Add(-set.CheckInOpensBefore - time.Second)), Err: ErrCheckInClosed},
		{Name: "no known arrival", Given: history, When: CheckIn{Method: "manual", Settings: set}, Err: ErrTransition},
		{Name: "checked in already", Given: append(append([]domain.Event{}, history...), BookingCheckedIn{BookingID: bookingID, AccountID: accountID,
			PropertyID: propID, Method: "doorAccess", UserID: guestID, At: late}, kept), When: arrived(start), Err: ErrTransition},
	})
	domaintest.Run(t, Evolve, end, []domaintest.Case[State]{
		{Name: "never at or after end", Given: history, When: arrived(start), Err: ErrCheckInClosed},
	})
}
