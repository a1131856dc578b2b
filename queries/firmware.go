package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	fw "github.com/accessd/accessd/domain/firmware"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/firmware"
)

// Firmware reads firmware versions, their assignments, and the version a
// lock must run.
type Firmware struct {
	db    *projections.DB
	stmts *statements
}

// NewFirmware returns a reader over the firmware read model.
func NewFirmware(db *projections.DB) *Firmware { return &Firmware{db: db, stmts: newStatements(db)} }

// FirmwareVersion is a version's metadata and where it is assigned.
type FirmwareVersion struct {
	Version        string
	DeviceType     string
	Size           int64
	SHA256         string
	Scopes         []FirmwareScope
	CreatedAt      time.Time
	LastModifiedAt time.Time
	// LastModifiedBy is the API key of the last change.
	LastModifiedBy string
}

// FirmwareScope is one place a version is assigned (the reference's
// FirmwareVersionScope): the scope and, but for global, its target.
type FirmwareScope struct {
	Scope      string `json:"scope"`
	LockID     string `json:"lockId,omitempty"`
	AreaID     string `json:"areaId,omitempty"`
	PropertyID string `json:"propertyId,omitempty"`
}

// Version returns a version of the account; ErrEntityNotFound when the
// account has none by that name.
func (q *Firmware) Version(ctx context.Context, accountID uuid.UUID, version string) (FirmwareVersion, error) {
	v := FirmwareVersion{Version: version, Scopes: []FirmwareScope{}}
	var created, modified string
	err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT device_type, size, sha256, created_at, last_modified_at, last_modified_by
		FROM `+firmware.TableVersions+` WHERE account_id = ? AND version = ?`), accountID.String(), version).
		Scan(&v.DeviceType, &v.Size, &v.SHA256, &created, &modified, &v.LastModifiedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("firmware version %q: %w", version, ErrEntityNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("firmware version: %w", err)
	}
	if v.CreatedAt, err = firmware.ParseTime(created); err != nil {
		return v, fmt.Errorf("firmware version %q: %w", version, err)
	}
	if v.LastModifiedAt, err = firmware.ParseTime(modified); err != nil {
		return v, fmt.Errorf("firmware version %q: %w", version, err)
	}
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT scope, target_id FROM `+firmware.TableAssignments+`
		WHERE account_id = ? AND version = ? ORDER BY scope, target_id`), accountID.String(), version)
	if err != nil {
		return v, fmt.Errorf("firmware scopes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var scope, target string
		if err := rows.Scan(&scope, &target); err != nil {
			return v, fmt.Errorf("firmware scopes: %w", err)
		}
		s := FirmwareScope{Scope: scope}
		switch fw.Scope(scope) {
		case fw.ScopeLock:
			s.LockID = target
		case fw.ScopeArea:
			s.AreaID = target
		case fw.ScopeProperty:
			s.PropertyID = target
		}
		v.Scopes = append(v.Scopes, s)
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("firmware scopes: %w", err)
	}
	return v, nil
}

// requiredQuery ranks every assignment that applies to a lock, nearest
// first: the lock's own (0), its areas from the install area outwards
// (1, 2, ...), its property (1000001), the account's global one (1000002).
const requiredQuery = `WITH RECURSIVE chain(area_id, depth) AS (
	SELECT area_id, 1 FROM ` + firmware.TableLocks + ` WHERE lock_id = ? AND account_id = ? AND area_id <> ''
	UNION ALL
	SELECT a.parent_id, c.depth + 1 FROM ` + firmware.TableAreas + ` a JOIN chain c ON a.area_id = c.area_id
	WHERE a.parent_id <> '' AND c.depth < 1000000
)
SELECT r.version FROM (
	SELECT x.version AS version, 0 AS prio FROM ` + firmware.TableAssignments + ` x
		WHERE x.account_id = ? AND x.scope = 'lock' AND x.target_id = ?
	UNION ALL
	SELECT x.version, c.depth FROM chain c JOIN ` + firmware.TableAssignments + ` x
		ON x.account_id = ? AND x.scope = 'area' AND x.target_id = c.area_id
	UNION ALL
	SELECT x.version, 1000001 FROM ` + firmware.TableLocks + ` l JOIN ` + firmware.TableAssignments + ` x
		ON x.account_id = l.account_id AND x.scope = 'property' AND x.target_id = l.property_id
		WHERE l.lock_id = ? AND l.account_id = ? AND l.property_id <> ''
	UNION ALL
	SELECT x.version, 1000002 FROM ` + firmware.TableAssignments + ` x
		WHERE x.account_id = ? AND x.scope = 'global' AND x.target_id = ''
) r WHERE r.version <> '' ORDER BY r.prio LIMIT 1`

// anyAssignedQuery finds whether an account has a version assigned
// anywhere.
const anyAssignedQuery = `SELECT 1 FROM ` + firmware.TableAssignments + ` WHERE account_id = ? AND version <> '' LIMIT 1`

// AssignsAny reports whether the account has a version assigned anywhere:
// when not (most accounts), no lock of it has a required version, and a
// page of locks needs no query per lock.
func (q *Firmware) AssignsAny(ctx context.Context, accountID uuid.UUID) (bool, error) {
	var assigned int
	err := q.stmts.queryRow(ctx, anyAssignedQuery, accountID.String()).Scan(&assigned)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("firmware assignments of account %s: %w", accountID, err)
	}
	return true, nil
}

// RequiredFor returns the firmware version a lock of the account must
// run: the lock's own assignment, else its nearest area's (the install
// area, then its ancestors), else its property's, else the account's
// global one; "" when none applies. A lock the read model has not seen
// (yet) gets its own or the global assignment.
func (q *Firmware) RequiredFor(ctx context.Context, accountID, lockID uuid.UUID) (string, error) {
	account, l := accountID.String(), lockID.String()
	var version string
	// Every lock read asks (the lock output's requiredFirmwareVersion):
	// both queries are prepared once, since parsing the chain's cost more
	// than running it, and an account with nothing assigned (most) is
	// answered by a key lookup without walking the chain.
	assigned, err := q.AssignsAny(ctx, accountID)
	if err != nil || !assigned {
		return "", err
	}
	err = q.stmts.queryRow(ctx, requiredQuery, l, account, account, l, account, l, account, account).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("required firmware of lock %s: %w", lockID, err)
	}
	return version, nil
}
