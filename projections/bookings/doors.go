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
// property's opening time, until end). The earliest such opening sets door_access_at; the scheduler then
// checks the booking in with method doorAccess, once. A noCheckIn
// booking is noted too when the opening came before noCheckIn was due
// (no_check_in_at): the lock uploaded its log after the scheduler's
// noCheckIn, which revoked the code that opened the door, so its code
// may be revoked. The projection only records the fact, so it stays
// deterministic and free of commands.
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
	switch {
	case e.AccessCodeID != uuid.Nil:
		// The booking by its key through the code's: with the conditions
		// below alone, SQLite scanned every booked booking by status.
		return true, tx.Write(ctx, `UPDATE `+t+` SET door_access_at = ?
			WHERE booking_id = (SELECT booking_id FROM `+codes+` WHERE access_code_id = ?)
			AND (door_access_at = '' OR door_access_at > ?) AND account_id = ? AND opens_at <= ? AND end_at > ?
			AND ((status = ? AND EXISTS (SELECT 1 FROM `+codes+` WHERE access_code_id = ? AND state = ?))
				OR (status = ? AND no_check_in_at > ?))`,
			at, e.AccessCodeID.String(), at, e.AccountID.String(), at, at,
			string(booking.StatusBooked), e.AccessCodeID.String(), CodeActive, string(booking.StatusNoCheckIn), at)
	case e.UserID != uuid.Nil && e.AreaID != uuid.Nil:
		return true, checkInGuestByDoor(ctx, tx, t, e, at)
	}
	return true, nil
}

// checkInGuestByDoor notes the door check-in of the guest's booked
// bookings of the opened area whose window holds the opening (and of
// noCheckIn ones opened before noCheckIn was due). The guest's
// bookings are read by the guest's index and the rest is judged here:
// given the window's conditions too, SQLite chose the status index and
// read every booked booking on each opening.
func checkInGuestByDoor(ctx context.Context, tx projections.Tx, t string, e lock.LockAccessLogged, at string) error {
	rows, err := tx.Query(ctx, `SELECT booking_id, area_id, status, door_access_at, opens_at, no_check_in_at, end_at FROM `+t+`
		WHERE account_id = ? AND guest_user_id = ?`, e.AccountID.String(), e.UserID.String())
	if err != nil {
		return err
	}
	var opened []string
	for rows.Next() {
		var id, area, status, doorAccessAt, opensAt, noCheckInAt, endAt string
		if err := rows.Scan(&id, &area, &status, &doorAccessAt, &opensAt, &noCheckInAt, &endAt); err != nil {
			rows.Close()
			return err
		}
		// Times are FormatTime's text, ordered as the instants are.
		live := status == string(booking.StatusBooked) || status == string(booking.StatusNoCheckIn) && noCheckInAt > at
		if area == e.AreaID.String() && live && (doorAccessAt == "" || doorAccessAt > at) && opensAt <= at && endAt > at {
			opened = append(opened, id)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range opened {
		if err := tx.Write(ctx, `UPDATE `+t+` SET door_access_at = ? WHERE booking_id = ?`, at, id); err != nil {
			return err
		}
	}
	return nil
}
