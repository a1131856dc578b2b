package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/auditindex"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/keymaps"
)

// Audit answers the auditors' questions from the log itself: who could
// open a lock at an instant and why, and the history of a lock, user or
// property. It reads only the events projections/auditindex lists for the
// entities involved, never the whole log.
type Audit struct {
	db       *projections.DB
	store    eventstore.Store
	registry *eventstore.Registry
}

// NewAudit returns the audit queries, refusing nil dependencies.
func NewAudit(db *projections.DB, store eventstore.Store, registry *eventstore.Registry) (*Audit, error) {
	if db == nil || store == nil || registry == nil {
		return nil, errors.New("queries: audit needs a read-model database, an event store and a registry")
	}
	return &Audit{db: db, store: store, registry: registry}, nil
}

// Known checks that the entity of kind is, or was, the account's, and
// returns the property it is in (empty: none). Unlike Entities.Get it
// finds a deleted one too, whose history the log keeps (a deleted user's,
// property's or lock's). Another account's, or an id never seen, is
// ErrEntityNotFound.
func (a *Audit) Known(ctx context.Context, kind string, accountID, id uuid.UUID) (string, error) {
	var account, propertyID string
	err := a.db.QueryRowContext(ctx, a.db.Dialect.Rebind(`SELECT account_id, property_id FROM `+entities.Table+` WHERE kind = ? AND id = ?`),
		kind, id.String()).Scan(&account, &propertyID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && account != accountID.String()) {
		return "", fmt.Errorf("%s %s: %w", kind, id, ErrEntityNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("audit %s: %w", kind, err)
	}
	return propertyID, nil
}

// auditFold folds the events of a growing set of entities up to an
// instant, reading each event once.
type auditFold struct {
	a       *Audit
	at      string
	fetched map[uuid.UUID]bool
	events  map[uint64]*eventstore.Envelope
	facts   *auditFacts
	// after are hypothetical events folded after the real ones (what-if);
	// real events at or past position until (0: none) are left out, as
	// they came after the copy the hypothetical ones were decided on.
	after []*eventstore.Envelope
	until uint64
}

func (a *Audit) newFold(at time.Time) *auditFold {
	return &auditFold{a: a, at: auditindex.FormatTime(at), fetched: map[uuid.UUID]bool{},
		events: map[uint64]*eventstore.Envelope{}, facts: newAuditFacts()}
}

// grow reads the access events of the ids not read yet and folds again;
// false when there was nothing new.
func (f *auditFold) grow(ctx context.Context, ids []uuid.UUID) (bool, error) {
	var fresh []string
	for _, id := range ids {
		if id != uuid.Nil && !f.fetched[id] {
			f.fetched[id] = true
			fresh = append(fresh, id.String())
		}
	}
	if len(fresh) == 0 {
		return false, nil
	}
	positions, err := f.a.accessPositions(ctx, fresh, f.at)
	if err != nil {
		return false, err
	}
	var missing []uint64
	for _, p := range positions {
		if f.events[p] == nil && (f.until == 0 || p < f.until) {
			missing = append(missing, p)
		}
	}
	envs, err := f.a.readPositions(ctx, missing)
	if err != nil {
		return false, err
	}
	for _, env := range envs {
		f.events[env.Position] = env
	}
	f.refold()
	return true, nil
}

// refold folds the events read so far in log order, then the hypothetical
// ones.
func (f *auditFold) refold() {
	all := make([]uint64, 0, len(f.events))
	for p := range f.events {
		all = append(all, p)
	}
	slices.Sort(all)
	f.facts = newAuditFacts()
	for _, p := range all {
		f.facts.apply(f.events[p])
	}
	for _, env := range f.after {
		f.facts.apply(env)
	}
}

// foldLock folds everything the lock's key map at the instant depends on.
func (f *auditFold) foldLock(ctx context.Context, lockID uuid.UUID, extra ...uuid.UUID) error {
	for range auditMaxDepth + 8 {
		more, err := f.grow(ctx, append(f.facts.needs(lockID), extra...))
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// accessPositions lists the positions of the access events of ids
// recorded at or before at, in order.
func (a *Audit) accessPositions(ctx context.Context, ids []string, at string) ([]uint64, error) {
	var out []uint64
	for chunk := range slices.Chunk(ids, 200) {
		args := []any{auditindex.KindAccess}
		for _, id := range chunk {
			args = append(args, id)
		}
		args = append(args, at)
		rows, err := a.db.QueryContext(ctx, a.db.Dialect.Rebind(`SELECT position FROM `+auditindex.Table+
			` WHERE kind = ? AND entity_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`) AND recorded_at <= ?`), args...)
		if err != nil {
			return nil, fmt.Errorf("audit index: %w", err)
		}
		for rows.Next() {
			var p int64
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, uint64(p))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// readPositions reads the events at the given sorted positions, one $all
// read per run of consecutive positions.
func (a *Audit) readPositions(ctx context.Context, positions []uint64) ([]*eventstore.Envelope, error) {
	var out []*eventstore.Envelope
	for i := 0; i < len(positions); {
		j := i + 1
		for j < len(positions) && positions[j] == positions[j-1]+1 && j-i < 500 {
			j++
		}
		recs, err := a.store.ReadAll(ctx, positions[i]-1, int(positions[j-1]-positions[i]+1), eventstore.Filter{})
		if err != nil {
			return nil, fmt.Errorf("audit read: %w", err)
		}
		for _, rec := range recs {
			if _, ok := slices.BinarySearch(positions[i:j], rec.Position); !ok {
				continue
			}
			env, err := a.registry.Decode(rec)
			if err != nil {
				return nil, err
			}
			out = append(out, &env)
		}
		i = j
	}
	return out, nil
}

// AuditVia is the grant an entry came through.
type AuditVia struct {
	// AreaID is the area holding the grant: the lock's own or an ancestor.
	AreaID string `json:"areaId"`
	// AccessType is "area" for an area's own group, else the access-list
	// entry's type.
	AccessType  string `json:"accessType"`
	UserGroupID string `json:"userGroupId,omitempty"`
	// ViaAreaID is the area whose group an `area` entry admits.
	ViaAreaID string `json:"viaAreaId,omitempty"`
	// BookingID is the booking an access code (accessType "accessCode")
	// belongs to, or whose check-in made a guest's membership (a device's
	// entry during the stay); empty for every other entry.
	BookingID string `json:"bookingId,omitempty"`
}

// AuditEntry is one credential that could open the lock.
type AuditEntry struct {
	// UserID and UserDeviceID name a device's entry; AccessCodeID a code's.
	UserID       string           `json:"userId,omitempty"`
	UserDeviceID string           `json:"userDeviceId,omitempty"`
	AccessCodeID string           `json:"accessCodeId,omitempty"`
	AccessKeyID  string           `json:"accessKeyId,omitempty"`
	Via          AuditVia         `json:"via"`
	Schedule     *domain.Schedule `json:"schedule"`
	OpenNow      bool             `json:"openNow"`
}

// LockAccess is who could open a lock at an instant.
type LockAccess struct {
	LockID string    `json:"lockId"`
	At     time.Time `json:"at"`
	// PropertyID is the property the lock was in at At (none: in no
	// property); a caller who may audit only some properties is answered
	// only for times the lock was in one of them.
	PropertyID string `json:"propertyId,omitempty"`
	// KeyMapVersion is the version of the lock's key map in force at At
	// (0: none yet); KeyMapHash its entry set's hash, EntriesHash that of
	// the entries computed here: equal when the log and the projection
	// agree.
	KeyMapVersion uint64       `json:"keyMapVersion"`
	KeyMapHash    string       `json:"keyMapHash"`
	EntriesHash   string       `json:"entriesHash"`
	Entries       []AuditEntry `json:"entries"`
}

// LockAccessAt computes, from the events recorded up to at, who could open
// the lock at that instant.
func (a *Audit) LockAccessAt(ctx context.Context, lockID uuid.UUID, at time.Time) (LockAccess, error) {
	f := a.newFold(at)
	if err := f.foldLock(ctx, lockID); err != nil {
		return LockAccess{}, err
	}
	ex := f.facts.explain(lockID)
	out := LockAccess{LockID: lockID.String(), At: at.UTC(), EntriesHash: access.Hash(access.EntriesOf(ex)), Entries: []AuditEntry{}}
	out.PropertyID = f.facts.propertyOf(lockID)
	var err error
	if out.KeyMapVersion, out.KeyMapHash, err = a.keyMapAt(ctx, lockID, at); err != nil {
		return LockAccess{}, err
	}
	for _, e := range ex {
		out.Entries = append(out.Entries, f.facts.auditEntry(e, at))
	}
	return out, nil
}

// auditEntry is one explained entry as the audit answers it: a device's
// with its user and grant, a code's with its booking.
func (f *auditFacts) auditEntry(e access.Explained, at time.Time) AuditEntry {
	openNow := e.Schedule.Admits(at, time.UTC)
	if e.AccessCodeID != uuid.Nil {
		via := AuditVia{AreaID: e.AreaID.String(), AccessType: accessTypeCode}
		if c := f.codes[e.AccessCodeID]; c != nil {
			via.BookingID = c.booking.String()
		}
		return AuditEntry{AccessCodeID: e.AccessCodeID.String(), Via: via, Schedule: e.Schedule, OpenNow: openNow}
	}
	via := AuditVia{AreaID: e.Grant.AreaID.String(), AccessType: string(e.Grant.AccessType), UserGroupID: e.Grant.UserGroupID.String()}
	if e.Grant.ViaAreaID != uuid.Nil {
		via.ViaAreaID = e.Grant.ViaAreaID.String()
	}
	if e.BookingID != uuid.Nil {
		via.BookingID = e.BookingID.String()
	}
	return AuditEntry{UserID: e.UserID.String(), UserDeviceID: e.UserDeviceID.String(), AccessKeyID: e.AccessKeyID.String(),
		Via: via, Schedule: e.Schedule, OpenNow: openNow}
}

// keyMapAt is the version of the lock's key map recorded last at or before
// at, and its hash (0 and the empty map's hash when none).
func (a *Audit) keyMapAt(ctx context.Context, lockID uuid.UUID, at time.Time) (uint64, string, error) {
	var version int64
	var hash string
	err := a.db.QueryRowContext(ctx, a.db.Dialect.Rebind(`SELECT version, hash FROM `+keymaps.TableLockHistory+`
		WHERE lock_id = ? AND recorded_at <= ? ORDER BY version DESC LIMIT 1`), lockID.String(), auditindex.FormatTime(at)).Scan(&version, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, access.Hash([]access.Entry{}), nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("key map history: %w", err)
	}
	return uint64(version), hash, nil
}
