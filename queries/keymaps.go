package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/keymaps"
)

// KeyMaps reads lock key maps and device access maps.
type KeyMaps struct {
	db    *projections.DB
	stmts *statements
}

// NewKeyMaps returns a reader over the key-map read model.
func NewKeyMaps(db *projections.DB) *KeyMaps { return &KeyMaps{db: db, stmts: newStatements(db)} }

// LockKeyMap is a lock's key map as the projection has it.
type LockKeyMap struct {
	LockID  string
	Version uint64
	// Entries is the JSON array of entries.
	Entries json.RawMessage
	// EncryptionPublicKey is the lock's X25519 key, to seal the map to.
	EncryptionPublicKey string
}

// Lock returns the key map of a lock of the account.
func (q *KeyMaps) Lock(ctx context.Context, accountID, lockID string) (LockKeyMap, error) {
	m := LockKeyMap{LockID: lockID}
	var version int64
	var entries string
	err := q.stmts.queryRow(ctx, `SELECT l.version, l.encryption_key, COALESCE(s.entries, '[]')
		FROM `+keymaps.TableLocks+` l LEFT JOIN `+keymaps.TableSets+` s ON s.hash = l.hash
		WHERE l.lock_id = ? AND l.account_id = ? AND l.deleted = 0`, lockID, accountID).Scan(&version, &m.EncryptionPublicKey, &entries)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("key map of lock %s: %w", lockID, ErrEntityNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("key map: %w", err)
	}
	m.Version, m.Entries = uint64(version), json.RawMessage(entries)
	return m, nil
}

// LockVersions returns the key-map versions of the account's live locks
// among lockIDs, in one query: a page of locks costs one more query, not
// one per lock. A lock the projection has not seen yet is left out
// (version 0).
func (q *KeyMaps) LockVersions(ctx context.Context, accountID string, lockIDs []string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(lockIDs))
	if len(lockIDs) == 0 {
		return out, nil
	}
	args := []any{accountID}
	for _, id := range lockIDs {
		args = append(args, id)
	}
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT lock_id, version FROM `+keymaps.TableLocks+`
		WHERE account_id = ? AND deleted = 0 AND lock_id IN (?`+strings.Repeat(",?", len(lockIDs)-1)+`)`), args...)
	if err != nil {
		return nil, fmt.Errorf("key-map versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var version int64
		if err := rows.Scan(&id, &version); err != nil {
			return nil, fmt.Errorf("key-map versions: %w", err)
		}
		out[id] = uint64(version)
	}
	return out, rows.Err()
}

// DeviceAccessMap is a device's user access map.
type DeviceAccessMap struct {
	DeviceID string
	UserID   string
	Version  uint64
	Entries  json.RawMessage
}

// Device returns the access map of a device of the account; a device the
// projection has not seen yet has version 0 and no entries.
func (q *KeyMaps) Device(ctx context.Context, accountID, deviceID string) (DeviceAccessMap, error) {
	m := DeviceAccessMap{DeviceID: deviceID, Entries: json.RawMessage("[]")}
	var version int64
	var entries string
	err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT user_id, version, entries FROM `+keymaps.TableDeviceMaps+`
		WHERE device_id = ? AND account_id = ?`), deviceID, accountID).Scan(&m.UserID, &version, &entries)
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("access map: %w", err)
	}
	m.Version, m.Entries = uint64(version), json.RawMessage(entries)
	return m, nil
}
