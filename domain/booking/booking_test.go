package booking

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

var (
	bookingID = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	areaID    = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	groupID   = uuid.MustParse("00000000-0000-0000-0000-0000000000e1")
	guestID   = uuid.MustParse("00000000-0000-0000-0000-0000000000f1")
	start     = time.Date(2024, 3, 2, 15, 0, 0, 0, time.UTC)
	end       = time.Date(2024, 3, 5, 11, 0, 0, 0, time.UTC)
	set       = DefaultSettings
)

type decider interface {
	Decide(State, time.Time) ([]domain.Event, error)
}

var (
	created = BookingCreated{BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		AreaUserGroupID: groupID, GuestUserID: guestID, StartDateTime: start, EndDateTime: end, Source: "web"}
	checkedIn  = BookingCheckedIn{BookingID: bookingID, AccountID: accountID, PropertyID: propID, Method: "manual", UserID: guestID, At: start}
	checkedOut = BookingCheckedOut{BookingID: bookingID, AccountID: accountID, PropertyID: propID, Method: "manual", At: start.Add(time.Hour)}
	cancelled  = BookingCancelled{BookingID: bookingID, AccountID: accountID, PropertyID: propID, Reason: "byUser", At: start}
	noCheckIn  = BookingNoCheckInRecorded{BookingID: bookingID, AccountID: accountID, PropertyID: propID, At: start.Add(2 * time.Hour)}
	completed  = BookingCompleted{BookingID: bookingID, AccountID: accountID, PropertyID: propID, At: end}
)

func fold(events ...domain.Event) State {
	var s State
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

// statuses is one history per status, to run every command from each.
var statuses = map[Status][]domain.Event{
	StatusBooked:     {created},
	StatusCheckedIn:  {created, checkedIn},
	StatusCheckedOut: {created, checkedIn, checkedOut},
	StatusCancelled:  {created, cancelled},
	StatusNoCheckIn:  {created, noCheckIn},
	StatusCompleted:  {created, checkedIn, completed},
}

// A checked-in booking's start may move earlier, or later while it stays
// in the past, but not later into the future: the guest is in, and their
// codes would stop working until then.
func TestCheckedInStartCannotMoveIntoTheFuture(t *testing.T) {
	t.Parallel()
	s := fold(created, checkedIn)
	now := start.Add(2 * time.Hour)
	resched := func(from time.Time) error {
		_, err := Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: from, EndDateTime: end}.Decide(s, now)
		return err
	}
	if err := resched(start.Add(-time.Hour)); err != nil {
		t.Fatalf("earlier start: %v", err)
	}
	if err := resched(start.Add(time.Hour)); err != nil {
		t.Fatalf("later start still past: %v", err)
	}
	err := resched(now.Add(time.Hour))
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("later start in the future: %v, want a conflict", err)
	}
	// Checked in early (check-in opens before start): the start is still
	// to come, and may not move later.
	if _, err := (Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: start.Add(30 * time.Minute), EndDateTime: end}).Decide(s, start.Add(-30*time.Minute)); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("early check-in, later start: %v, want a conflict", err)
	}
	if _, err := (Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: start, EndDateTime: end.Add(time.Hour)}).Decide(s, start.Add(-30*time.Minute)); err != nil {
		t.Fatalf("early check-in, later end: %v", err)
	}
}

// TestLifecycle runs every lifecycle command from every status, at an
// instant when the command's time rule allows it: the allowed transitions
// give their event and status, every other one ErrTransition naming the
// current status.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	commands := []struct {
		name string
		cmd  decider
		now  time.Time
		from Status
		to   Status
	}{
		{"check-in", CheckIn{Method: "manual", Settings: set}, start, StatusBooked, StatusCheckedIn},
		{"check-out", CheckOut{Method: "manual"}, start.Add(time.Hour), StatusCheckedIn, StatusCheckedOut},
		{"cancel", Cancel{Reason: "byUser"}, start, StatusBooked, StatusCancelled},
		{"noCheckIn", RecordNoCheckIn{Settings: set}, start.Add(2 * time.Hour), StatusBooked, StatusNoCheckIn},
		{"complete", Complete{}, end, StatusCheckedIn, StatusCompleted},
	}
	for _, c := range commands {
		for status, history := range statuses {
			t.Run(c.name+" from "+string(status), func(t *testing.T) {
				t.Parallel()
				s := fold(history...)
				events, err := c.cmd.Decide(s, c.now)
				if status != c.from {
					if !errors.Is(err, ErrTransition) || !errors.Is(err, domain.ErrConflict) {
						t.Fatalf("err = %v, want ErrTransition", err)
					}
					var de *domain.Error
					if !errors.As(err, &de) || !contains(de.Message, string(status)) {
						t.Fatalf("error %q does not name the status %s", err, status)
					}
					return
				}
				if err != nil || len(events) == 0 {
					t.Fatalf("events, err = %v, %v", events, err)
				}
				if got := Evolve(s, events[0]).Status(); got != c.to {
					t.Fatalf("status = %s, want %s", got, c.to)
				}
			})
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestTimeRules checks the clock-driven limits of the transitions.
func TestTimeRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		history []domain.Event
		cmd     decider
		now     time.Time
		want    error
	}{
		{"check-in two hours early", statuses[StatusBooked], CheckIn{Method: "manual", Settings: set}, start.Add(-2 * time.Hour), ErrCheckInClosed},
		{"check-in just before opening", statuses[StatusBooked], CheckIn{Method: "manual", Settings: set}, start.Add(-time.Hour - time.Second), ErrCheckInClosed},
		{"check-in at opening", statuses[StatusBooked], CheckIn{Method: "manual", Settings: set}, start.Add(-time.Hour), nil},
		{"check-in within grace", statuses[StatusBooked], CheckIn{Method: "wifi", Settings: set}, start.Add(2*time.Hour - time.Second), nil},
		{"check-in after grace, before end", statuses[StatusBooked], CheckIn{Method: "wifi", Settings: set}, start.Add(5 * time.Hour), ErrGracePassed},
		{"check-in at end", statuses[StatusBooked], CheckIn{Method: "manual", Settings: set}, end, ErrCheckInClosed},
		{"check-in bad method", statuses[StatusBooked], CheckIn{Method: "teleport", Settings: set}, start, domain.ErrInvalid},
		{"noCheckIn before grace", statuses[StatusBooked], RecordNoCheckIn{Settings: set}, start.Add(2*time.Hour - time.Second), ErrNotDue},
		{"noCheckIn at grace", statuses[StatusBooked], RecordNoCheckIn{Settings: set}, start.Add(2 * time.Hour), nil},
		{"complete before end", statuses[StatusCheckedIn], Complete{}, end.Add(-time.Second), ErrNotDue},
		{"complete after end", statuses[StatusCheckedIn], Complete{}, end.Add(time.Hour), nil},
		{"cancel bad reason", statuses[StatusBooked], Cancel{Reason: "bored"}, start, domain.ErrInvalid},
		{"check-out bad method", statuses[StatusCheckedIn], CheckOut{Method: ""}, start, domain.ErrInvalid},
		{"check-in unknown booking", nil, CheckIn{Method: "manual", Settings: set}, start, ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.cmd.Decide(fold(c.history...), c.now)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	base := Create{BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		AreaUserGroupID: groupID, GuestUserID: guestID, StartDateTime: start, EndDateTime: end, Source: "web"}
	events, err := base.Decide(State{}, start.Add(time.Hour)) // a start in the past is allowed
	if err != nil || !reflect.DeepEqual(events, []domain.Event{created}) {
		t.Fatalf("events, err = %v, %v", events, err)
	}
	if _, err := base.Decide(fold(created), start); !errors.Is(err, ErrExists) {
		t.Fatalf("again: err = %v", err)
	}
	for name, mod := range map[string]func(*Create){
		"end before start": func(c *Create) { c.EndDateTime = start.Add(-time.Hour) },
		"end at start":     func(c *Create) { c.EndDateTime = start },
		"bad source":       func(c *Create) { c.Source = "fax" },
		"no guest":         func(c *Create) { c.GuestUserID = uuid.Nil },
	} {
		c := base
		mod(&c)
		if _, err := c.Decide(State{}, start); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
	// time.Time's zero is an instant, 0001-01-01T00:00:00Z: a start in
	// the past (that one was given is the decoder's to check).
	c := base
	c.StartDateTime = time.Time{}
	if events, err := c.Decide(State{}, start); err != nil || !events[0].(BookingCreated).StartDateTime.Equal(time.Time{}) {
		t.Errorf("a start at the zero instant: events, err = %v, %v", events, err)
	}
	c = base
	c.Source = ""
	events, _ = c.Decide(State{}, start)
	if events[0].(BookingCreated).Source != "unknown" {
		t.Errorf("default source = %v", events[0])
	}
}

func TestReschedule(t *testing.T) {
	t.Parallel()
	later := Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: start, EndDateTime: end.Add(24 * time.Hour)}
	events, err := later.Decide(fold(created), start)
	if err != nil || len(events) == 0 {
		t.Fatalf("booked: %v, %v", events, err)
	}
	if s := Evolve(fold(created), events[0]); !s.End().Equal(end.Add(24 * time.Hour)) {
		t.Fatalf("end = %v", s.End())
	}
	if events, err := (Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: start, EndDateTime: end}).Decide(fold(created), start); err != nil || events != nil {
		t.Fatalf("same dates: %v, %v", events, err)
	}
	if _, err := later.Decide(fold(created, checkedIn), start); err != nil {
		t.Fatalf("checkedIn: %v", err)
	}
	other := uuid.MustParse("00000000-0000-0000-0000-0000000000d2")
	if _, err := (Reschedule{AreaID: other, AreaUserGroupID: groupID, StartDateTime: start, EndDateTime: end}).Decide(fold(created, checkedIn), start); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("checkedIn, other area: %v", err)
	}
	if _, err := (Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: start, EndDateTime: start.Add(time.Hour)}).Decide(fold(created, checkedIn), start.Add(2*time.Hour)); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("checkedIn, end in the past: %v", err)
	}
	for _, st := range []Status{StatusCheckedOut, StatusCancelled, StatusNoCheckIn, StatusCompleted} {
		if _, err := later.Decide(fold(statuses[st]...), start); !errors.Is(err, ErrTransition) {
			t.Errorf("%s: err = %v", st, err)
		}
	}
	if _, err := (Reschedule{AreaID: areaID, StartDateTime: end, EndDateTime: start}).Decide(fold(created), start); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("end before start: %v", err)
	}
}

// A date that is past year 9999 in UTC (or before year 1), which no event
// can carry, is a 400 naming the field, on create and on reschedule, and
// whatever offset it was written with.
func TestDatesOutsideYears1To9999AreInvalid(t *testing.T) {
	t.Parallel()
	est := time.FixedZone("EST", -5*3600)
	pastEnd := time.Date(9999, 12, 31, 23, 0, 0, 0, est) // 10000-01-01T04:00Z
	lastOK := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	beforeStart := time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)) // year 0 in UTC
	base := Create{BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		AreaUserGroupID: groupID, GuestUserID: guestID, StartDateTime: start, EndDateTime: end, Source: "web"}
	for _, c := range []struct {
		name       string
		start, end time.Time
		field      string
	}{
		{"end past 9999 in UTC", start, pastEnd, "endDateTime"},
		{"both past 9999 in UTC", pastEnd, pastEnd.Add(time.Hour), "startDateTime"},
		{"start before year 1 in UTC", beforeStart, end, "startDateTime"},
	} {
		create := base
		create.StartDateTime, create.EndDateTime = c.start, c.end
		_, err := create.Decide(State{}, start)
		requireInvalidField(t, "create, "+c.name, err, c.field)
		_, err = Reschedule{AreaID: areaID, AreaUserGroupID: groupID, StartDateTime: c.start, EndDateTime: c.end}.Decide(fold(created), start)
		requireInvalidField(t, "reschedule, "+c.name, err, c.field)
	}
	create := base
	create.EndDateTime = lastOK
	if _, err := create.Decide(State{}, start); err != nil {
		t.Fatalf("end on the last second of 9999: %v", err)
	}
}

func requireInvalidField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || !errors.Is(err, domain.ErrInvalid) || de.Field != field {
		t.Errorf("%s: err = %v, want a 400 naming %s", what, err, field)
	}
}
