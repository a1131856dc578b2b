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

// EraseGuest forgets a registered guest of a booking, as DeleteUser does
// a user: it records GuestErased, then erases the guest's key, after
// which the guest's details are unreadable in every old event (the log
// itself is never rewritten, so its hash chains still verify). An erasure
// interrupted after GuestErased is completed by the next EraseGuest of
// the same guest, which still answers 404. Needs `manage-access`.
func (s *Service) EraseGuest(ctx context.Context, bookingID, guestID uuid.UUID) (Result, error) {
	if s.personal == nil {
		return Result{}, errNoPersonalData
	}
	actor, _, err := s.loadBooking(ctx, bookingID)
	if err != nil {
		return Result{}, err
	}
	res, err := s.onBooking(ctx, actor, bookingID, "EraseGuest", func(st booking.State, now time.Time) ([]domain.Event, error) {
		return booking.EraseGuest{GuestID: guestID}.Decide(st, now)
	})
	if err != nil && !errors.Is(err, booking.ErrGuestErased) {
		return res, err
	}
	if eraseErr := s.personal.Erase(ctx, guestID); eraseErr != nil {
		return Result{}, fmt.Errorf("erase the key of guest %s: %w", guestID, eraseErr)
	}
	return res, err
}

// GuestsOfGuestUser finds, in the read model, the bookings of a guest user
// that have registered guests, for the cascade of that user's deletion.
type GuestsOfGuestUser interface {
	// BookingsWithGuestsOfGuestUser lists, in booking id order after the
	// given one, the user's bookings with guests registered (erased ones
	// included), whatever their status or dates.
	BookingsWithGuestsOfGuestUser(ctx context.Context, accountID, userID, after uuid.UUID, limit int) ([]uuid.UUID, error)
}

// SetGuestsOfGuestUser supplies the read model EraseGuestsOfUser consults.
// Call it while wiring, before the service takes commands.
func (s *Service) SetGuestsOfGuestUser(g GuestsOfGuestUser) { s.guestsOfGuestUser = g }

var errNoGuestsOfGuestUser = errors.New("commands: no guests of guest user reader wired (Service.SetGuestsOfGuestUser)")

// EraseGuestsOfUser erases, as EraseGuest does one, every guest registered
// on a booking whose guest is a deleted user, whatever the booking's
// status or dates (a stay long over too), in every property of the
// actor's account: a step of DeleteUser (OnUserDeleted). The guests on a
// user's booking are that user's stay: the user themself, registered with
// their identity document, or those who came with them; nothing tells
// them apart, and their details would otherwise stay readable, tied to
// the deleted user's booking, under keys the user's own erasure does not
// reach. Each booking records GuestErased for its guests not yet erased
// (booking.EraseGuestsOfDeletedGuest), then every registered guest's key
// is erased. It is idempotent: a deletion interrupted after GuestErased
// and before the keys' erasure is finished by the next DeleteUser, which
// records nothing more and erases the keys again. The user must be a
// deleted user of the actor's account (anything else is 404). Guests
// given by name have a booking of their own and are never touched.
func (s *Service) EraseGuestsOfUser(ctx context.Context, userID uuid.UUID) (Result, error) {
	if s.guestsOfGuestUser == nil {
		return Result{}, errNoGuestsOfGuestUser
	}
	if s.personal == nil {
		return Result{}, errNoPersonalData
	}
	actor, _, err := s.deletedUser(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	return eachListed(func(after uuid.UUID, limit int) ([]uuid.UUID, error) {
		ids, err := s.guestsOfGuestUser.BookingsWithGuestsOfGuestUser(ctx, actor.AccountID, userID, after, limit)
		if err != nil {
			return nil, fmt.Errorf("bookings with guests of user %s: %w", userID, err)
		}
		return ids, nil
	}, func(id uuid.UUID) (Result, error) {
		res, err := s.eraseGuestsOfDeletedUser(ctx, actor, userID, id)
		if err != nil {
			return Result{}, fmt.Errorf("erase the guests of booking %s of deleted user %s: %w", id, userID, err)
		}
		return res, nil
	})
}

// eraseGuestsOfDeletedUser erases the guests of one booking of the
// deleted user: their GuestErased, then every registered guest's key.
func (s *Service) eraseGuestsOfDeletedUser(ctx context.Context, actor domain.Actor, userID, bookingID uuid.UUID) (Result, error) {
	res, err := s.onBooking(ctx, actor, bookingID, "EraseGuestsOfDeletedUser", func(st booking.State, now time.Time) ([]domain.Event, error) {
		return booking.EraseGuestsOfDeletedGuest{UserID: userID}.Decide(st, now)
	})
	if errors.Is(err, booking.ErrNotGuestUser) || errors.Is(err, booking.ErrNotFound) {
		return Result{}, nil // the read model named a booking that is not theirs
	}
	if err != nil {
		return res, err
	}
	// Judged on the booking as stored (a replay under the request's
	// Idempotency-Key decides nothing).
	l, err := Load(ctx, s.p, bookingAgg, bookingID)
	if err != nil {
		return res, err
	}
	if l.State.AccountID() != actor.AccountID || l.State.GuestUserID() != userID {
		return res, nil
	}
	for _, guestID := range l.State.GuestIDs() {
		if err := s.personal.Erase(ctx, guestID); err != nil {
			return res, fmt.Errorf("erase the key of guest %s: %w", guestID, err)
		}
	}
	return res, nil
}
