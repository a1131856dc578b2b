// Package bookings is the read model of bookings: one row per booking with
// the columns lists filter on (property, area, status, start, end) and the
// booking's JSON document, plus their access codes and guests. The same
// rows are the scheduler's due list: a booked row is due for noCheckIn at
// no_check_in_at (start plus the property's grace period), or for a door
// check-in once a granted door opening was seen (door_access_at); a
// checkedIn row is due for completion at its end. The scheduler reads them, so what is due survives restarts
// with the read model.
package bookings

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Table holds the bookings.
const Table = "bookings"

// TimeLayout is how start_at and end_at are stored: text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTime is the stored form of an instant.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Guest is the guest part of a booking document: the guest user, or the
// guest registered by name with the booking (details in the check-in
// snapshot).
type Guest struct {
	UserID  string `json:"userId,omitempty"`
	GuestID string `json:"guestId,omitempty"`
}

// Document is the output of GET /bookings/{bookingId}.
type Document struct {
	BookingID     string    `json:"bookingId"`
	PropertyID    string    `json:"propertyId"`
	AreaID        string    `json:"areaId"`
	Guest         Guest     `json:"guest"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
	Status        string    `json:"status"`
	Source        string    `json:"source"`
	// ExternalRefs: [] when the booking has none.
	ExternalRefs   []domain.ExternalRef `json:"externalRefs"`
	CheckedInAt    *time.Time           `json:"checkedInAt,omitempty"`
	CheckInMethod  string               `json:"checkInMethod,omitempty"`
	CheckedInBy    string               `json:"checkedInBy,omitempty"`
	CheckedOutAt   *time.Time           `json:"checkedOutAt,omitempty"`
	CheckOutMethod string               `json:"checkOutMethod,omitempty"`
	// CheckOutReason: why a stay was ended with no one checking out
	// (userDeleted: its guest user was deleted); absent otherwise.
	CheckOutReason     string     `json:"checkOutReason,omitempty"`
	CancelledAt        *time.Time `json:"cancelledAt,omitempty"`
	CancellationReason string     `json:"cancellationReason,omitempty"`
	EndedAt            *time.Time `json:"endedAt,omitempty"`
	CreatedAt          time.Time  `json:"createdAt"`
	LastModifiedAt     time.Time  `json:"lastModifiedAt"`
	LastModifiedBy     string     `json:"lastModifiedBy,omitempty"`
}

// Projection keeps the bookings.
type Projection struct{}

// New returns the projection.
func New() *Projection { return &Projection{} }

// Name implements projections.Projection.
func (p *Projection) Name() string { return "bookings" }

// Version implements projections.Projection. Version 3: a check-in that
// names nobody (a guest by name) leaves checkedInBy out rather than the
// nil UUID, and documents carry externalRefs.
func (p *Projection) Version() int { return 3 }

// EventTypes implements projections.Projection.
func (p *Projection) EventTypes() []string {
	var out []string
	for _, e := range booking.Events() {
		out = append(out, e.EventType())
	}
	return append(out, lock.LockAccessLogged{}.EventType(), property.PropertyCreated{}.EventType(), property.PropertyUpdated{}.EventType())
}

// Tables implements projections.Projection.
func (p *Projection) Tables() []string {
	return []string{Table, CodesTable, GuestsTable, SettingsTable}
}

// Setup implements projections.Projection.
func (p *Projection) Setup(ctx context.Context, tx projections.Tx) error {
	t := tx.Table(Table)
	for _, s := range []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			booking_id TEXT PRIMARY KEY,
			account_id TEXT NOT NULL,
			property_id TEXT NOT NULL,
			area_id TEXT NOT NULL,
			guest_user_id TEXT NOT NULL,
			status TEXT NOT NULL,
			start_at TEXT NOT NULL,
			end_at TEXT NOT NULL,
			door_access_at TEXT NOT NULL DEFAULT '',
			opens_at TEXT NOT NULL DEFAULT '',
			no_check_in_at TEXT NOT NULL DEFAULT '',
			position BIGINT NOT NULL,
			applied BIGINT NOT NULL,
			doc TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_property ON ` + t + ` (account_id, property_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_account ON ` + t + ` (account_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_area ON ` + t + ` (area_id, start_at)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_status_start ON ` + t + ` (status, start_at)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_status_end ON ` + t + ` (status, end_at)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_status_no_check_in ON ` + t + ` (status, no_check_in_at)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_guest_user ON ` + t + ` (account_id, guest_user_id, booking_id)`,
	} {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("bookings setup: %w", err)
		}
	}
	if err := setupCodes(ctx, tx); err != nil {
		return fmt.Errorf("bookings setup: %w", err)
	}
	if err := setupGuests(ctx, tx); err != nil {
		return fmt.Errorf("bookings setup: %w", err)
	}
	if err := setupSettings(ctx, tx); err != nil {
		return fmt.Errorf("bookings setup: %w", err)
	}
	return nil
}

type row struct {
	accountID, propertyID, areaID, guestID string
	position, applied                      uint64
	doc                                    Document
}

func load(ctx context.Context, tx projections.Tx, id string) (row, bool, error) {
	var r row
	var raw string
	var pos, applied int64
	err := tx.QueryRow(ctx, `SELECT account_id, property_id, area_id, guest_user_id, position, applied, doc FROM `+tx.Table(Table)+` WHERE booking_id = ?`, id).
		Scan(&r.accountID, &r.propertyID, &r.areaID, &r.guestID, &pos, &applied, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("load booking %s: %w", id, err)
	}
	r.position, r.applied = uint64(pos), uint64(applied)
	if err := json.Unmarshal([]byte(raw), &r.doc); err != nil {
		return r, false, fmt.Errorf("load booking %s: %w", id, err)
	}
	return r, true, nil
}

func save(ctx context.Context, tx projections.Tx, r row) error {
	raw, err := json.Marshal(r.doc)
	if err != nil {
		return err
	}
	set, err := settingsOf(ctx, tx, r.propertyID)
	if err != nil {
		return err
	}
	opens, noCheckIn := windowOf(set, r.doc.StartDateTime)
	err = tx.Write(ctx, `INSERT INTO `+tx.Table(Table)+` (booking_id, account_id, property_id, area_id, guest_user_id, status, start_at, end_at, opens_at, no_check_in_at, position, applied, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (booking_id) DO UPDATE SET area_id = excluded.area_id, status = excluded.status,
			start_at = excluded.start_at, end_at = excluded.end_at, opens_at = excluded.opens_at, no_check_in_at = excluded.no_check_in_at,
			applied = excluded.applied, doc = excluded.doc`,
		r.doc.BookingID, r.accountID, r.propertyID, r.doc.AreaID, r.guestID, r.doc.Status,
		FormatTime(r.doc.StartDateTime), FormatTime(r.doc.EndDateTime), opens, noCheckIn, int64(r.position), int64(r.applied), string(raw))
	if err != nil {
		return fmt.Errorf("save booking %s: %w", r.doc.BookingID, err)
	}
	return nil
}

// Apply implements projections.Projection.
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	if done, err := applyCode(ctx, tx, env); done || err != nil {
		return err
	}
	if done, err := applyGuest(ctx, tx, env); done || err != nil {
		return err
	}
	if done, err := applyDoor(ctx, tx, env); done || err != nil {
		return err
	}
	if done, err := applySettings(ctx, tx, env); done || err != nil {
		return err
	}
	at := env.Metadata.OccurredAt.UTC()
	if e, ok := env.Event.(booking.BookingCreated); ok {
		if _, found, err := load(ctx, tx, e.BookingID.String()); err != nil || found {
			return err // a re-delivered creation must not undo later changes
		}
		return save(ctx, tx, row{
			accountID: e.AccountID.String(), propertyID: e.PropertyID.String(), guestID: idOrEmpty(e.GuestUserID),
			position: env.Position, applied: env.Position,
			doc: Document{
				BookingID: e.BookingID.String(), PropertyID: e.PropertyID.String(), AreaID: e.AreaID.String(),
				Guest: Guest{UserID: idOrEmpty(e.GuestUserID), GuestID: idOrEmpty(e.GuestID)}, StartDateTime: e.StartDateTime.UTC(), EndDateTime: e.EndDateTime.UTC(),
				Status: string(booking.StatusBooked), Source: string(e.Source),
				ExternalRefs: append([]domain.ExternalRef{}, e.ExternalRefs...),
				CreatedAt:    at, LastModifiedAt: at, LastModifiedBy: env.Metadata.APIKeyID,
			},
		})
	}
	var id string
	var change func(*Document)
	switch e := env.Event.(type) {
	case booking.BookingRescheduled:
		id = e.BookingID.String()
		change = func(d *Document) {
			d.AreaID, d.StartDateTime, d.EndDateTime = e.AreaID.String(), e.StartDateTime.UTC(), e.EndDateTime.UTC()
		}
	case booking.BookingCheckedIn:
		id = e.BookingID.String()
		change = func(d *Document) {
			t := e.At.UTC()
			// A guest by name checked in with no userId names nobody. A
			// check-in undoing noCheckIn clears when that ended the booking.
			d.Status, d.CheckedInAt, d.CheckInMethod, d.CheckedInBy = string(booking.StatusCheckedIn), &t, string(e.Method), idOrEmpty(e.UserID)
			d.EndedAt = nil
		}
	case booking.BookingCheckedOut:
		id = e.BookingID.String()
		change = func(d *Document) {
			t := e.At.UTC()
			d.Status, d.CheckedOutAt, d.CheckOutMethod, d.CheckOutReason = string(booking.StatusCheckedOut), &t, string(e.Method), string(e.Reason)
		}
	case booking.BookingCancelled:
		id = e.BookingID.String()
		change = func(d *Document) {
			t := e.At.UTC()
			d.Status, d.CancelledAt, d.CancellationReason = string(booking.StatusCancelled), &t, string(e.Reason)
		}
	case booking.BookingNoCheckInRecorded:
		id = e.BookingID.String()
		change = func(d *Document) {
			t := e.At.UTC()
			d.Status, d.EndedAt = string(booking.StatusNoCheckIn), &t
		}
	case booking.BookingCompleted:
		id = e.BookingID.String()
		change = func(d *Document) {
			t := e.At.UTC()
			d.Status, d.EndedAt = string(booking.StatusCompleted), &t
		}
	default:
		return nil
	}
	r, found, err := load(ctx, tx, id)
	if err != nil || !found || env.Position <= r.applied {
		return err
	}
	change(&r.doc)
	r.applied = env.Position
	r.doc.LastModifiedAt, r.doc.LastModifiedBy = at, env.Metadata.APIKeyID
	return save(ctx, tx, r)
}

func idOrEmpty(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
