package booking

import (
	"errors"
	"testing"

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
