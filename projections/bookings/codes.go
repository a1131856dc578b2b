package bookings

import (
	"context"

	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// CodesTable holds the bookings' access codes: their salted hashes (never
// the code), windows and state, for the lists, DELETE /access-codes and
// the check that a code is not already in use.
const CodesTable = "booking_access_codes"

// Access code states.
const (
	CodeActive  = "active"
	CodeRevoked = "revoked"
)

func setupCodes(ctx context.Context, tx projections.Tx) error {
	t := tx.Table(CodesTable)
	for _, s := range []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			access_code_id TEXT PRIMARY KEY,
			booking_id TEXT NOT NULL,
			account_id TEXT NOT NULL,
			property_id TEXT NOT NULL,
			area_id TEXT NOT NULL,
			code_hash TEXT NOT NULL,
			salt TEXT NOT NULL,
			valid_from TEXT NOT NULL,
			valid_until TEXT NOT NULL,
			state TEXT NOT NULL,
			position BIGINT NOT NULL,
			created_at TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_booking ON ` + t + ` (booking_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_area ON ` + t + ` (area_id, state)`,
	} {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// applyCode keeps the codes table; it reports whether env was a code event.
func applyCode(ctx context.Context, tx projections.Tx, env eventstore.Envelope) (bool, error) {
	t := tx.Table(CodesTable)
	switch e := env.Event.(type) {
	case booking.AccessCodeCreated:
		// A code created again (a door check-in undoing noCheckIn gives its
		// codes back) is active again; the same event delivered again
		// changes nothing.
		err := tx.Write(ctx, `INSERT INTO `+t+` (access_code_id, booking_id, account_id, property_id, area_id, code_hash, salt, valid_from, valid_until, state, position, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (access_code_id) DO UPDATE SET state = excluded.state WHERE `+t+`.position < excluded.position`,
			e.AccessCodeID.String(), e.BookingID.String(), e.AccountID.String(), e.PropertyID.String(), e.AreaID.String(),
			e.CodeHash, e.Salt, FormatTime(e.ValidFrom), FormatTime(e.ValidUntil), CodeActive, int64(env.Position), FormatTime(env.Metadata.OccurredAt))
		return true, err
	case booking.AccessCodeRevoked:
		err := tx.Write(ctx, `UPDATE `+t+` SET state = ? WHERE access_code_id = ?`, CodeRevoked, e.AccessCodeID.String())
		return true, err
	case booking.BookingRescheduled:
		// Codes follow their booking's dates and area.
		err := tx.Write(ctx, `UPDATE `+t+` SET area_id = ?, valid_from = ?, valid_until = ? WHERE booking_id = ?`,
			e.AreaID.String(), FormatTime(e.StartDateTime), FormatTime(e.EndDateTime), e.BookingID.String())
		return false, err
	}
	return false, nil
}
