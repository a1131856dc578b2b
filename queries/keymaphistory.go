package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/keymaps"
)

// historyTimeLayout is how km_lock_history.recorded_at is stored: fixed
// width, so text order is time order.
const historyTimeLayout = "2006-01-02T15:04:05.000000000Z"

// KeyMapAt returns the version of a lock's key map in force at an instant
// (the last one recorded at or before it) and the hash of its entry set;
// 0 and "" when none was yet (the empty map). It implements
// commands.KeyMapHistory.
func (q *KeyMaps) KeyMapAt(ctx context.Context, lockID uuid.UUID, at time.Time) (uint64, string, error) {
	var version int64
	var hash string
	err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT version, hash FROM `+keymaps.TableLockHistory+`
		WHERE lock_id = ? AND recorded_at <= ? ORDER BY version DESC LIMIT 1`), lockID.String(), at.UTC().Format(historyTimeLayout)).Scan(&version, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("key map history: %w", err)
	}
	return uint64(version), hash, nil
}

// KeyMapEntries returns the entry set with a hash (none for an unknown
// one). It implements commands.KeyMapHistory.
func (q *KeyMaps) KeyMapEntries(ctx context.Context, hash string) ([]access.Entry, error) {
	var raw string
	err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT entries FROM `+keymaps.TableSets+` WHERE hash = ?`), hash).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key map set: %w", err)
	}
	var out []access.Entry
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("key map set %s: %w", hash, err)
	}
	return out, nil
}

// AccessKey returns the device key an access key id names in an account,
// also after a rotation or the device's removal. It implements
// commands.KeyMapHistory.
func (q *KeyMaps) AccessKey(ctx context.Context, accountID, accessKeyID uuid.UUID) (access.Device, bool, error) {
	var device, user string
	d := access.Device{AccessKeyID: accessKeyID}
	err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT device_id, user_id, public_key FROM `+keymaps.TableAccessKeys+`
		WHERE account_id = ? AND access_key_id = ?`), accountID.String(), accessKeyID.String()).Scan(&device, &user, &d.PublicKey)
	if errors.Is(err, sql.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("access key: %w", err)
	}
	d.DeviceID, _ = uuid.Parse(device)
	d.UserID, _ = uuid.Parse(user)
	return d, true, nil
}

// OutOfSyncLock is a lock whose confirmed key-map version lags the one it
// should hold.
type OutOfSyncLock struct {
	Document
	// KeyMapVersion is the version the lock should hold.
	KeyMapVersion uint64
}

// OutOfSyncLocks returns one page of the account's live locks whose
// confirmed key-map version is not the desired one, oldest first, and the
// next page's token ("" on the last). f narrows by property as Entities.List
// does.
func (q *KeyMaps) OutOfSyncLocks(ctx context.Context, accountID string, f ListFilter, page Page, withPrivate bool) ([]OutOfSyncLock, string, error) {
	col := "e.public"
	if withPrivate {
		col = "e.doc"
	}
	query := `SELECT e.id, e.property_id, e.parent_id, e.position, e.state, ` + col + `, k.version
		FROM ` + entities.Table + ` e JOIN ` + keymaps.TableLocks + ` k ON k.lock_id = e.id
		WHERE e.kind = ? AND e.account_id = ? AND e.state <> ? AND e.position > ? AND k.deleted = 0 AND k.confirmed_version <> k.version`
	args := []any{entities.KindLock, accountID, entities.StateDeleted, int64(page.After)}
	if f.PropertyID != "" {
		query += ` AND e.property_id = ?`
		args = append(args, f.PropertyID)
	}
	if f.PropertyIDs != nil {
		if len(f.PropertyIDs) == 0 {
			return nil, "", nil
		}
		query += ` AND e.property_id IN (?` + strings.Repeat(",?", len(f.PropertyIDs)-1) + `)`
		for _, p := range f.PropertyIDs {
			args = append(args, p)
		}
	}
	query += ` ORDER BY e.position LIMIT ?`
	args = append(args, page.Size+1)
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("out-of-sync locks: %w", err)
	}
	defer rows.Close()
	var out []OutOfSyncLock
	for rows.Next() {
		l := OutOfSyncLock{Document: Document{Row: entities.Row{Kind: entities.KindLock, AccountID: accountID}}}
		var raw string
		var pos, version int64
		if err := rows.Scan(&l.ID, &l.PropertyID, &l.ParentID, &pos, &l.State, &raw, &version); err != nil {
			return nil, "", fmt.Errorf("out-of-sync locks: %w", err)
		}
		l.Position, l.JSON, l.KeyMapVersion = uint64(pos), json.RawMessage(raw), uint64(version)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("out-of-sync locks: %w", err)
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		next = page.Token(out[len(out)-1].Position)
	}
	return out, next, nil
}
