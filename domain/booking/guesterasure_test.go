package booking

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

func TestEraseGuest(t *testing.T) {
	t.Parallel()
	guest := uuid.MustParse("00000000-0000-0000-0000-00000000abcd")
	registered := GuestRegistered{GuestID: guest, BookingID: bookingID, AccountID: accountID, PropertyID: propID, Personal: "sealed", At: start}
	events, err := EraseGuest{GuestID: guest}.Decide(fold(created, registered), start)
	if err != nil || len(events) != 1 {
		t.Fatalf("erase: %v, %v", events, err)
	}
	if e := events[0].(GuestErased); e.GuestID != guest || e.BookingID != bookingID || !e.At.Equal(start) {
		t.Fatalf("erased = %+v", e)
	}
	after := fold(created, registered, events[0])
	if _, err := (EraseGuest{GuestID: guest}).Decide(after, start); !errors.Is(err, ErrGuestErased) || !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("twice: %v", err)
	}
	if after.Guests() != 1 {
		t.Fatalf("an erased guest was still registered: guests = %d", after.Guests())
	}
	if _, err := (EraseGuest{GuestID: uuid.New()}).Decide(fold(created, registered), start); !errors.Is(err, ErrGuestNotFound) {
		t.Fatalf("unknown guest: %v", err)
	}
	if _, err := (EraseGuest{GuestID: guest}).Decide(State{}, start); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no booking: %v", err)
	}
	// Any status: a cancelled booking's guest can be forgotten too.
	cancelled := append(append([]domain.Event{}, statuses[StatusCancelled]...), registered)
	if _, err := (EraseGuest{GuestID: guest}).Decide(fold(cancelled...), start); err != nil {
		t.Fatalf("cancelled booking: %v", err)
	}
}

// The deletion of the guest user forgets every guest registered on the
// booking, whatever its status; guests erased already, and bookings that
// are not the user's, are left alone.
func TestEraseGuestsOfDeletedGuest(t *testing.T) {
	t.Parallel()
	at := start.Add(time.Hour)
	g1 := uuid.MustParse("00000000-0000-0000-0000-0000000000e1")
	g2 := uuid.MustParse("00000000-0000-0000-0000-0000000000e0") // sorts first
	reg := func(id uuid.UUID) GuestRegistered {
		return GuestRegistered{GuestID: id, BookingID: bookingID, AccountID: accountID, PropertyID: propID, Personal: "sealed", At: start}
	}
	erased := func(id uuid.UUID, when time.Time) GuestErased {
		return GuestErased{GuestID: id, BookingID: bookingID, AccountID: accountID, PropertyID: propID, At: when}
	}
	byName := BookingCreated{BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		AreaUserGroupID: groupID, GuestID: g1, StartDateTime: start, EndDateTime: end, Source: "web"}
	with := func(status Status, more ...domain.Event) []domain.Event {
		return append(append([]domain.Event{}, statuses[status]...), more...)
	}
	type tc struct {
		name  string
		given []domain.Event
		user  uuid.UUID
		then  []domain.Event
		err   error
	}
	cases := []tc{
		{"one erased already", with(StatusBooked, reg(g1), reg(g2), erased(g1, start)), guestID, []domain.Event{erased(g2, at)}, nil},
		{"all erased already", with(StatusBooked, reg(g1), erased(g1, start)), guestID, nil, nil},
		{"no guests", with(StatusBooked), guestID, nil, nil},
		{"another user", with(StatusBooked, reg(g1)), uuid.New(), nil, ErrNotGuestUser},
		{"a guest by name", []domain.Event{byName, reg(g1)}, guestID, nil, ErrNotGuestUser},
		{"no user", with(StatusBooked, reg(g1)), uuid.Nil, nil, ErrNotGuestUser},
		{"no booking", nil, guestID, nil, ErrNotFound},
	}
	for _, s := range []Status{StatusBooked, StatusCheckedIn, StatusCheckedOut, StatusCancelled, StatusNoCheckIn, StatusCompleted} {
		cases = append(cases, tc{"every guest, " + string(s), with(s, reg(g1), reg(g2)), guestID,
			[]domain.Event{erased(g2, at), erased(g1, at)}, nil})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := EraseGuestsOfDeletedGuest{UserID: c.user}.Decide(fold(c.given...), at)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if !reflect.DeepEqual(got, c.then) {
				t.Fatalf("events = %#v\nwant %#v", got, c.then)
			}
			if err != nil {
				return
			}
			after := fold(append(append([]domain.Event{}, c.given...), got...)...)
			again, err := EraseGuestsOfDeletedGuest{UserID: c.user}.Decide(after, at.Add(time.Minute))
			if err != nil || len(again) != 0 {
				t.Fatalf("again: %v, %v", again, err)
			}
		})
	}
	if got, want := fold(with(StatusBooked, reg(g1), reg(g2), erased(g1, start))...).GuestIDs(), []uuid.UUID{g2, g1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("GuestIDs = %v, want %v (erased ones too, in id order)", got, want)
	}
	if got := fold(created).GuestIDs(); len(got) != 0 {
		t.Fatalf("GuestIDs of no guest = %v", got)
	}
}
