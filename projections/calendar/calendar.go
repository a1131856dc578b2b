// Package calendar is the read model behind the property calendars and the
// upcoming timelines: one row per booking (its stay; the reader derives its
// arrival and departure), with the names that make its title. Cancelled
// bookings leave it.
package calendar

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Logical table names.
const (
	// Table holds the calendar rows.
	Table = "calendar_items"
	// NamesTable holds the display names of areas and users, copied into
	// the items' titles.
	NamesTable = "calendar_names"
	// SpansTable holds each property's longest item (in whole ms between
	// its start_ms and end_ms): a range query then reads only the items
	// starting at most that long before it.
	SpansTable = "calendar_spans"
	// bookingsTable remembers the last event applied to each booking.
	bookingsTable = "calendar_bookings"
)

// Item types. A row is a booking (TypeBooking) or an access code's window
// (TypeAccessCode); a booking answers as a stay, an arrival and a
// departure.
const (
	TypeBooking    = "booking"
	TypeStay       = "stay"
	TypeArrival    = "arrival"
	TypeDeparture  = "departure"
	TypeAccessCode = "accessCode"
)

// Projection keeps the calendar.
type Projection struct{}

// New returns the calendar projection.
func New() *Projection { return &Projection{} }

// Name implements projections.Projection.
func (p *Projection) Name() string { return "calendar" }

// Lane implements projections.Laned: commands do not wait for this read
// model before answering; the caller's next request does.
func (*Projection) Lane() string { return projections.LaneDeferred }

// Version implements projections.Projection. Version 2: a booking's
// access codes move with it to another area. Version 3: items keep their
// nanoseconds (start_frac_ns, end_frac_ns), which version 2 cut off.
func (p *Projection) Version() int { return 3 }

// EventTypes implements projections.Projection.
func (p *Projection) EventTypes() []string {
	return []string{
		area.AreaCreated{}.EventType(), area.AreaUpdated{}.EventType(),
		user.UserCreated{}.EventType(), user.UserUpdated{}.EventType(),
		booking.BookingCreated{}.EventType(), booking.BookingRescheduled{}.EventType(),
		booking.BookingCheckedIn{}.EventType(), booking.BookingCheckedOut{}.EventType(),
		booking.BookingCancelled{}.EventType(), booking.BookingNoCheckInRecorded{}.EventType(),
		booking.BookingCompleted{}.EventType(),
		booking.AccessCodeCreated{}.EventType(), booking.AccessCodeRevoked{}.EventType(),
	}
}

// Tables implements projections.Projection.
func (p *Projection) Tables() []string { return []string{Table, NamesTable, SpansTable, bookingsTable} }

// Setup implements projections.Projection.
func (p *Projection) Setup(ctx context.Context, tx projections.Tx) error {
	t, n, b, sp := tx.Table(Table), tx.Table(NamesTable), tx.Table(bookingsTable), tx.Table(SpansTable)
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			item_id TEXT PRIMARY KEY,
			booking_id TEXT NOT NULL,
			account_id TEXT NOT NULL,
			property_id TEXT NOT NULL,
			area_id TEXT NOT NULL,
			guest_user_id TEXT NOT NULL DEFAULT '',
			guest_name TEXT NOT NULL DEFAULT '',
			area_name TEXT NOT NULL DEFAULT '',
			type TEXT NOT NULL,
			status TEXT NOT NULL,
			start_ms BIGINT NOT NULL,
			end_ms BIGINT NOT NULL,
			start_frac_ns BIGINT NOT NULL,
			end_frac_ns BIGINT NOT NULL
		)`,
		// Items overlapping [from, to) start before to, and at most the
		// property's longest span before from; the index walks a
		// property's items by start. An instant is its Unix milliseconds
		// (floored: what ranges are indexed by) and the nanoseconds past
		// them (0 to 999999): Unix nanoseconds would not reach the years
		// 1 to 9999 a booking may be in.
		// Both indexes cover every column a range query reads, so it never
		// visits the table.
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_property ON ` + t + ` (account_id, property_id, start_ms, end_ms, type, booking_id, area_id, status, guest_name, area_name, start_frac_ns, end_frac_ns)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_account ON ` + t + ` (account_id, start_ms, end_ms, property_id, type, booking_id, area_id, status, guest_name, area_name, start_frac_ns, end_frac_ns)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_guest ON ` + t + ` (guest_user_id)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_area ON ` + t + ` (area_id)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_booking ON ` + t + ` (booking_id)`,
		`CREATE TABLE IF NOT EXISTS ` + n + ` (id TEXT PRIMARY KEY, name TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + b + ` (booking_id TEXT PRIMARY KEY, applied BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + sp + ` (property_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, max_ms BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + sp + `_by_account ON ` + sp + ` (account_id)`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("calendar setup: %w", err)
		}
	}
	return nil
}

// Apply implements projections.Projection. An event at or below the last
// one applied to its booking (a re-delivery) changes nothing.
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	switch e := env.Event.(type) {
	case area.AreaCreated:
		return p.name(ctx, tx, "area", e.AreaID.String(), e.DisplayName)
	case area.AreaUpdated:
		return p.name(ctx, tx, "area", e.AreaID.String(), e.DisplayName)
	case user.UserCreated:
		return p.name(ctx, tx, "guest", e.UserID.String(), e.DisplayName)
	case user.UserUpdated:
		return p.name(ctx, tx, "guest", e.UserID.String(), e.DisplayName)
	}
	id, ok := bookingID(env.Event)
	if !ok {
		return nil
	}
	fresh, err := p.claim(ctx, tx, id, env.Position)
	if err != nil || !fresh {
		return err
	}
	switch e := env.Event.(type) {
	case booking.BookingCreated:
		return p.place(ctx, tx, id, id, TypeBooking, e.AccountID.String(), e.PropertyID.String(), e.AreaID.String(),
			e.GuestUserID.String(), string(booking.StatusBooked), e.StartDateTime, e.EndDateTime)
	case booking.BookingRescheduled:
		var guest, status string
		err := tx.QueryRow(ctx, `SELECT guest_user_id, status FROM `+tx.Table(Table)+` WHERE item_id = ?`, id).Scan(&guest, &status)
		if err != nil {
			return nil // a booking this read model never saw, or one that left it
		}
		if err := p.place(ctx, tx, id, id, TypeBooking, e.AccountID.String(), e.PropertyID.String(), e.AreaID.String(), guest, status, e.StartDateTime, e.EndDateTime); err != nil {
			return err
		}
		// A booking's access codes are valid from its start to its end, on
		// the locks of its area: they move with it.
		areaName, err := p.nameOf(ctx, tx, e.AreaID.String())
		if err != nil {
			return fmt.Errorf("calendar: %w", err)
		}
		err = tx.Write(ctx, `UPDATE `+tx.Table(Table)+` SET start_ms = ?, start_frac_ns = ?, end_ms = ?, end_frac_ns = ?, area_id = ?, area_name = ?
			WHERE booking_id = ? AND type = ?`,
			e.StartDateTime.UnixMilli(), FracNanos(e.StartDateTime), e.EndDateTime.UnixMilli(), FracNanos(e.EndDateTime),
			e.AreaID.String(), areaName, id, TypeAccessCode)
		return err
	case booking.AccessCodeCreated:
		var guest, status string
		err := tx.QueryRow(ctx, `SELECT guest_user_id, status FROM `+tx.Table(Table)+` WHERE item_id = ?`, id).Scan(&guest, &status)
		if err != nil {
			return nil // a booking this read model never saw, or one that left it
		}
		return p.place(ctx, tx, e.AccessCodeID.String(), id, TypeAccessCode, e.AccountID.String(), e.PropertyID.String(), e.AreaID.String(),
			guest, status, e.ValidFrom, e.ValidUntil)
	case booking.AccessCodeRevoked:
		err := tx.Write(ctx, `DELETE FROM `+tx.Table(Table)+` WHERE item_id = ? AND type = ?`, e.AccessCodeID.String(), TypeAccessCode)
		return err
	case booking.BookingCancelled:
		err := tx.Write(ctx, `DELETE FROM `+tx.Table(Table)+` WHERE booking_id = ?`, id)
		return err
	case booking.BookingCheckedIn:
		return p.status(ctx, tx, id, booking.StatusCheckedIn)
	case booking.BookingNoCheckInRecorded:
		return p.status(ctx, tx, id, booking.StatusNoCheckIn)
	case booking.BookingCompleted:
		return p.status(ctx, tx, id, booking.StatusCompleted)
	case booking.BookingCheckedOut:
		if err := p.status(ctx, tx, id, booking.StatusCheckedOut); err != nil {
			return err
		}
		// An early check-out (start <= at < end) ends the stay, and so
		// moves the departure.
		at, frac := e.At.UnixMilli(), FracNanos(e.At)
		err := tx.Write(ctx, `UPDATE `+tx.Table(Table)+` SET end_ms = ?, end_frac_ns = ? WHERE item_id = ?
			AND (end_ms > ? OR end_ms = ? AND end_frac_ns > ?) AND (start_ms < ? OR start_ms = ? AND start_frac_ns <= ?)`,
			at, frac, id, at, at, frac, at, at, frac)
		return err
	}
	return nil
}

// bookingID is the booking an event concerns.
func bookingID(e any) (string, bool) {
	switch e := e.(type) {
	case booking.BookingCreated:
		return e.BookingID.String(), true
	case booking.BookingRescheduled:
		return e.BookingID.String(), true
	case booking.BookingCheckedIn:
		return e.BookingID.String(), true
	case booking.BookingCheckedOut:
		return e.BookingID.String(), true
	case booking.BookingCancelled:
		return e.BookingID.String(), true
	case booking.BookingNoCheckInRecorded:
		return e.BookingID.String(), true
	case booking.BookingCompleted:
		return e.BookingID.String(), true
	case booking.AccessCodeCreated:
		return e.BookingID.String(), true
	case booking.AccessCodeRevoked:
		return e.BookingID.String(), true
	}
	return "", false
}

// claim records position as the last event applied to the booking, and
// reports whether it is newer than the one before.
func (p *Projection) claim(ctx context.Context, tx projections.Tx, id string, position uint64) (bool, error) {
	res, err := tx.Exec(ctx, `INSERT INTO `+tx.Table(bookingsTable)+` (booking_id, applied) VALUES (?, ?)
		ON CONFLICT (booking_id) DO UPDATE SET applied = excluded.applied WHERE `+tx.Table(bookingsTable)+`.applied < excluded.applied`,
		id, int64(position))
	if err != nil {
		return false, fmt.Errorf("calendar: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// name records an area's or a user's display name, and puts it in the
// titles of their items (kind: "area" or "guest").
func (p *Projection) name(ctx context.Context, tx projections.Tx, kind, id, name string) error {
	if err := tx.Write(ctx, `INSERT INTO `+tx.Table(NamesTable)+` (id, name) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name`, id, name); err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	col := map[string]string{"area": "area", "guest": "guest_user"}[kind]
	err := tx.Write(ctx, `UPDATE `+tx.Table(Table)+` SET `+kind+`_name = ? WHERE `+col+`_id = ?`, name, id)
	return err
}

// nameOf is a recorded display name, "" if none.
func (p *Projection) nameOf(ctx context.Context, tx projections.Tx, id string) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT name FROM `+tx.Table(NamesTable)+` WHERE id = ?`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}

// place writes a row: a booking's (itemID = its id) or an access code's.
func (p *Projection) place(ctx context.Context, tx projections.Tx, itemID, id, typ, account, property, areaID, guest, status string, start, end time.Time) error {
	t := tx.Table(Table)
	sp := tx.Table(SpansTable)
	if err := tx.Write(ctx, `INSERT INTO `+sp+` (property_id, account_id, max_ms) VALUES (?, ?, ?)
		ON CONFLICT (property_id) DO UPDATE SET max_ms = excluded.max_ms WHERE `+sp+`.max_ms < excluded.max_ms`,
		property, account, end.UnixMilli()-start.UnixMilli()); err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	guestName, err := p.nameOf(ctx, tx, guest)
	if err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	areaName, err := p.nameOf(ctx, tx, areaID)
	if err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	if err := tx.Write(ctx, `INSERT INTO `+t+` (item_id, booking_id, account_id, property_id, area_id, guest_user_id, guest_name, area_name, type, status,
			start_ms, start_frac_ns, end_ms, end_frac_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (item_id) DO UPDATE SET property_id = excluded.property_id, area_id = excluded.area_id,
			area_name = excluded.area_name, status = excluded.status, start_ms = excluded.start_ms, start_frac_ns = excluded.start_frac_ns,
			end_ms = excluded.end_ms, end_frac_ns = excluded.end_frac_ns`,
		itemID, id, account, property, areaID, guest, guestName, areaName, typ, status,
		start.UnixMilli(), FracNanos(start), end.UnixMilli(), FracNanos(end)); err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	return nil
}

func (p *Projection) status(ctx context.Context, tx projections.Tx, id string, s booking.Status) error {
	err := tx.Write(ctx, `UPDATE `+tx.Table(Table)+` SET status = ? WHERE booking_id = ?`, string(s), id)
	return err
}

// FracNanos is the nanoseconds of t past its Unix millisecond (UnixMilli
// floors), 0 to 999999: with it a row keeps the instant whole.
func FracNanos(t time.Time) int64 { return int64(t.Nanosecond() % int(time.Millisecond)) }

// Instant is the instant a row's milliseconds and nanoseconds past them
// stand for, in UTC.
func Instant(ms, fracNanos int64) time.Time {
	return time.UnixMilli(ms).Add(time.Duration(fracNanos)).UTC()
}
