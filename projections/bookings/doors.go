package bookings

import (
	"context"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// applyDoor notes a door check-in: a granted opening, by a code of a
// booked booking or by a device of its guest through the booked area's
// grant, within the check-in window (opens_at, start minus the
// property's opening time, until end). The first such opening sets door_access_at; the scheduler then
// checks the booking in with method doorAccess, once. The projection
// only records the fact, so it stays deterministic and free of commands.
func applyDoor(ctx context.Context, tx projections.Tx, env eventstore.Envelope) (bool, error) {
	e, ok := env.Event.(lock.LockAccessLogged)
	if !ok {
		return false, nil
	}
	if e.Result != lock.Granted || e.DeviceSignatureFailure || e.StaleCredential || e.FutureDate {
		return true, nil
	}
	t, codes := tx.Table(Table), tx.Table(CodesTable)
	at := FormatTime(e.AccessDate)
	var err error
	switch {
	case e.AccessCodeID != uuid.Nil:
		err = tx.Write(ctx, `UPDATE `+t+` SET door_access_at = ? WHERE door_access_at = '' AND status = ? AND account_id = ?
			AND opens_at <= ? AND end_at > ?
			AND booking_id IN (SELECT booking_id FROM `+codes+` WHERE access_code_id = ? AND state = ?)`,
			at, string(booking.StatusBooked), e.AccountID.String(), at, at, e.AccessCodeID.String(), CodeActive)
	case e.UserID != uuid.Nil && e.AreaID != uuid.Nil:
		err = tx.Write(ctx, `UPDATE `+t+` SET door_access_at = ? WHERE door_access_at = '' AND status = ? AND account_id = ?
			AND opens_at <= ? AND end_at > ? AND guest_user_id = ? AND area_id = ?`,
			at, string(booking.StatusBooked), e.AccountID.String(), at, at, e.UserID.String(), e.AreaID.String())
	}
	return true, err
}
