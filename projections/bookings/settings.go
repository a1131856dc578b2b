package bookings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// SettingsTable holds each property's booking settings, so that a booking
// row carries the instants its property's rules derive from its start:
// when check-in opens (opens_at, for door check-ins) and when a booked
// booking becomes noCheckIn (no_check_in_at, for the scheduler).
const SettingsTable = "booking_settings"

func setupSettings(ctx context.Context, tx projections.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table(SettingsTable)+` (
		property_id TEXT PRIMARY KEY,
		grace_minutes BIGINT NOT NULL,
		opens_minutes BIGINT NOT NULL
	)`)
	return err
}

// applySettings keeps a property's settings and moves the windows of its
// booked bookings with them; it reports whether env was a property event.
func applySettings(ctx context.Context, tx projections.Tx, env eventstore.Envelope) (bool, error) {
	var id string
	var set *property.BookingSettings
	switch e := env.Event.(type) {
	case property.PropertyCreated:
		id, set = e.PropertyID.String(), e.BookingSettings
	case property.PropertyUpdated:
		id, set = e.PropertyID.String(), e.BookingSettings
	default:
		return false, nil
	}
	s := property.DefaultBookingSettings
	if set != nil {
		s = *set
	}
	if err := tx.Write(ctx, `INSERT INTO `+tx.Table(SettingsTable)+` (property_id, grace_minutes, opens_minutes) VALUES (?, ?, ?)
		ON CONFLICT (property_id) DO UPDATE SET grace_minutes = excluded.grace_minutes, opens_minutes = excluded.opens_minutes`,
		id, s.NoCheckInGraceMinutes, s.CheckInOpensMinutesBefore); err != nil {
		return true, fmt.Errorf("booking settings of property %s: %w", id, err)
	}
	return true, moveWindows(ctx, tx, id, s)
}

// moveWindows recomputes the derived instants of a property's bookings
// that are still booked (the others no longer wait for either).
func moveWindows(ctx context.Context, tx projections.Tx, propertyID string, s property.BookingSettings) error {
	t := tx.Table(Table)
	rows, err := tx.Query(ctx, `SELECT booking_id, start_at FROM `+t+` WHERE property_id = ? AND status = 'booked'`, propertyID)
	if err != nil {
		return fmt.Errorf("bookings of property %s: %w", propertyID, err)
	}
	type booked struct{ id, start string }
	var all []booked
	for rows.Next() {
		var b booked
		if err := rows.Scan(&b.id, &b.start); err != nil {
			rows.Close()
			return fmt.Errorf("bookings of property %s: %w", propertyID, err)
		}
		all = append(all, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bookings of property %s: %w", propertyID, err)
	}
	for _, b := range all {
		start, err := time.Parse(TimeLayout, b.start)
		if err != nil {
			return fmt.Errorf("booking %s: %w", b.id, err)
		}
		opens, due := windowOf(s, start)
		if err := tx.Write(ctx, `UPDATE `+t+` SET opens_at = ?, no_check_in_at = ? WHERE booking_id = ?`, opens, due, b.id); err != nil {
			return fmt.Errorf("booking %s: %w", b.id, err)
		}
	}
	return nil
}

// settingsOf reads a property's settings: the defaults for one the
// projection has not seen.
func settingsOf(ctx context.Context, tx projections.Tx, propertyID string) (property.BookingSettings, error) {
	s := property.DefaultBookingSettings
	err := tx.QueryRow(ctx, `SELECT grace_minutes, opens_minutes FROM `+tx.Table(SettingsTable)+` WHERE property_id = ?`, propertyID).
		Scan(&s.NoCheckInGraceMinutes, &s.CheckInOpensMinutesBefore)
	if errors.Is(err, sql.ErrNoRows) {
		return property.DefaultBookingSettings, nil
	}
	if err != nil {
		return s, fmt.Errorf("booking settings of property %s: %w", propertyID, err)
	}
	return s, nil
}

// windowOf is when check-in opens and when noCheckIn is due, stored.
func windowOf(s property.BookingSettings, start time.Time) (opens, noCheckIn string) {
	return FormatTime(start.Add(-time.Duration(s.CheckInOpensMinutesBefore) * time.Minute)),
		FormatTime(start.Add(time.Duration(s.NoCheckInGraceMinutes) * time.Minute))
}
