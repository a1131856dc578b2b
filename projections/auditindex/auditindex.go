// Package auditindex maps every event to the entities it concerns, so the
// audit queries read only the events of one lock, area, group or user
// instead of scanning the log.
//
// Two kinds of rows: KindAccess rows index the events that change who may
// open a lock, under the one id the point-in-time fold looks them up by
// (an area's events by area, memberships by group, devices by user, a
// lock's install by lock, a property's zone by property); KindMember rows
// index the membership events under the member's user id, so a refused
// decision can find the groups a user was in without reading the user's
// whole history; KindHistory rows index every event under the entity ids
// its payload names (Fields: lockId, userId, propertyId, guestUserId, ...),
// for the history exports. Two tables beside the index remember what a
// later event does not repeat: a booking's guest (BookingGuests), so the
// booking's check-in, cancellation or codes reach the guest's history,
// and the holder of each lock key claim (KeyHolders), so a take-over
// reaches the previous holder's history only within one account.
package auditindex

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Table is the logical name of the index table.
const Table = "audit_refs"

// BookingGuests maps a booking to its guest user (BookingCreated's
// guestUserId): the booking's later events name the booking only.
const BookingGuests = "audit_booking_guests"

// KeyHolders maps a lock key's claim stream to the lock and account that
// claimed it last, so a take-over (LockKeyClaimed with
// previousHolderLockId) is indexed under the previous holder only when
// both are of one account.
const KeyHolders = "audit_key_holders"

// Row kinds.
const (
	// KindAccess marks an access-relevant event under its lookup id.
	KindAccess = "a"
	// KindHistory marks any event under every id it names.
	KindHistory = "h"
	// KindMember marks a membership event (added, changed, removed)
	// under the member's user id.
	KindMember = "m"
)

// TimeLayout stores instants as fixed-width UTC text, so text order is
// time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Projection is the audit index.
type Projection struct{ types []string }

// New returns the index over every event type the registry knows.
func New(registry *eventstore.Registry) *Projection {
	return &Projection{types: registry.RecordTypes()}
}

// Name implements projections.Projection.
func (*Projection) Name() string { return "audit-index" }

// Lane implements projections.Laned: commands do not wait for this read
// model before answering; the caller's next request does.
func (*Projection) Lane() string { return projections.LaneDeferred }

// Version implements projections.Projection.
// Version 4 added the KindMember rows; version 5 the history rows of
// guestUserId, holderLockId and previousHolderLockId, and of a booking's
// events under its guest (BookingGuests, KeyHolders).
func (*Projection) Version() int { return 5 }

// EventTypes implements projections.Projection.
func (p *Projection) EventTypes() []string { return p.types }

// Tables implements projections.Projection.
func (*Projection) Tables() []string { return []string{Table, BookingGuests, KeyHolders} }

// Setup implements projections.Projection: rows are appended in log
// order; the index that the audit reads by is built apart (Indexes), so a
// rebuild appends and then sorts once instead of inserting every row at a
// random place in a b-tree.
func (*Projection) Setup(ctx context.Context, tx projections.Tx) error {
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table(Table)+` (entity_id TEXT NOT NULL, kind TEXT NOT NULL,
		recorded_at TEXT NOT NULL, position BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("audit index setup: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table(BookingGuests)+` (booking_id TEXT PRIMARY KEY,
		guest_user_id TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("audit index setup: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table(KeyHolders)+` (stream TEXT PRIMARY KEY,
		lock_id TEXT NOT NULL, account_id TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("audit index setup: %w", err)
	}
	return nil
}

// Indexes implements projections.Indexed. The key orders an entity's rows
// by time, which both the point-in-time lookup (up to an instant) and the
// history pages (a range, then onwards) read; it covers every column, so
// those reads never visit the table.
func (*Projection) Indexes(tx projections.Tx) []string {
	t := tx.Table(Table)
	return []string{`CREATE UNIQUE INDEX IF NOT EXISTS ` + t + `_by_entity ON ` + t + ` (entity_id, kind, recorded_at, position)`}
}

// AccessTypes are the event types that change who may open a lock: the
// ones the point-in-time fold applies.
var AccessTypes = []string{
	property.PropertyCreated{}.EventType(), property.PropertyUpdated{}.EventType(),
	area.AreaCreated{}.EventType(), area.AreaMoved{}.EventType(), area.AreaAccessListChanged{}.EventType(), area.AreaDeleted{}.EventType(),
	group.UserAddedToGroup{}.EventType(), group.UserGroupMembershipChanged{}.EventType(),
	group.UserRemovedFromGroup{}.EventType(), group.UserGroupDeleted{}.EventType(),
	device.UserDeviceProvisioned{}.EventType(), device.UserDeviceKeysRotated{}.EventType(), device.UserDeviceDeprovisioned{}.EventType(),
	lock.LockProvisioned{}.EventType(), lock.LockInstalled{}.EventType(), lock.LockUninstalled{}.EventType(), lock.LockDeprovisioned{}.EventType(),
}

// AccessKeys are the ids an access-relevant event is looked up by; none
// for any other event. An access code's events are found by its area (the
// fold of a lock in that area meets them) and by its booking (a booking
// moved to another area takes its codes along, so the fold follows the
// booking to its codes' other events).
func AccessKeys(ev any) []uuid.UUID {
	switch e := ev.(type) {
	case booking.AccessCodeCreated:
		return []uuid.UUID{e.AreaID, e.BookingID}
	case booking.AccessCodeRevoked:
		return []uuid.UUID{e.AreaID, e.BookingID}
	case booking.BookingRescheduled:
		return []uuid.UUID{e.AreaID, e.BookingID}
	}
	if id := accessKey(ev); id != uuid.Nil {
		return []uuid.UUID{id}
	}
	return nil
}

// accessKey is the one id other access-relevant events are looked up by.
func accessKey(ev any) uuid.UUID {
	switch e := ev.(type) {
	case property.PropertyCreated:
		return e.PropertyID
	case property.PropertyUpdated:
		return e.PropertyID
	case area.AreaCreated:
		return e.AreaID
	case area.AreaMoved:
		return e.AreaID
	case area.AreaAccessListChanged:
		return e.AreaID
	case area.AreaDeleted:
		return e.AreaID
	case group.UserAddedToGroup:
		return e.UserGroupID
	case group.UserGroupMembershipChanged:
		return e.UserGroupID
	case group.UserRemovedFromGroup:
		return e.UserGroupID
	case group.UserGroupDeleted:
		return e.UserGroupID
	case device.UserDeviceProvisioned:
		return e.UserID
	case device.UserDeviceKeysRotated:
		return e.UserID
	case device.UserDeviceDeprovisioned:
		return e.UserID
	case lock.LockProvisioned:
		return e.LockID
	case lock.LockInstalled:
		return e.LockID
	case lock.LockUninstalled:
		return e.LockID
	case lock.LockDeprovisioned:
		return e.LockID
	}
	return uuid.Nil
}

// MemberKey is the user a membership event is about, looked up by with
// KindMember; uuid.Nil for any other event. A group's deletion names no
// user: the fold reads it under the group (KindAccess).
func MemberKey(ev any) uuid.UUID {
	switch e := ev.(type) {
	case group.UserAddedToGroup:
		return e.UserID
	case group.UserGroupMembershipChanged:
		return e.UserID
	case group.UserRemovedFromGroup:
		return e.UserID
	}
	return uuid.Nil
}

// Fields are the payload fields naming the entities a history can be
// asked for, or that an audit looks events up by: a booking names its
// guest guestUserId, a lock key's claim and release name the lock
// holderLockId. (A take-over's previousHolderLockId is indexed apart:
// see Apply.)
var Fields = []string{"propertyId", "areaId", "lockId", "userGroupId", "userId", "userDeviceId", "bookingId", "accessCodeId",
	"guestUserId", "holderLockId"}

// IDs returns the ids a payload names: every top-level field ending in
// "Id" whose value is a uuid, but the account's. Keys are the field names.
func IDs(raw json.RawMessage) map[string]uuid.UUID {
	return IDsOf(eventstore.SplitFields(raw))
}

// IDsOf is IDs of a payload already split into its fields.
func IDsOf(fields map[string]json.RawMessage) map[string]uuid.UUID {
	if fields == nil {
		return nil
	}
	out := map[string]uuid.UUID{}
	for k, v := range fields {
		if !strings.HasSuffix(k, "Id") || k == "accountId" || len(v) != 38 || v[0] != '"' {
			continue
		}
		if u, err := uuid.ParseBytes(v[1 : len(v)-1]); err == nil && u != uuid.Nil {
			out[k] = u
		}
	}
	return out
}

// Apply implements projections.Projection: one multi-row insert per event,
// an access row, a member row for a membership event, and a history row
// per entity id of Fields it names, for the guest of the booking it names,
// and for the lock whose key claim it took over (same account only).
func (*Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	at := env.RecordedAt.UTC().Format(TimeLayout)
	pos := int64(env.Position)
	ids := IDsOf(env.Fields())
	history := make([]uuid.UUID, 0, len(Fields)+2)
	for _, f := range Fields {
		if id, ok := ids[f]; ok {
			history = append(history, id)
		}
	}
	guest, err := bookingGuest(ctx, tx, ids)
	if err != nil {
		return err
	}
	previous, err := keyHolderTakenOver(ctx, tx, env, ids)
	if err != nil {
		return err
	}
	history = append(history, guest, previous)
	var args []any
	seen := map[uuid.UUID]bool{uuid.Nil: true}
	for _, id := range history {
		if !seen[id] {
			seen[id] = true
			args = append(args, id.String(), KindHistory, pos, at)
		}
	}
	if env.Known {
		for _, id := range AccessKeys(env.Event) {
			args = append(args, id.String(), KindAccess, pos, at)
		}
		if id := MemberKey(env.Event); id != uuid.Nil {
			args = append(args, id.String(), KindMember, pos, at)
		}
	}
	if len(args) == 0 {
		return nil
	}
	q := `INSERT INTO ` + tx.Table(Table) + ` (entity_id, kind, position, recorded_at) VALUES (?, ?, ?, ?)` +
		strings.Repeat(`, (?, ?, ?, ?)`, len(args)/4-1) + ` ON CONFLICT DO NOTHING`
	return tx.Write(ctx, q, args...)
}

// bookingGuest is the guest user of the booking an event names, for the
// events that do not name the guest themselves (uuid.Nil: none, or a
// guest given by name). The booking's creation records it. A batch's
// transaction keeps what it read or wrote in its memo.
func bookingGuest(ctx context.Context, tx projections.Tx, ids map[string]uuid.UUID) (uuid.UUID, error) {
	booking, ok := ids["bookingId"]
	if !ok {
		return uuid.Nil, nil
	}
	memo := tx.Memo("audit-booking-guests")
	if guest, ok := ids["guestUserId"]; ok {
		if known, ok := memo[booking.String()].(uuid.UUID); ok && known == guest {
			return guest, nil
		}
		err := tx.Write(ctx, `INSERT INTO `+tx.Table(BookingGuests)+` (booking_id, guest_user_id) VALUES (?, ?)
			ON CONFLICT (booking_id) DO NOTHING`, booking.String(), guest.String())
		if err != nil {
			return uuid.Nil, fmt.Errorf("audit index: booking guest: %w", err)
		}
		if memo != nil {
			memo[booking.String()] = guest
		}
		return guest, nil
	}
	if known, ok := memo[booking.String()].(uuid.UUID); ok {
		return known, nil
	}
	var raw string
	err := tx.QueryRow(ctx, `SELECT guest_user_id FROM `+tx.Table(BookingGuests)+` WHERE booking_id = ?`, booking.String()).Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("audit index: booking guest: %w", err)
	}
	guest, _ := uuid.Parse(raw) // uuid.Nil when none
	if memo != nil {
		memo[booking.String()] = guest
	}
	return guest, nil
}

// keyHolderTakenOver records the holder of a lock key claim and, for a
// claim that took the key over from another lock (previousHolderLockId),
// returns that lock when it was claimed by the same account; uuid.Nil
// otherwise. A take-over by another account stays out of the previous
// holder's history: its ids are that other account's.
func keyHolderTakenOver(ctx context.Context, tx projections.Tx, env eventstore.Envelope, ids map[string]uuid.UUID) (uuid.UUID, error) {
	if env.Type != (lock.LockKeyClaimed{}).EventType() {
		return uuid.Nil, nil
	}
	holder, account := ids["holderLockId"], ids["holderAccountId"]
	if holder == uuid.Nil || account == uuid.Nil {
		return uuid.Nil, nil
	}
	var out uuid.UUID
	if previous, ok := ids["previousHolderLockId"]; ok {
		var lockID, accountID string
		err := tx.QueryRow(ctx, `SELECT lock_id, account_id FROM `+tx.Table(KeyHolders)+` WHERE stream = ?`, env.Stream).Scan(&lockID, &accountID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return uuid.Nil, fmt.Errorf("audit index: key holder: %w", err)
		}
		if lockID == previous.String() && accountID == account.String() {
			out = previous
		}
	}
	err := tx.Write(ctx, `INSERT INTO `+tx.Table(KeyHolders)+` (stream, lock_id, account_id) VALUES (?, ?, ?)
		ON CONFLICT (stream) DO UPDATE SET lock_id = excluded.lock_id, account_id = excluded.account_id`,
		env.Stream, holder.String(), account.String())
	if err != nil {
		return uuid.Nil, fmt.Errorf("audit index: key holder: %w", err)
	}
	return out, nil
}

// FormatTime is t as the index stores it.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }
