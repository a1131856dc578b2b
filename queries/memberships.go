package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/memberships"
)

// Memberships reads who is in which user group. Lists page on the position
// a membership began at, oldest first, so members added while a caller
// pages come after every page already read.
type Memberships struct {
	db *projections.DB
}

// NewMemberships returns a reader over the memberships read model.
func NewMemberships(db *projections.DB) *Memberships { return &Memberships{db: db} }

// Memberships returns a reader over the memberships kept in the same
// read-model database as the entities.
func (q *Entities) Memberships() *Memberships { return &Memberships{db: q.db} }

// Member is one entry of a group's member list: the user, their name when
// the user is known, and the membership's window (nil ends are open).
type Member struct {
	UserID      string     `json:"userId"`
	DisplayName string     `json:"displayName,omitempty"`
	ValidFrom   *time.Time `json:"validFrom,omitempty"`
	ValidUntil  *time.Time `json:"validUntil,omitempty"`
	position    uint64
}

// UsersOfGroup returns one page of a group's members, oldest membership
// first, and the token of the next page ("" on the last). The caller
// checks that the group is the account's.
func (q *Memberships) UsersOfGroup(ctx context.Context, accountID, groupID string, page Page) ([]Member, string, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT m.user_id, m.valid_from, m.valid_until, m.position, u.public
		FROM `+memberships.Table+` m
		LEFT JOIN `+entities.Table+` u ON u.kind = ? AND u.id = m.user_id AND u.account_id = m.account_id AND u.state <> ?
		WHERE m.account_id = ? AND m.group_id = ? AND m.position > ?
		ORDER BY m.position LIMIT ?`),
		entities.KindUser, entities.StateDeleted, accountID, groupID, int64(page.After), page.Size+1)
	if err != nil {
		return nil, "", fmt.Errorf("users of group: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		var from, until, doc sql.NullString
		var pos int64
		if err := rows.Scan(&m.UserID, &from, &until, &pos, &doc); err != nil {
			return nil, "", fmt.Errorf("users of group: %w", err)
		}
		if m.ValidFrom, err = memberships.ParseTime(from); err != nil {
			return nil, "", err
		}
		if m.ValidUntil, err = memberships.ParseTime(until); err != nil {
			return nil, "", err
		}
		if doc.Valid {
			var u struct {
				DisplayName string `json:"displayName"`
			}
			if err := json.Unmarshal([]byte(doc.String), &u); err != nil {
				return nil, "", fmt.Errorf("users of group: user %s: %w", m.UserID, err)
			}
			m.DisplayName = u.DisplayName
		}
		m.position = uint64(pos)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("users of group: %w", err)
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		next = page.Token(out[len(out)-1].position)
	}
	return out, next, nil
}

// GroupsFilter narrows a user's groups. Empty fields match all.
type GroupsFilter struct {
	PropertyID string
	// PropertyIDs limits the list to these properties (a property-scoped
	// caller); nil means every property.
	PropertyIDs []string
}

// GroupsOfUser returns one page of the live group documents a user is a
// member of, oldest membership first, and the token of the next page.
func (q *Memberships) GroupsOfUser(ctx context.Context, accountID, userID string, f GroupsFilter, page Page) ([]Document, string, error) {
	query := `SELECT m.position, g.id, g.property_id, g.parent_id, g.position, g.state, g.public
		FROM ` + memberships.Table + ` m
		JOIN ` + entities.Table + ` g ON g.kind = ? AND g.id = m.group_id AND g.account_id = m.account_id
		WHERE m.account_id = ? AND m.user_id = ? AND g.state <> ? AND m.position > ?
		AND NOT EXISTS (SELECT 1 FROM ` + entities.Table + ` p WHERE p.kind = ? AND p.id = g.property_id AND p.state = ?)`
	// The groups of a deleted property are gone with it.
	args := []any{entities.KindGroup, accountID, userID, entities.StateDeleted, int64(page.After), entities.KindProperty, entities.StateDeleted}
	if f.PropertyID != "" {
		query += ` AND m.property_id = ?`
		args = append(args, f.PropertyID)
	}
	if f.PropertyIDs != nil {
		if len(f.PropertyIDs) == 0 {
			return nil, "", nil
		}
		query += ` AND m.property_id IN (?` + strings.Repeat(",?", len(f.PropertyIDs)-1) + `)`
		for _, p := range f.PropertyIDs {
			args = append(args, p)
		}
	}
	query += ` ORDER BY m.position LIMIT ?`
	args = append(args, page.Size+1)
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("groups of user: %w", err)
	}
	defer rows.Close()
	var out []Document
	var cursors []uint64
	for rows.Next() {
		d := Document{Row: entities.Row{Kind: entities.KindGroup, AccountID: accountID}}
		var cursor, pos int64
		var raw string
		if err := rows.Scan(&cursor, &d.ID, &d.PropertyID, &d.ParentID, &pos, &d.State, &raw); err != nil {
			return nil, "", fmt.Errorf("groups of user: %w", err)
		}
		d.Position, d.JSON = uint64(pos), json.RawMessage(raw)
		out = append(out, d)
		cursors = append(cursors, uint64(cursor))
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("groups of user: %w", err)
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		next = page.Token(cursors[page.Size-1])
	}
	return out, next, nil
}

// GroupIDsOfUser lists every group whose stream still has the user as a
// member, oldest membership first: the live memberships and, for a deleted
// user, the orphaned ones its deletion's cascade ends.
func (q *Memberships) GroupIDsOfUser(ctx context.Context, accountID, userID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT group_id, position FROM `+memberships.Table+`
		WHERE account_id = ? AND user_id = ?
		UNION ALL SELECT group_id, position FROM `+memberships.OrphansTable+`
		WHERE account_id = ? AND user_id = ? ORDER BY position`),
		accountID.String(), userID.String(), accountID.String(), userID.String())
	if err != nil {
		return nil, fmt.Errorf("group ids of user: %w", err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var raw string
		var pos int64
		if err := rows.Scan(&raw, &pos); err != nil {
			return nil, fmt.Errorf("group ids of user: %w", err)
		}
		id, err := uuid.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("group ids of user: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
