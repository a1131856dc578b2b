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
