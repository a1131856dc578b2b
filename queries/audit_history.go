package queries

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections/auditindex"
	"github.com/accessd/accessd/projections/keymaps"
)

// historyPage is how many index rows one page of a history reads.
const historyPage = 500

// KeyMapVersionChanged is the type of a history item that is not an event
// but a new version of a lock's key map (from the key-map projection).
const KeyMapVersionChanged = "KeyMapVersionChanged"

// HistoryItem is one item of a history: an event concerning the entity,
// with who appended it and why, or a key-map version of a lock.
type HistoryItem struct {
	Position      uint64            `json:"position"`
	RecordedAt    time.Time         `json:"recordedAt"`
	EventType     string            `json:"eventType"`
	EventID       string            `json:"eventId,omitempty"`
	Stream        string            `json:"stream,omitempty"`
	APIKeyID      string            `json:"apiKeyId,omitempty"`
	ActorUserID   string            `json:"actorUserId,omitempty"`
	CorrelationID string            `json:"correlationId,omitempty"`
	CausationID   string            `json:"causationId,omitempty"`
	IDs           map[string]string `json:"ids"`
	// Result and DenyReason are an access attempt's outcome.
	Result     string `json:"result,omitempty"`
	DenyReason string `json:"denyReason,omitempty"`
	// DeviceSignatureFailure, StaleCredential and FutureDate are the
	// server's checks of an access attempt (LockAccessLogged), set on
	// those items only, false ones too.
	DeviceSignatureFailure *bool `json:"deviceSignatureFailure,omitempty"`
	StaleCredential        *bool `json:"staleCredential,omitempty"`
	FutureDate             *bool `json:"futureDate,omitempty"`
	// KeyMapVersion is set on KeyMapVersionChanged items, and on access
	// attempts (LockAccessLogged): the version in force at the attempt's
	// accessDate, as the access logs show it, 0 (no key map yet) too.
	KeyMapVersion *uint64 `json:"keyMapVersion,omitempty"`
	// CauseEventType is, on a KeyMapVersionChanged item, the type of the
	// event that changed the key map (a grant or a revocation: a
	// membership, an access list, an install); eventId, stream, the actor,
	// the cause and the ids are that event's.
	CauseEventType string `json:"causeEventType,omitempty"`
	// UninstallMode is a LockUninstalled's mode: after an `area` one the
	// lock is still in its property. Not in the answer: it lets a reader
	// follow the lock's property through its history.
	UninstallMode lock.UninstallMode `json:"-"`
}

// HistoryEnd is the end of a history range given no end: after any
// instant the log can hold.
var HistoryEnd = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// HistoryIDColumns are the id columns of a CSV history, in order.
var HistoryIDColumns = []string{"propertyId", "areaId", "lockId", "userGroupId", "userId", "userDeviceId",
	"accessCodeId", "bookingId", "lockAccessLogId", "accessKeyId"}

// History emits, in recorded order, every event of the account naming the
// entity that was recorded in [from, to); with keyMaps, the lock's key-map
// versions too. It reads the index and the log a page at a time, so a long
// range never sits in memory; emit's error stops it.
func (a *Audit) History(ctx context.Context, accountID, entityID uuid.UUID, from, to time.Time, withKeyMaps bool, emit func(HistoryItem) error) error {
	events := a.eventPager(accountID, entityID, from, to)
	var versions pager = emptyPager{}
	if withKeyMaps {
		versions = a.keyMapPager(entityID, from, to)
	}
	ev, evOK, err := events.next(ctx)
	if err != nil {
		return err
	}
	km, kmOK, err := versions.next(ctx)
	if err != nil {
		return err
	}
	for evOK || kmOK {
		// A key map version follows the event that made it.
		takeEvent := evOK && (!kmOK || ev.Position <= km.Position)
		item := km
		if takeEvent {
			item = ev
		}
		if err := emit(item); err != nil {
			return err
		}
		if takeEvent {
			ev, evOK, err = events.next(ctx)
		} else {
			km, kmOK, err = versions.next(ctx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type pager interface {
	next(ctx context.Context) (HistoryItem, bool, error)
}

type emptyPager struct{}

func (emptyPager) next(context.Context) (HistoryItem, bool, error) { return HistoryItem{}, false, nil }

// bufPager serves items from pages fetched on demand.
type bufPager struct {
	buf  []HistoryItem
	done bool
	// fetch returns the next page, and whether more may follow.
	fetch func(ctx context.Context) ([]HistoryItem, bool, error)
}

func (p *bufPager) next(ctx context.Context) (HistoryItem, bool, error) {
	for len(p.buf) == 0 && !p.done {
		items, more, err := p.fetch(ctx)
		if err != nil {
			return HistoryItem{}, false, err
		}
		p.done = !more
		p.buf = items
	}
	if len(p.buf) == 0 {
		return HistoryItem{}, false, nil
	}
	it := p.buf[0]
	p.buf = p.buf[1:]
	return it, true, nil
}

// eventPager pages the entity's history rows by (recorded_at, position),
// keeping the events of the account. The index is not by account and
// never files another account's event under an entity; the check on each
// event's own account keeps it so should the index ever do.
func (a *Audit) eventPager(accountID, entityID uuid.UUID, from, to time.Time) pager {
	account := accountID.String()
	lastAt, lastPos := auditindex.FormatTime(from), int64(-1)
	toAt := auditindex.FormatTime(to)
	return &bufPager{fetch: func(ctx context.Context) ([]HistoryItem, bool, error) {
		rows, err := a.db.QueryContext(ctx, a.db.Dialect.Rebind(`SELECT position, recorded_at FROM `+auditindex.Table+`
			WHERE entity_id = ? AND kind = ? AND (recorded_at > ? OR (recorded_at = ? AND position > ?)) AND recorded_at < ?
			ORDER BY recorded_at, position LIMIT ?`), entityID.String(), auditindex.KindHistory, lastAt, lastAt, lastPos, toAt, historyPage)
		if err != nil {
			return nil, false, fmt.Errorf("audit history: %w", err)
		}
		var positions []uint64
		for rows.Next() {
			var p int64
			if err := rows.Scan(&p, &lastAt); err != nil {
				rows.Close()
				return nil, false, err
			}
			lastPos = p
			positions = append(positions, uint64(p))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, err
		}
		sorted := append([]uint64(nil), positions...)
		sortPositions(sorted)
		envs, err := a.readPositions(ctx, sorted)
		if err != nil {
			return nil, false, err
		}
		byPos := make(map[uint64]*eventstore.Envelope, len(envs))
		for _, e := range envs {
			byPos[e.Position] = e
		}
		items := make([]HistoryItem, 0, len(positions))
		for _, p := range positions {
			if env := byPos[p]; env != nil && env.Metadata.AccountID == account {
				items = append(items, historyItem(env))
			}
		}
		return items, len(positions) == historyPage, nil
	}}
}

// accessLogged is the type of an access attempt's event.
var accessLogged = lock.LockAccessLogged{}.EventType()

var lockUninstalled = lock.LockUninstalled{}.EventType()

func historyItem(env *eventstore.Envelope) HistoryItem {
	it := HistoryItem{Position: env.Position, RecordedAt: env.RecordedAt.UTC(), EventType: env.Type, EventID: env.ID.String(),
		Stream: env.Stream, APIKeyID: env.Metadata.APIKeyID, ActorUserID: env.Metadata.UserID,
		CorrelationID: env.Metadata.CorrelationID, CausationID: env.Metadata.CausationID, IDs: map[string]string{}}
	for k, v := range auditindex.IDs(env.Raw) {
		it.IDs[k] = v.String()
	}
	var outcome struct {
		Result                 string             `json:"result"`
		DenyReason             string             `json:"denyReason"`
		DeviceSignatureFailure *bool              `json:"deviceSignatureFailure"`
		StaleCredential        *bool              `json:"staleCredential"`
		FutureDate             *bool              `json:"futureDate"`
		KeyMapVersion          uint64             `json:"keyMapVersion"`
		Mode                   lock.UninstallMode `json:"mode"`
	}
	if json.Unmarshal(env.Raw, &outcome) == nil {
		it.Result, it.DenyReason = outcome.Result, outcome.DenyReason
		if env.Type == lockUninstalled {
			it.UninstallMode = outcome.Mode
		}
		if env.Type == accessLogged {
			it.DeviceSignatureFailure, it.StaleCredential, it.FutureDate = outcome.DeviceSignatureFailure, outcome.StaleCredential, outcome.FutureDate
			it.KeyMapVersion = &outcome.KeyMapVersion
		}
	}
	return it
}

// keyMapPager pages a lock's key-map versions recorded in [from, to).
func (a *Audit) keyMapPager(lockID uuid.UUID, from, to time.Time) pager {
	lastVersion := int64(-1)
	fromAt, toAt := auditindex.FormatTime(from), auditindex.FormatTime(to)
	return &bufPager{fetch: func(ctx context.Context) ([]HistoryItem, bool, error) {
		rows, err := a.db.QueryContext(ctx, a.db.Dialect.Rebind(`SELECT version, position, recorded_at FROM `+keymaps.TableLockHistory+`
			WHERE lock_id = ? AND version > ? AND recorded_at >= ? AND recorded_at < ? ORDER BY version LIMIT ?`),
			lockID.String(), lastVersion, fromAt, toAt, historyPage)
		if err != nil {
			return nil, false, fmt.Errorf("key map history: %w", err)
		}
		defer rows.Close()
		var items []HistoryItem
		for rows.Next() {
			var version, pos int64
			var at string
			if err := rows.Scan(&version, &pos, &at); err != nil {
				return nil, false, err
			}
			lastVersion = version
			t, _ := time.Parse(auditindex.TimeLayout, at)
			v := uint64(version)
			items = append(items, HistoryItem{Position: uint64(pos), RecordedAt: t, EventType: KeyMapVersionChanged,
				IDs: map[string]string{"lockId": lockID.String()}, KeyMapVersion: &v})
		}
		if err := rows.Err(); err != nil {
			return nil, false, err
		}
		rows.Close()
		if err := a.withCauses(ctx, items); err != nil {
			return nil, false, err
		}
		return items, len(items) == historyPage, nil
	}}
}

// withCauses fills in each key-map version the event that made it: who
// granted or revoked what, by which key, for which cause.
func (a *Audit) withCauses(ctx context.Context, items []HistoryItem) error {
	positions := make([]uint64, len(items))
	for i, it := range items {
		positions[i] = it.Position
	}
	sortPositions(positions)
	envs, err := a.readPositions(ctx, slices.Compact(positions))
	if err != nil {
		return fmt.Errorf("key map history causes: %w", err)
	}
	byPos := make(map[uint64]*eventstore.Envelope, len(envs))
	for _, e := range envs {
		byPos[e.Position] = e
	}
	for i, it := range items {
		env := byPos[it.Position]
		if env == nil {
			continue
		}
		cause := historyItem(env)
		for k, v := range cause.IDs {
			if _, set := it.IDs[k]; !set {
				it.IDs[k] = v
			}
		}
		it.CauseEventType, it.EventID, it.Stream = env.Type, cause.EventID, cause.Stream
		it.APIKeyID, it.ActorUserID, it.CorrelationID, it.CausationID = cause.APIKeyID, cause.ActorUserID, cause.CorrelationID, cause.CausationID
		items[i] = it
	}
	return nil
}

func sortPositions(p []uint64) { slices.Sort(p) }
