package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
)

// GuestUserBookings finds, in the read model, the bookings a guest user's
// deletion ends, for the cascade of that deletion.
type GuestUserBookings interface {
	// BookingsOfGuestUser lists, in booking id order after the given one,
	// the user's bookings that are booked or checked in, or cancelled or
	// checked out with their end after now.
	BookingsOfGuestUser(ctx context.Context, accountID, userID uuid.UUID, now time.Time, after uuid.UUID, limit int) ([]uuid.UUID, error)
}

// SetGuestUserBookings supplies the read model EndBookingsOfUser consults.
// Call it while wiring, before the service takes commands.
func (s *Service) SetGuestUserBookings(b GuestUserBookings) { s.guestBookings = b }

var errNoGuestBookings = errors.New("commands: no guest user bookings reader wired (Service.SetGuestUserBookings)")

// EndBookingsOfUser ends the bookings of a deleted user who is their
// guest: a step of DeleteUser (OnUserDeleted), to run before the group
// memberships go, so that no checked-in stay is left for the scheduler's
// reconciliation to give a membership back to. Each booking's own
// decision (booking.EndForDeletedGuest) cancels a booked one (reason
// userDeleted) or checks a checked-in stay out at once (reason
// userDeleted, no method), revoking its codes; then its slots are freed
// and the stay's membership ended. It is idempotent: a booking already
// ended by the deletion records nothing and only has its slots and
// membership seen to again, so a deletion interrupted anywhere is
// finished by the next DeleteUser. The user must be a deleted user of the
// actor's account (anything else is 404); like the memberships, the
// bookings go in every property of the account, whatever the scope of
// the actor who deleted the user. Guests given by name are no user and
// are never touched.
func (s *Service) EndBookingsOfUser(ctx context.Context, userID uuid.UUID) (Result, error) {
	if s.guestBookings == nil {
		return Result{}, errNoGuestBookings
	}
	actor, _, err := s.deletedUser(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	return eachListed(func(after uuid.UUID, limit int) ([]uuid.UUID, error) {
		ids, err := s.guestBookings.BookingsOfGuestUser(ctx, actor.AccountID, userID, s.p.Now(), after, limit)
		if err != nil {
			return nil, fmt.Errorf("bookings of user %s: %w", userID, err)
		}
		return ids, nil
	}, func(id uuid.UUID) (Result, error) {
		res, err := s.endBookingOfDeletedGuest(ctx, actor, userID, id)
		if err != nil {
			return Result{}, fmt.Errorf("end booking %s of deleted user %s: %w", id, userID, err)
		}
		return res, nil
	})
}

// endBookingOfDeletedGuest ends one booking of the deleted user, then
// frees its slots and, for a stay, ends the guest's membership; a booking
// ended by the deletion before has only those seen to again.
func (s *Service) endBookingOfDeletedGuest(ctx context.Context, actor domain.Actor, userID, bookingID uuid.UUID) (Result, error) {
	var after booking.State
	res, err := s.onBooking(ctx, actor, bookingID, "EndBookingOfDeletedUser", func(st booking.State, now time.Time) ([]domain.Event, error) {
		events, err := booking.EndForDeletedGuest{UserID: userID}.Decide(st, now)
		after = st
		for _, e := range events {
			after = booking.Evolve(after, e)
		}
		return events, err
	})
	if errors.Is(err, booking.ErrNotGuestUser) || errors.Is(err, booking.ErrNotFound) {
		return Result{}, nil // the read model named a booking that is not theirs
	}
	if err != nil {
		return res, err
	}
	if !after.Exists() {
		// A replay under the request's Idempotency-Key decided nothing:
		// what follows the ending is judged on the booking as stored.
		l, err := Load(ctx, s.p, bookingAgg, bookingID)
		if err != nil {
			return res, err
		}
		after = l.State
	}
	if !after.EndedForDeletedGuest() {
		return res, nil // over before the deletion: nothing of it is the deletion's
	}
	// A stay (checked out by the deletion) had the guest's membership.
	return s.afterEnd(ctx, after, res, after.Status() == booking.StatusCheckedOut)
}
