// Package accesslogs is the read model of the access attempts locks report:
// one row per (lock, lockAccessLogId), listed newest first by accessDate per
// lock, per user and per property. Each list is a range scan of its own
// index from a keyset cursor, so a page costs the same with a hundred rows
// as with ten million.
package accesslogs

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Table is the logical name of the access logs. Columns: account_id,
// lock_id, lock_access_log_id, property_id, area_id, user_group_id, user_id,
// user_device_id, access_code_id, access_key_id (ids as text, empty when
// absent), access_date and recorded_at (TimeLayout text), result,
// deny_reason, device_signature, device_signature_failure,
// stale_credential, future_date (0 or 1), key_map_version and position
// (the $all position of the event).
const Table = "access_logs"

// TimeLayout is how access_date and recorded_at are stored: RFC 3339 in UTC
// with a fixed nine-digit fraction, so text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTime is the stored form of an instant.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Columns lists the columns an insert fills, in the order of InsertSQL's
// placeholders.
const Columns = `account_id, lock_id, lock_access_log_id, property_id, area_id, user_group_id, user_id, user_device_id,
	access_code_id, access_key_id, access_date, recorded_at, result, deny_reason, device_signature,
	device_signature_failure, stale_credential, future_date, key_map_version, position`

// InsertSQL adds one entry to table (a physical name); an entry already
// there is left alone, so a re-delivered event changes nothing.
func InsertSQL(table string) string {
	return `INSERT INTO ` + table + ` (` + Columns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (lock_id, lock_access_log_id) DO NOTHING`
}

// Args are InsertSQL's arguments for one event at a position.
func Args(e lock.LockAccessLogged, position uint64) []any {
	return []any{
		id(e.AccountID), id(e.LockID), id(e.LockAccessLogID), id(e.PropertyID), id(e.AreaID), id(e.UserGroupID), id(e.UserID),
		id(e.UserDeviceID), id(e.AccessCodeID), id(e.AccessKeyID), FormatTime(e.AccessDate), FormatTime(e.RecordedAt),
		string(e.Result), e.DenyReason, e.DeviceSignature, flag(e.DeviceSignatureFailure), flag(e.StaleCredential), flag(e.FutureDate),
		int64(e.KeyMapVersion), int64(position),
	}
}

func id(u uuid.UUID) string {
	if u == uuid.Nil {
		return ""
	}
	return u.String()
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Projection keeps the access logs.
type Projection struct{}

// New returns the projection.
func New() *Projection { return &Projection{} }

// Name implements projections.Projection.
func (*Projection) Name() string { return "access-logs" }

// Lane implements projections.Laned: commands do not wait for this read
// model before answering; the caller's next request does.
func (*Projection) Lane() string { return projections.LaneDeferred }

// Version implements projections.Projection.
func (*Projection) Version() int { return 1 }

// EventTypes implements projections.Projection.
func (*Projection) EventTypes() []string { return []string{lock.LockAccessLogged{}.EventType()} }

// Tables implements projections.Projection.
func (*Projection) Tables() []string { return []string{Table} }

// Setup implements projections.Projection.
func (*Projection) Setup(ctx context.Context, tx projections.Tx) error {
	t := tx.Table(Table)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			account_id TEXT NOT NULL,
			lock_id TEXT NOT NULL,
			lock_access_log_id TEXT NOT NULL,
			property_id TEXT NOT NULL DEFAULT '',
			area_id TEXT NOT NULL DEFAULT '',
			user_group_id TEXT NOT NULL DEFAULT '',
			user_id TEXT NOT NULL DEFAULT '',
			user_device_id TEXT NOT NULL DEFAULT '',
			access_code_id TEXT NOT NULL DEFAULT '',
			access_key_id TEXT NOT NULL DEFAULT '',
			access_date TEXT NOT NULL,
			recorded_at TEXT NOT NULL,
			result TEXT NOT NULL,
			deny_reason TEXT NOT NULL DEFAULT '',
			device_signature TEXT NOT NULL DEFAULT '',
			device_signature_failure INTEGER NOT NULL DEFAULT 0,
			stale_credential INTEGER NOT NULL DEFAULT 0,
			future_date INTEGER NOT NULL DEFAULT 0,
			key_map_version BIGINT NOT NULL DEFAULT 0,
			position BIGINT NOT NULL,
			PRIMARY KEY (lock_id, lock_access_log_id)
		)`,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("access logs setup: %w", err)
		}
	}
	return nil
}

// Indexes implements projections.Indexed: each list has its index, in
// the order it pages: (key, access_date DESC, lock_access_log_id DESC,
// lock_id DESC).
func (*Projection) Indexes(tx projections.Tx) []string {
	t := tx.Table(Table)
	return []string{
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_lock ON ` + t + ` (lock_id, access_date DESC, lock_access_log_id DESC)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_user ON ` + t + ` (user_id, access_date DESC, lock_access_log_id DESC, lock_id DESC) WHERE user_id <> ''`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_property ON ` + t + ` (property_id, access_date DESC, lock_access_log_id DESC, lock_id DESC) WHERE property_id <> ''`,
	}
}

// Apply implements projections.Projection.
func (*Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	e, ok := env.Event.(lock.LockAccessLogged)
	if !ok {
		return nil
	}
	if err := tx.Write(ctx, InsertSQL(tx.Table(Table)), Args(e, env.Position)...); err != nil {
		return fmt.Errorf("access logs: %w", err)
	}
	return nil
}
