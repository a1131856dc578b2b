package bookings

import (
	"context"

	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// GuestsTable holds the bookings' registered guests with their sealed
// details (opened by the reader with the guest's key).
const GuestsTable = "booking_guests"

func setupGuests(ctx context.Context, tx projections.Tx) error {
	t := tx.Table(GuestsTable)
	for _, s := range []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			guest_id TEXT PRIMARY KEY,
			booking_id TEXT NOT NULL,
			account_id TEXT NOT NULL,
			personal TEXT NOT NULL,
			registered_at TEXT NOT NULL,
			position BIGINT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_booking ON ` + t + ` (booking_id, position)`,
	} {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// applyGuest keeps the guests table; it reports whether env was a guest event.
func applyGuest(ctx context.Context, tx projections.Tx, env eventstore.Envelope) (bool, error) {
	e, ok := env.Event.(booking.GuestRegistered)
	if !ok {
		return false, nil
	}
	err := tx.Write(ctx, `INSERT INTO `+tx.Table(GuestsTable)+` (guest_id, booking_id, account_id, personal, registered_at, position)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guest_id) DO NOTHING`,
		e.GuestID.String(), e.BookingID.String(), e.AccountID.String(), e.Personal, FormatTime(e.At), int64(env.Position))
	return true, err
}
