// Package firmware keeps the firmware versions of every account and where
// each is assigned, so a lock's required version resolves in one query:
// its own assignment, else its nearest area's (install area, then
// ancestors), else its property's, else the account's global one. For the
// area and lock part it keeps its own copy of the area tree and of where
// each lock is installed, so it depends only on the log, never on how far
// another read model has got.
package firmware

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/area"
	fw "github.com/accessd/accessd/domain/firmware"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Logical tables.
const (
	// TableVersions: one row per account and version.
	TableVersions = "fw_versions"
	// TableAssignments: one row per account and target (scope, target id;
	// empty for global); version empty once unassigned.
	TableAssignments = "fw_assignments"
	// TableAreas: the area tree (each area's parent).
	TableAreas = "fw_areas"
	// TableLocks: where each lock is.
	TableLocks = "fw_locks"
)

// TimeLayout stores instants as fixed-width UTC text, so text order is
// time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Projection is the firmware read model.
type Projection struct{}

// New returns the projection.
func New() *Projection { return &Projection{} }

// Name implements projections.Projection.
func (*Projection) Name() string { return "firmware" }

// Version implements projections.Projection.
func (*Projection) Version() int { return 1 }

// EventTypes implements projections.Projection.
func (*Projection) EventTypes() []string {
	return []string{
		fw.FirmwareVersionUploaded{}.EventType(), fw.FirmwareVersionAssigned{}.EventType(), fw.FirmwareVersionUnassigned{}.EventType(),
		area.AreaCreated{}.EventType(), area.AreaMoved{}.EventType(), area.AreaDeleted{}.EventType(),
		lock.LockProvisioned{}.EventType(), lock.LockInstalled{}.EventType(), lock.LockUninstalled{}.EventType(), lock.LockDeprovisioned{}.EventType(),
		property.PropertyDeleted{}.EventType(),
	}
}

// Tables implements projections.Projection.
func (*Projection) Tables() []string {
	return []string{TableVersions, TableAssignments, TableAreas, TableLocks}
}

// Setup implements projections.Projection.
func (*Projection) Setup(ctx context.Context, tx projections.Tx) error {
	t := tx.Table
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + t(TableVersions) + ` (account_id TEXT NOT NULL, version TEXT NOT NULL,
			device_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL, created_at TEXT NOT NULL,
			last_modified_at TEXT NOT NULL, last_modified_by TEXT NOT NULL, position BIGINT NOT NULL,
			PRIMARY KEY (account_id, version))`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableAssignments) + ` (account_id TEXT NOT NULL, scope TEXT NOT NULL, target_id TEXT NOT NULL,
			version TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (account_id, scope, target_id))`,
		`CREATE INDEX IF NOT EXISTS ` + t(TableAssignments) + `_by_version ON ` + t(TableAssignments) + ` (account_id, version)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableAreas) + ` (area_id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
			parent_id TEXT NOT NULL, position BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + t(TableLocks) + ` (lock_id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
			property_id TEXT NOT NULL, area_id TEXT NOT NULL, position BIGINT NOT NULL)`,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("firmware setup: %w", err)
		}
	}
	return nil
}

// Apply implements projections.Projection. Every change is guarded by
// the position of the last event that wrote the row, so an old event
// delivered again never undoes a newer one.
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	a := applier{tx: tx, env: env, pos: int64(env.Position)}
	if err := a.apply(ctx); err != nil {
		return fmt.Errorf("firmware %s: %w", env.Type, err)
	}
	return nil
}

type applier struct {
	tx  projections.Tx
	env eventstore.Envelope
	pos int64
}

func (a applier) exec(ctx context.Context, q string, args ...any) error {
	err := a.tx.Write(ctx, q, args...)
	return err
}

func text(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func (a applier) apply(ctx context.Context) error {
	t := a.tx.Table
	switch e := a.env.Event.(type) {
	case fw.FirmwareVersionUploaded:
		at := a.env.Metadata.OccurredAt.UTC().Format(TimeLayout)
		return a.exec(ctx, `INSERT INTO `+t(TableVersions)+` (account_id, version, device_type, size, sha256, created_at, last_modified_at, last_modified_by, position)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, version) DO NOTHING`,
			e.AccountID.String(), e.FirmwareVersion, string(e.DeviceType), e.Size, e.SHA256, at, at, a.env.Metadata.APIKeyID, a.pos)
	case fw.FirmwareVersionAssigned:
		if err := a.assign(ctx, e.AccountID, e.Target(), e.FirmwareVersion); err != nil {
			return err
		}
		if err := a.touch(ctx, e.AccountID, e.PreviousFirmwareVersion); err != nil {
			return err
		}
		return a.touch(ctx, e.AccountID, e.FirmwareVersion)
	case fw.FirmwareVersionUnassigned:
		if err := a.assign(ctx, e.AccountID, e.Target(), ""); err != nil {
			return err
		}
		return a.touch(ctx, e.AccountID, e.FirmwareVersion)

	case area.AreaCreated:
		return a.exec(ctx, `INSERT INTO `+t(TableAreas)+` (area_id, account_id, parent_id, position) VALUES (?, ?, ?, ?)
			ON CONFLICT (area_id) DO NOTHING`, e.AreaID.String(), e.AccountID.String(), text(e.ParentAreaID), a.pos)
	case area.AreaMoved:
		return a.exec(ctx, `UPDATE `+t(TableAreas)+` SET parent_id = ?, position = ? WHERE area_id = ? AND position < ?`,
			text(e.ParentAreaID), a.pos, e.AreaID.String(), a.pos)
	case area.AreaDeleted:
		if err := a.exec(ctx, `DELETE FROM `+t(TableAreas)+` WHERE area_id = ?`, e.AreaID.String()); err != nil {
			return err
		}
		return a.dropTarget(ctx, e.AccountID, fw.ScopeArea, e.AreaID)
	case property.PropertyDeleted:
		return a.dropTarget(ctx, e.AccountID, fw.ScopeProperty, e.PropertyID)

	case lock.LockProvisioned:
		return a.exec(ctx, `INSERT INTO `+t(TableLocks)+` (lock_id, account_id, property_id, area_id, position) VALUES (?, ?, '', '', ?)
			ON CONFLICT (lock_id) DO NOTHING`, e.LockID.String(), e.AccountID.String(), a.pos)
	case lock.LockInstalled:
		return a.placeLock(ctx, e.LockID, e.PropertyID, e.AreaID)
	case lock.LockUninstalled:
		switch e.Mode {
		case lock.UninstallArea:
			return a.placeLock(ctx, e.LockID, e.PropertyID, uuid.Nil)
		case lock.UninstallProperty:
			return a.placeLock(ctx, e.LockID, uuid.Nil, uuid.Nil)
		}
		return a.dropLock(ctx, e.LockID, e.AccountID)
	case lock.LockDeprovisioned:
		return a.dropLock(ctx, e.LockID, e.AccountID)
	}
	return nil
}

// assign sets the version at a target (empty for none).
func (a applier) assign(ctx context.Context, accountID uuid.UUID, target fw.Target, version string) error {
	table := a.tx.Table(TableAssignments)
	return a.exec(ctx, `INSERT INTO `+table+` (account_id, scope, target_id, version, position) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, scope, target_id) DO UPDATE SET version = excluded.version, position = excluded.position
		WHERE `+table+`.position < excluded.position`,
		accountID.String(), string(target.Scope), text(target.ID), version, a.pos)
}

// touch marks a version as changed by the event.
func (a applier) touch(ctx context.Context, accountID uuid.UUID, version string) error {
	if version == "" {
		return nil
	}
	return a.exec(ctx, `UPDATE `+a.tx.Table(TableVersions)+` SET last_modified_at = ?, last_modified_by = ?, position = ?
		WHERE account_id = ? AND version = ? AND position < ?`,
		a.env.Metadata.OccurredAt.UTC().Format(TimeLayout), a.env.Metadata.APIKeyID, a.pos, accountID.String(), version, a.pos)
}

// dropTarget clears the assignment of a target that is gone, touching
// the version that was assigned there.
func (a applier) dropTarget(ctx context.Context, accountID uuid.UUID, scope fw.Scope, id uuid.UUID) error {
	var version string
	err := a.tx.QueryRow(ctx, `SELECT version FROM `+a.tx.Table(TableAssignments)+` WHERE account_id = ? AND scope = ? AND target_id = ? AND position < ?`,
		accountID.String(), string(scope), id.String(), a.pos).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && version == "") {
		return nil // nothing assigned there
	}
	if err != nil {
		return err
	}
	if err := a.assign(ctx, accountID, fw.Target{Scope: scope, ID: id}, ""); err != nil {
		return err
	}
	return a.touch(ctx, accountID, version)
}

func (a applier) placeLock(ctx context.Context, lockID, propertyID, areaID uuid.UUID) error {
	return a.exec(ctx, `UPDATE `+a.tx.Table(TableLocks)+` SET property_id = ?, area_id = ?, position = ? WHERE lock_id = ? AND position < ?`,
		text(propertyID), text(areaID), a.pos, lockID.String(), a.pos)
}

// dropLock forgets a lock that left its account, and its assignment.
func (a applier) dropLock(ctx context.Context, lockID, accountID uuid.UUID) error {
	if err := a.exec(ctx, `DELETE FROM `+a.tx.Table(TableLocks)+` WHERE lock_id = ?`, lockID.String()); err != nil {
		return err
	}
	return a.dropTarget(ctx, accountID, fw.ScopeLock, lockID)
}

// ParseTime reads an instant stored with TimeLayout.
func ParseTime(s string) (time.Time, error) { return time.Parse(TimeLayout, s) }
