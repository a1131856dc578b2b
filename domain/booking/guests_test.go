package booking

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

func TestGuestRegistrationGatesCheckIn(t *testing.T) {
	t.Parallel()
	guest := uuid.MustParse("00000000-0000-0000-0000-00000000abcd")
	strict := set
	strict.RequireGuestRegistration = true
	if _, err := (CheckIn{Method: "manual", Settings: strict}).Decide(fold(created), start); !errors.Is(err, ErrGuestRegistrationRequired) {
		t.Fatalf("unregistered: %v", err)
	}
	events, err := RegisterGuest{GuestID: guest, Personal: "sealed"}.Decide(fold(created), start)
	if err != nil || len(events) != 1 {
		t.Fatalf("register: %v, %v", events, err)
	}
	s := fold(append([]domain.Event{created}, events...)...)
	if s.Guests() != 1 {
		t.Fatalf("guests = %d", s.Guests())
	}
	if _, err := (CheckIn{Method: "manual", Settings: strict}).Decide(s, start); err != nil {
		t.Fatalf("registered: %v", err)
	}
	if _, err := (RegisterGuest{GuestID: guest}).Decide(fold(created), start); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("no details: %v", err)
	}
	for _, st := range []Status{StatusCheckedOut, StatusCancelled, StatusNoCheckIn, StatusCompleted} {
		if _, err := (RegisterGuest{GuestID: guest, Personal: "x"}).Decide(fold(statuses[st]...), start); !errors.Is(err, ErrTransition) {
			t.Errorf("%s: %v", st, err)
		}
	}
}

func TestCreateWithAGuestByName(t *testing.T) {
	t.Parallel()
	guest := uuid.MustParse("00000000-0000-0000-0000-00000000abcd")
	c := Create{BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID, AreaUserGroupID: groupID,
		Guest: &RegisterGuest{GuestID: guest, Personal: "sealed"}, StartDateTime: start, EndDateTime: end}
	events, err := c.Decide(State{}, start)
	if err != nil || len(events) != 2 {
		t.Fatalf("events, err = %v, %v", events, err)
	}
	if e := events[0].(BookingCreated); e.GuestID != guest || e.GuestUserID != uuid.Nil {
		t.Fatalf("created = %+v", e)
	}
	if s := fold(events...); s.Guests() != 1 || s.Status() != StatusBooked {
		t.Fatalf("state: %d guests, %s", s.Guests(), s.Status())
	}
	c.GuestUserID = guestID
	if _, err := c.Decide(State{}, start); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("both kinds of guest: %v", err)
	}
}
