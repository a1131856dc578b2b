package queries

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections/bookings"
	"github.com/accessd/accessd/projections/keymaps"
)

// AccessCode is one code of a booking, without the code.
type AccessCode struct {
	AccessCodeID string    `json:"accessCodeId"`
	BookingID    string    `json:"bookingId"`
	AreaID       string    `json:"areaId"`
	ValidFrom    time.Time `json:"validFrom"`
	ValidUntil   time.Time `json:"validUntil"`
	State        string    `json:"state"`
	CreatedAt    time.Time `json:"createdAt"`
	propertyID   string
	position     uint64 // of its creation: the paging cursor
}

// PropertyID is the property of the code's booking.
func (c AccessCode) PropertyID() string { return c.propertyID }

const codeColumns = `access_code_id, booking_id, property_id, area_id, valid_from, valid_until, state, created_at, position`

func scanCode(sc interface{ Scan(...any) error }) (AccessCode, error) {
	var c AccessCode
	var from, until, created string
	var position int64
	if err := sc.Scan(&c.AccessCodeID, &c.BookingID, &c.propertyID, &c.AreaID, &from, &until, &c.State, &created, &position); err != nil {
		return c, err
	}
	c.position = uint64(position)
	var errs [3]error
	c.ValidFrom, errs[0] = time.Parse(bookings.TimeLayout, from)
	c.ValidUntil, errs[1] = time.Parse(bookings.TimeLayout, until)
	c.CreatedAt, errs[2] = time.Parse(bookings.TimeLayout, created)
	return c, errors.Join(errs[:]...)
}

// AccessCodes lists a booking's codes, oldest first; active only when
// activeOnly.
func (q *Bookings) AccessCodes(ctx context.Context, accountID, bookingID string, activeOnly bool) ([]AccessCode, error) {
	where, args := ``, []any{accountID, bookingID}
	if activeOnly {
		where, args = ` AND state = ?`, append(args, bookings.CodeActive)
	}
	return q.codes(ctx, where+` ORDER BY position`, args...)
}

// AccessCodesPage returns one page of a booking's codes, oldest first, and
// the token of the next page ("" on the last). The cursor is the position
// of a code's creation, which later events never change.
func (q *Bookings) AccessCodesPage(ctx context.Context, accountID, bookingID string, page Page) ([]AccessCode, string, error) {
	out, err := q.codes(ctx, ` AND position > ? ORDER BY position LIMIT ?`, accountID, bookingID, int64(page.After), page.Size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		next = page.Token(out[len(out)-1].position)
	}
	return out, next, nil
}

// codes lists the codes of the account's booking (the first two args)
// with the rest of the query appended.
func (q *Bookings) codes(ctx context.Context, rest string, args ...any) ([]AccessCode, error) {
	query := `SELECT ` + codeColumns + ` FROM ` + bookings.CodesTable + ` WHERE account_id = ? AND booking_id = ?` + rest
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("access codes: %w", err)
	}
	defer rows.Close()
	out := []AccessCode{}
	for rows.Next() {
		c, err := scanCode(rows)
		if err != nil {
			return nil, fmt.Errorf("access codes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AccessCode returns one code of the account.
func (q *Bookings) AccessCode(ctx context.Context, accountID, accessCodeID string) (AccessCode, error) {
	c, err := scanCode(q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT `+codeColumns+` FROM `+bookings.CodesTable+` WHERE account_id = ? AND access_code_id = ?`),
		accountID, accessCodeID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("access code %s: %w", accessCodeID, ErrEntityNotFound)
	}
	return c, err
}

// CodeInUse reports whether code is already active at a time overlapping
// [from, until) on one of the locks a code of the area would open: codes
// of the area, of its ancestors (their locks include the area's) and of
// its sub-areas (the area's code opens theirs), per the key-map read
// model's tree. Each candidate's salted hash is computed again with its
// salt.
func (q *Bookings) CodeInUse(ctx context.Context, accountID, areaID uuid.UUID, code string, from, until time.Time) (bool, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`WITH RECURSIVE
			up(area_id, depth) AS (SELECT CAST(? AS TEXT), 0 UNION ALL
				SELECT a.parent_id, up.depth + 1 FROM `+keymaps.TableAreas+` a JOIN up ON a.area_id = up.area_id WHERE a.parent_id <> '' AND up.depth < 256),
			down(area_id) AS (SELECT CAST(? AS TEXT) UNION SELECT a.area_id FROM `+keymaps.TableAreas+` a JOIN down ON a.parent_id = down.area_id)
		SELECT code_hash, salt FROM `+bookings.CodesTable+`
		WHERE (area_id IN (SELECT area_id FROM up) OR area_id IN (SELECT area_id FROM down))
			AND account_id = ? AND state = ? AND valid_from < ? AND valid_until > ?`),
		areaID.String(), areaID.String(), accountID.String(), bookings.CodeActive, bookings.FormatTime(until), bookings.FormatTime(from))
	if err != nil {
		return false, fmt.Errorf("code in use: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var hash, salt string
		if err := rows.Scan(&hash, &salt); err != nil {
			return false, fmt.Errorf("code in use: %w", err)
		}
		if h, err := CodeHash(salt, code); err == nil && h == hash {
			return true, nil
		}
	}
	return false, rows.Err()
}

// CodeHash is hex(sha256(salt || code)) for a hex salt, as key maps carry it.
func CodeHash(saltHex, code string) (string, error) {
	salt, err := hex.DecodeString(saltHex)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(salt, code...))
	return hex.EncodeToString(sum[:]), nil
}

// LockIDsUnder lists the live locks installed in an area or any of its
// sub-areas (the key-map read model's tree).
func (q *Bookings) LockIDsUnder(ctx context.Context, areaID string) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`WITH RECURSIVE tree(area_id) AS (
			SELECT CAST(? AS TEXT) UNION SELECT a.area_id FROM `+keymaps.TableAreas+` a JOIN tree ON a.parent_id = tree.area_id)
		SELECT l.lock_id FROM `+keymaps.TableLocks+` l JOIN tree ON l.area_id = tree.area_id WHERE l.deleted = 0 ORDER BY l.lock_id`), areaID)
	if err != nil {
		return nil, fmt.Errorf("locks under area: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SealedGuest is a registered guest with the sealed details.
type SealedGuest struct {
	GuestID      string
	Personal     string
	RegisteredAt time.Time
}

// Guests lists a booking's registered guests, first registered first.
func (q *Bookings) Guests(ctx context.Context, accountID, bookingID string) ([]SealedGuest, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT guest_id, personal, registered_at FROM `+bookings.GuestsTable+`
		WHERE account_id = ? AND booking_id = ? ORDER BY position`), accountID, bookingID)
	if err != nil {
		return nil, fmt.Errorf("guests: %w", err)
	}
	defer rows.Close()
	out := []SealedGuest{}
	for rows.Next() {
		var g SealedGuest
		var at string
		if err := rows.Scan(&g.GuestID, &g.Personal, &at); err != nil {
			return nil, fmt.Errorf("guests: %w", err)
		}
		if g.RegisteredAt, err = time.Parse(bookings.TimeLayout, at); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
