package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bookings"
)

// Bookings reads the bookings read model.
type Bookings struct {
	db *projections.DB
}

// NewBookings returns a reader over the bookings read model.
func NewBookings(db *projections.DB) *Bookings { return &Bookings{db: db} }

// Booking is one stored booking: its property and its JSON document.
type Booking struct {
	BookingID  string
	PropertyID string
	Position   uint64
	JSON       json.RawMessage
}

// TimeBound is one Kadence-style comparison on a booking's start or end:
// Op is before (<=), strictly_before (<), after (>=) or strictly_after (>).
type TimeBound struct {
	Op string
	At time.Time
}

// BookingFilter narrows a booking list; empty fields match all.
type BookingFilter struct {
	PropertyID string
	// PropertyIDs limits the list to these properties (a property-scoped
	// caller); nil means every property of the account.
	PropertyIDs []string
	Statuses    []string
	AreaID      string
	Start, End  []TimeBound
}

var boundOps = map[string]string{"before": "<=", "strictly_before": "<", "after": ">=", "strictly_after": ">"}

// ValidBoundOp reports whether op is a known comparison.
func ValidBoundOp(op string) bool { _, ok := boundOps[op]; return ok }

// BoundOps are the known comparisons, sorted.
func BoundOps() []string { return slices.Sorted(maps.Keys(boundOps)) }

// Get returns a booking of the account.
func (q *Bookings) Get(ctx context.Context, accountID, bookingID string) (Booking, error) {
	b := Booking{BookingID: bookingID}
	var acc, raw string
	var pos int64
	err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT account_id, property_id, position, doc FROM `+bookings.Table+` WHERE booking_id = ?`), bookingID).
		Scan(&acc, &b.PropertyID, &pos, &raw)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && acc != accountID) {
		return b, fmt.Errorf("booking %s: %w", bookingID, ErrEntityNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("get booking: %w", err)
	}
	b.Position, b.JSON = uint64(pos), json.RawMessage(raw)
	return b, nil
}

// List returns one page of the account's bookings, oldest first, and the
// token of the next page ("" on the last).
func (q *Bookings) List(ctx context.Context, accountID string, f BookingFilter, page Page) ([]Booking, string, error) {
	query := `SELECT booking_id, property_id, position, doc FROM ` + bookings.Table + ` WHERE account_id = ? AND position > ?`
	args := []any{accountID, int64(page.After)}
	if f.PropertyID != "" {
		query += ` AND property_id = ?`
		args = append(args, f.PropertyID)
	}
	if f.PropertyIDs != nil {
		if len(f.PropertyIDs) == 0 {
			return nil, "", nil
		}
		query += ` AND property_id IN (?` + repeat(",?", len(f.PropertyIDs)-1) + `)`
		for _, p := range f.PropertyIDs {
			args = append(args, p)
		}
	}
	if len(f.Statuses) > 0 {
		query += ` AND status IN (?` + repeat(",?", len(f.Statuses)-1) + `)`
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	if f.AreaID != "" {
		query += ` AND area_id = ?`
		args = append(args, f.AreaID)
	}
	for _, c := range []struct {
		col    string
		bounds []TimeBound
	}{{"start_at", f.Start}, {"end_at", f.End}} {
		for _, b := range c.bounds {
			op, ok := boundOps[b.Op]
			if !ok {
				return nil, "", fmt.Errorf("list bookings: unknown comparison %q", b.Op)
			}
			query += ` AND ` + c.col + ` ` + op + ` ?`
			args = append(args, bookings.FormatTime(b.At))
		}
	}
	query += ` ORDER BY position LIMIT ?`
	args = append(args, page.Size+1)
	out, err := q.scan(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		next = page.Token(out[len(out)-1].Position)
	}
	return out, next, nil
}

func (q *Bookings) scan(ctx context.Context, query string, args ...any) ([]Booking, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	defer rows.Close()
	out := []Booking{}
	for rows.Next() {
		var b Booking
		var raw string
		var pos int64
		if err := rows.Scan(&b.BookingID, &b.PropertyID, &pos, &raw); err != nil {
			return nil, fmt.Errorf("list bookings: %w", err)
		}
		b.Position, b.JSON = uint64(pos), json.RawMessage(raw)
		out = append(out, b)
	}
	return out, rows.Err()
}

// Current returns the booking of a property in progress at now (started,
// not ended, booked or checked in; a checked-in one first), or
// ErrEntityNotFound.
func (q *Bookings) Current(ctx context.Context, accountID, propertyID string, now time.Time) (Booking, error) {
	t := bookings.FormatTime(now)
	out, err := q.scan(ctx, `SELECT booking_id, property_id, position, doc FROM `+bookings.Table+`
		WHERE account_id = ? AND property_id = ? AND status IN (?, ?) AND start_at <= ? AND end_at > ?
		ORDER BY CASE status WHEN ? THEN 0 ELSE 1 END, start_at DESC LIMIT 1`,
		accountID, propertyID, string(booking.StatusCheckedIn), string(booking.StatusBooked), t, t, string(booking.StatusCheckedIn))
	if err != nil {
		return Booking{}, err
	}
	if len(out) == 0 {
		return Booking{}, fmt.Errorf("current booking: %w", ErrEntityNotFound)
	}
	return out[0], nil
}

// Due lists up to limit bookings due at now: booked ones with a door
// opening seen before their end (door check-in) or whose start plus grace
// has passed (noCheckIn), noCheckIn ones with a door opening before
// noCheckIn was due (seen after it: door check-in), checked-in ones whose
// end has passed. The late door check-ins come last: one refused (a slot
// taken, a guest never registered) stays due until its end, and however
// many there are, they never keep the others out of a batch. Each part
// comes in due order.
func (q *Bookings) Due(ctx context.Context, now time.Time, limit int) ([]booking.Due, error) {
	t := bookings.FormatTime(now)
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT booking_id, account_id, property_id, status, door_access_at <> '' AND end_at > ?, door_access_at FROM `+bookings.Table+`
		WHERE (status = ? AND door_access_at <> '' AND end_at > ?) OR (status = ? AND no_check_in_at <= ?) OR (status = ? AND end_at <= ?)
			OR (status = ? AND door_access_at <> '' AND door_access_at < no_check_in_at AND end_at > ?)
		ORDER BY CASE WHEN status = ? THEN 1 ELSE 0 END,
			CASE WHEN status = ? THEN end_at WHEN door_access_at <> '' AND end_at > ? THEN door_access_at ELSE no_check_in_at END,
			booking_id
		LIMIT ?`),
		t, string(booking.StatusBooked), t, string(booking.StatusBooked), t, string(booking.StatusCheckedIn), t,
		string(booking.StatusNoCheckIn), t,
		string(booking.StatusNoCheckIn), string(booking.StatusCheckedIn), t, limit)
	if err != nil {
		return nil, fmt.Errorf("due bookings: %w", err)
	}
	defer rows.Close()
	var out []booking.Due
	for rows.Next() {
		var id, acc, prop, status, doorAt string
		var door bool
		if err := rows.Scan(&id, &acc, &prop, &status, &door, &doorAt); err != nil {
			return nil, fmt.Errorf("due bookings: %w", err)
		}
		d := booking.Due{Status: booking.Status(status), DoorCheckIn: door}
		var errs [4]error
		if door {
			d.DoorAccessAt, errs[3] = time.Parse(bookings.TimeLayout, doorAt)
		}
		d.BookingID, errs[0] = uuid.Parse(id)
		d.AccountID, errs[1] = uuid.Parse(acc)
		d.PropertyID, errs[2] = uuid.Parse(prop)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("due bookings: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Stays lists up to limit bookings of a guest user, in booking id order
// after the given one, that are checked in, or checked out with their end
// still to come: the ones whose membership the scheduler reconciles.
func (q *Bookings) Stays(ctx context.Context, now time.Time, after uuid.UUID, limit int) ([]booking.Stay, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT booking_id, account_id, property_id FROM `+bookings.Table+`
		WHERE status IN (?, ?) AND end_at > ? AND guest_user_id <> '' AND booking_id > ? ORDER BY booking_id LIMIT ?`),
		string(booking.StatusCheckedIn), string(booking.StatusCheckedOut), bookings.FormatTime(now), after.String(), limit)
	if err != nil {
		return nil, fmt.Errorf("stays: %w", err)
	}
	defer rows.Close()
	var out []booking.Stay
	for rows.Next() {
		var id, acc, prop string
		if err := rows.Scan(&id, &acc, &prop); err != nil {
			return nil, fmt.Errorf("stays: %w", err)
		}
		var s booking.Stay
		var errs [3]error
		s.BookingID, errs[0] = uuid.Parse(id)
		s.AccountID, errs[1] = uuid.Parse(acc)
		s.PropertyID, errs[2] = uuid.Parse(prop)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("stays: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// BookingsOfGuestUser lists, in booking id order after the given one, up
// to limit bookings of the account whose guest is the user and that the
// user's deletion ends or may still have to finish ending: booked or
// checked in, whatever their dates, and cancelled or checked out with
// their end still to come (commands.GuestUserBookings).
func (q *Bookings) BookingsOfGuestUser(ctx context.Context, accountID, userID uuid.UUID, now time.Time, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT booking_id FROM `+bookings.Table+`
		WHERE account_id = ? AND guest_user_id = ? AND booking_id > ?
			AND (status IN (?, ?) OR (status IN (?, ?) AND end_at > ?))
		ORDER BY booking_id LIMIT ?`),
		accountID.String(), userID.String(), after.String(),
		string(booking.StatusBooked), string(booking.StatusCheckedIn),
		string(booking.StatusCancelled), string(booking.StatusCheckedOut), bookings.FormatTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("bookings of guest user: %w", err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("bookings of guest user: %w", err)
		}
		id, err := uuid.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("bookings of guest user: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
