package booking

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// The deletion of the guest user ends what is still to come or in
// progress: a booked booking is cancelled (userDeleted), a checked-in stay
// checked out with no method; codes are revoked; anything over stays.
func TestEndForDeletedGuest(t *testing.T) {
	t.Parallel()
	at := start.Add(3 * time.Hour)
	code := uuid.MustParse("00000000-0000-0000-0000-0000000000c0")
	codeCreated := AccessCodeCreated{AccessCodeID: code, BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		CodeHash: "h", Salt: "s", ValidFrom: start, ValidUntil: end}
	revoked := AccessCodeRevoked{AccessCodeID: code, BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID}
	byName := BookingCreated{BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		AreaUserGroupID: groupID, GuestID: uuid.New(), StartDateTime: start, EndDateTime: end, Source: "web"}
	for _, c := range []struct {
		name  string
		given []domain.Event
		user  uuid.UUID
		then  []domain.Event
		err   error
	}{
		{"booked", []domain.Event{created, codeCreated}, guestID, []domain.Event{
			BookingCancelled{BookingID: bookingID, AccountID: accountID, PropertyID: propID, Reason: ReasonUserDeleted, At: at}, revoked}, nil},
		{"checked in", []domain.Event{created, checkedIn, codeCreated}, guestID, []domain.Event{
			BookingCheckedOut{BookingID: bookingID, AccountID: accountID, PropertyID: propID, Reason: CheckOutUserDeleted, At: at}, revoked}, nil},
		{"checked out", statuses[StatusCheckedOut], guestID, nil, nil},
		{"cancelled", statuses[StatusCancelled], guestID, nil, nil},
		{"noCheckIn", statuses[StatusNoCheckIn], guestID, nil, nil},
		{"completed", statuses[StatusCompleted], guestID, nil, nil},
		{"another user", []domain.Event{created}, uuid.New(), nil, ErrNotGuestUser},
		{"a guest by name", []domain.Event{byName}, guestID, nil, ErrNotGuestUser},
		{"no user", []domain.Event{created}, uuid.Nil, nil, ErrNotGuestUser},
		{"no booking", nil, guestID, nil, ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := EndForDeletedGuest{UserID: c.user}.Decide(fold(c.given...), at)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if !reflect.DeepEqual(got, c.then) {
				t.Fatalf("events = %#v\nwant %#v", got, c.then)
			}
			if len(got) == 0 {
				return
			}
			after := fold(append(append([]domain.Event{}, c.given...), got...)...)
			if !after.EndedForDeletedGuest() || len(after.ActiveCodes()) != 0 {
				t.Fatalf("after: ended for deletion %v, codes %v", after.EndedForDeletedGuest(), after.ActiveCodes())
			}
			again, err := EndForDeletedGuest{UserID: c.user}.Decide(after, at.Add(time.Minute))
			if err != nil || len(again) != 0 {
				t.Fatalf("again: %v, %v", again, err)
			}
		})
	}
	// Other endings are not the deletion's.
	for _, s := range []Status{StatusCheckedOut, StatusCancelled, StatusNoCheckIn, StatusCompleted, StatusBooked} {
		if fold(statuses[s]...).EndedForDeletedGuest() {
			t.Fatalf("%s: ended for deletion", s)
		}
	}
}

// A booking whose guest user is deleted cannot be checked in; a guest by
// name has no user to be deleted.
func TestCheckInOfADeletedGuestUser(t *testing.T) {
	t.Parallel()
	_, err := CheckIn{Method: "manual", Settings: set, GuestUserDeleted: true}.Decide(fold(created), start)
	if !errors.Is(err, ErrGuestUserDeleted) || !errors.Is(err, ErrTransition) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("check-in: %v", err)
	}
	byName := BookingCreated{BookingID: bookingID, AccountID: accountID, PropertyID: propID, AreaID: areaID,
		AreaUserGroupID: groupID, GuestID: uuid.New(), StartDateTime: start, EndDateTime: end, Source: "web"}
	if _, err := (CheckIn{Method: "manual", Settings: set, GuestUserDeleted: true}).Decide(fold(byName), start); err != nil {
		t.Fatalf("guest by name: %v", err)
	}
	if _, err := (CheckIn{Method: "manual", Settings: set, GuestUserDeleted: true}).Decide(fold(statuses[StatusCheckedIn]...), start); !errors.Is(err, ErrTransition) {
		t.Fatalf("checked in: %v", err)
	}
}
