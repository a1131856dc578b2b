package queries

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections/bookings"
	"github.com/accessd/accessd/projections/entities"
)

// The readers of the cascade of a user's deletion. The cascade consults
// them after the read models have reached the deletion (DeleteUser waits
// for that before it lists the user's devices), so they see everything
// recorded before it.

// PropertiesWithInvitations lists, in id order, the properties of the
// account that hold an invitation, whatever its status (pending,
// withdrawn, accepted) and whether or not the property is deleted since:
// where a deleted user's invitations may be, or may have been withdrawn
// by a deletion interrupted before it erased their e-mails
// (commands.InvitationProperties).
func (q *Entities) PropertiesWithInvitations(ctx context.Context, accountID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT DISTINCT property_id FROM `+entities.Table+`
		WHERE kind = ? AND account_id = ? ORDER BY property_id`), entities.KindInvitation, accountID.String())
	if err != nil {
		return nil, fmt.Errorf("properties with invitations: %w", err)
	}
	return scanIDs(rows, "properties with invitations")
}

// PropertiesOfMember lists, in id order, the properties of the account
// where the user is a member (commands.InvitationProperties): where a
// deleted user's memberships are, whatever their grants say now (a PUT
// /users may have taken a membership's grants away, not the membership).
func (q *Entities) PropertiesOfMember(ctx context.Context, accountID, userID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT property_id FROM `+entities.Table+`
		WHERE kind = ? AND account_id = ? AND parent_id = ? AND state = ? ORDER BY property_id`),
		entities.KindMember, accountID.String(), userID.String(), entities.StateActive)
	if err != nil {
		return nil, fmt.Errorf("properties of member: %w", err)
	}
	return scanIDs(rows, "properties of member")
}

// BookingsWithGuestsOfGuestUser lists, in booking id order after the
// given one, up to limit bookings of the account whose guest is the user
// and that have guests registered (erased ones included), whatever their
// status or dates (commands.GuestsOfGuestUser).
func (q *Bookings) BookingsWithGuestsOfGuestUser(ctx context.Context, accountID, userID, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT b.booking_id FROM `+bookings.Table+` b
		WHERE b.account_id = ? AND b.guest_user_id = ? AND b.booking_id > ?
			AND EXISTS (SELECT 1 FROM `+bookings.GuestsTable+` g WHERE g.booking_id = b.booking_id)
		ORDER BY b.booking_id LIMIT ?`), accountID.String(), userID.String(), after.String(), limit)
	if err != nil {
		return nil, fmt.Errorf("bookings with guests of guest user: %w", err)
	}
	return scanIDs(rows, "bookings with guests of guest user")
}

// scanIDs reads one column of ids and closes the rows.
func scanIDs(rows *sql.Rows, what string) ([]uuid.UUID, error) {
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		id, err := uuid.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: id %q: %w", what, raw, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
