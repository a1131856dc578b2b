// Package memberships is the read model of who is in which user group: one
// row per (group, user) with the member's validity window, indexed both
// ways, so that a group's members, a user's groups and a user's groups at a
// property are each one range scan. Key maps read it too: Table holds only
// memberships that grant something (live group, live user); whatever the
// window says is left to the reader, who knows the instant it asks about.
package memberships

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Logical table names.
const (
	// Table holds the memberships: account_id, group_id, property_id,
	// user_id, valid_from, valid_until (TimeLayout text, NULL when open) and
	// position, the $all position of the event that first added the user
	// to the group; lists page on it, oldest membership first. A new
	// window keeps the position, and so does a member removed and added
	// again: a list walked meanwhile does not show them twice.
	Table = "memberships"
	// JoinedTable holds, per (group, user), the position the user first
	// joined the group at, kept when they leave, until the group is
	// deleted.
	JoinedTable = "membership_joined"
	// MarksTable holds, per group, the position of the last event applied
	// to its memberships, so a re-delivered older event changes nothing.
	MarksTable = "membership_marks"
	// OrphansTable has Table's columns and holds the memberships of
	// deleted users: the groups' streams still have them until the
	// deletion's cascade removes them, and the cascade finds them here.
	// They grant nothing, so Table stays what key maps need.
	OrphansTable = "membership_orphans"
	// DeletedUsersTable lists deleted users, so that a membership added
	// after the deletion (a race) becomes an orphan too.
	DeletedUsersTable = "membership_deleted_users"
)

// TimeLayout is how valid_from and valid_until are stored: RFC 3339 in UTC
// with a fixed nine-digit fraction, so text order is time order and
// `valid_from <= ?` compares instants.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTime is the stored form of an optional instant (nil: NULL).
func FormatTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(TimeLayout)
}

// ParseTime reads a stored instant back (NULL or "": nil).
func ParseTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	t, err := time.Parse(TimeLayout, s.String)
	if err != nil {
		return nil, fmt.Errorf("memberships: stored time %q: %w", s.String, err)
	}
	return &t, nil
}

// Projection keeps the memberships.
type Projection struct{}

// New returns the projection.
func New() *Projection { return &Projection{} }

// Name implements projections.Projection.
func (p *Projection) Name() string { return "memberships" }

// Version implements projections.Projection.
func (p *Projection) Version() int { return 2 }

// EventTypes implements projections.Projection.
func (p *Projection) EventTypes() []string {
	return []string{
		group.UserAddedToGroup{}.EventType(), group.UserGroupMembershipChanged{}.EventType(),
		group.UserRemovedFromGroup{}.EventType(), group.UserGroupDeleted{}.EventType(),
		user.UserDeleted{}.EventType(),
	}
}

// Tables implements projections.Projection.
func (p *Projection) Tables() []string {
	return []string{Table, OrphansTable, MarksTable, DeletedUsersTable, JoinedTable}
}

// Setup implements projections.Projection.
func (p *Projection) Setup(ctx context.Context, tx projections.Tx) error {
	t, orphans := tx.Table(Table), tx.Table(OrphansTable)
	marks, deleted, joined := tx.Table(MarksTable), tx.Table(DeletedUsersTable), tx.Table(JoinedTable)
	var stmts []string
	for _, name := range []string{t, orphans} {
		stmts = append(stmts, `CREATE TABLE IF NOT EXISTS `+name+` (
			account_id TEXT NOT NULL,
			group_id TEXT NOT NULL,
			property_id TEXT NOT NULL,
			user_id TEXT NOT NULL,
			valid_from TEXT,
			valid_until TEXT,
			position BIGINT NOT NULL,
			PRIMARY KEY (group_id, user_id)
		)`,
			`CREATE INDEX IF NOT EXISTS `+name+`_by_user ON `+name+` (account_id, user_id, position)`)
	}
	stmts = append(stmts,
		`CREATE INDEX IF NOT EXISTS `+t+`_by_group ON `+t+` (account_id, group_id, position)`,
		`CREATE INDEX IF NOT EXISTS `+t+`_by_user_property ON `+t+` (account_id, user_id, property_id, position)`,
		`CREATE TABLE IF NOT EXISTS `+marks+` (
			group_id TEXT PRIMARY KEY,
			position BIGINT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS `+deleted+` (
			user_id TEXT PRIMARY KEY,
			account_id TEXT NOT NULL,
			position BIGINT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS `+joined+` (
			group_id TEXT NOT NULL,
			user_id TEXT NOT NULL,
			position BIGINT NOT NULL,
			PRIMARY KEY (group_id, user_id)
		)`,
	)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("memberships setup: %w", err)
		}
	}
	return nil
}

// Apply implements projections.Projection. Every event is applied at most
// once: group events at or below the group's mark are skipped.
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	switch e := env.Event.(type) {
	case group.UserAddedToGroup:
		return onGroup(ctx, tx, e.UserGroupID, env, func() error {
			return upsert(ctx, tx, e.AccountID, e.UserGroupID, e.PropertyID, e.UserID, e.ValidFrom, e.ValidUntil, env.Position)
		})
	case group.UserGroupMembershipChanged:
		return onGroup(ctx, tx, e.UserGroupID, env, func() error {
			return upsert(ctx, tx, e.AccountID, e.UserGroupID, e.PropertyID, e.UserID, e.ValidFrom, e.ValidUntil, env.Position)
		})
	case group.UserRemovedFromGroup:
		return onGroup(ctx, tx, e.UserGroupID, env, func() error {
			return deleteFromBoth(ctx, tx, `group_id = ? AND user_id = ?`, e.UserGroupID.String(), e.UserID.String())
		})
	case group.UserGroupDeleted:
		return onGroup(ctx, tx, e.UserGroupID, env, func() error {
			if err := tx.Write(ctx, `DELETE FROM `+tx.Table(JoinedTable)+` WHERE group_id = ?`, e.UserGroupID.String()); err != nil {
				return err
			}
			return deleteFromBoth(ctx, tx, `group_id = ?`, e.UserGroupID.String())
		})
	case user.UserDeleted:
		if err := orphan(ctx, tx, e.AccountID, e.UserID, env.Position); err != nil {
			return fmt.Errorf("memberships: %s at %d: %w", env.Type, env.Position, err)
		}
	}
	return nil
}

// orphan records a user's deletion and moves their memberships to the
// orphans. Replayed, it changes nothing.
func orphan(ctx context.Context, tx projections.Tx, accountID, userID uuid.UUID, position uint64) error {
	if err := tx.Write(ctx, `INSERT INTO `+tx.Table(DeletedUsersTable)+` (user_id, account_id, position) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO NOTHING`, userID.String(), accountID.String(), int64(position)); err != nil {
		return err
	}
	cols := `account_id, group_id, property_id, user_id, valid_from, valid_until, position`
	if err := tx.Write(ctx, `INSERT INTO `+tx.Table(OrphansTable)+` (`+cols+`) SELECT `+cols+` FROM `+tx.Table(Table)+`
		WHERE account_id = ? AND user_id = ? ON CONFLICT (group_id, user_id) DO NOTHING`, accountID.String(), userID.String()); err != nil {
		return err
	}
	err := tx.Write(ctx, `DELETE FROM `+tx.Table(Table)+` WHERE account_id = ? AND user_id = ?`, accountID.String(), userID.String())
	return err
}

// deleteFromBoth ends memberships, live or orphaned, matching where.
func deleteFromBoth(ctx context.Context, tx projections.Tx, where string, args ...any) error {
	for _, t := range []string{Table, OrphansTable} {
		if err := tx.Write(ctx, `DELETE FROM `+tx.Table(t)+` WHERE `+where, args...); err != nil {
			return err
		}
	}
	return nil
}

// onGroup applies change unless the group's mark is at or past env, then
// moves the mark to env.
func onGroup(ctx context.Context, tx projections.Tx, groupID uuid.UUID, env eventstore.Envelope, change func() error) error {
	var mark int64
	err := tx.QueryRow(ctx, `SELECT position FROM `+tx.Table(MarksTable)+` WHERE group_id = ?`, groupID.String()).Scan(&mark)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("memberships: mark of %s: %w", groupID, err)
	case uint64(mark) >= env.Position:
		return nil
	}
	if err := change(); err != nil {
		return fmt.Errorf("memberships: %s at %d: %w", env.Type, env.Position, err)
	}
	err = tx.Write(ctx, `INSERT INTO `+tx.Table(MarksTable)+` (group_id, position) VALUES (?, ?)
		ON CONFLICT (group_id) DO UPDATE SET position = excluded.position`, groupID.String(), int64(env.Position))
	return err
}

// upsert adds a member or replaces a member's window; the membership takes
// the position the user first joined the group at, so one removed and
// added again comes back to their place in the lists, where a walk that
// passed them does not meet them again. A deleted user's membership is an
// orphan.
func upsert(ctx context.Context, tx projections.Tx, accountID, groupID, propertyID, userID uuid.UUID, from, until *time.Time, position uint64) error {
	table := Table
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM `+tx.Table(DeletedUsersTable)+` WHERE user_id = ?`, userID.String()).Scan(&one)
	switch {
	case err == nil:
		table = OrphansTable
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	joined := tx.Table(JoinedTable)
	if err := tx.Write(ctx, `INSERT INTO `+joined+` (group_id, user_id, position) VALUES (?, ?, ?)
		ON CONFLICT (group_id, user_id) DO NOTHING`, groupID.String(), userID.String(), int64(position)); err != nil {
		return err
	}
	var first int64
	if err := tx.QueryRow(ctx, `SELECT position FROM `+joined+` WHERE group_id = ? AND user_id = ?`,
		groupID.String(), userID.String()).Scan(&first); err != nil {
		return err
	}
	position = uint64(first)
	err = tx.Write(ctx, `INSERT INTO `+tx.Table(table)+` (account_id, group_id, property_id, user_id, valid_from, valid_until, position)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_id, user_id) DO UPDATE SET valid_from = excluded.valid_from, valid_until = excluded.valid_until`,
		accountID.String(), groupID.String(), propertyID.String(), userID.String(), FormatTime(from), FormatTime(until), int64(position))
	return err
}
