package booking

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Errors of the deletion of a booking's guest user.
var (
	// ErrGuestUserDeleted: check-in of a booking whose guest user was
	// deleted (a deletion not yet finished, which ends the booking). It
	// matches ErrTransition (and so ErrConflict) with errors.Is.
	ErrGuestUserDeleted = &domain.Error{Kind: ErrTransition, Message: "the booking's guest user was deleted; it cannot be checked in"}
	// ErrNotGuestUser: the user named is not the booking's guest user.
	ErrNotGuestUser = domain.NewError(domain.ErrUnprocessable, "the user is not the booking's guest")
)

// EndForDeletedGuest ends a booking because its guest user (UserID) was
// deleted: nobody is left to stay, so a booked booking (future or in
// progress) is cancelled with reason userDeleted, and a checked-in stay is
// checked out at once with reason userDeleted and no method (nobody
// checked out). Either revokes the active codes. A booking already over
// (checked out, cancelled, noCheckIn, completed) is left as it is: the
// decision records nothing, so a deletion run again records nothing twice.
// A guest given by name is no user and is never the guest user.
type EndForDeletedGuest struct {
	UserID uuid.UUID
}

// Decide records BookingCancelled or BookingCheckedOut, then the code
// revocations; or nothing.
func (c EndForDeletedGuest) Decide(s State, now time.Time) ([]domain.Event, error) {
	if err := s.requireGuestUser(c.UserID); err != nil {
		return nil, err
	}
	switch s.status {
	case StatusBooked:
		return s.revokeAll(BookingCancelled{
			BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, Reason: ReasonUserDeleted, At: now.UTC(),
		}), nil
	case StatusCheckedIn:
		return s.revokeAll(BookingCheckedOut{
			BookingID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, Reason: CheckOutUserDeleted, At: now.UTC(),
		}), nil
	}
	return nil, nil
}

// requireGuestUser checks that the booking exists and userID is its guest
// user: a step of that user's deletion touches no other booking.
func (s State) requireGuestUser(userID uuid.UUID) error {
	if !s.created {
		return ErrNotFound
	}
	if userID == uuid.Nil || s.guestID != userID {
		return ErrNotGuestUser
	}
	return nil
}

// EndedForDeletedGuest reports whether the booking was ended because its
// guest user was deleted (cancelled or checked out for userDeleted): what
// came after that ending (its slots, the stay's membership) may still be
// due when the deletion was interrupted.
func (s State) EndedForDeletedGuest() bool { return s.guestUserDeleted }
