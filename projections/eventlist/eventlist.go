// Package eventlist is the read model behind GET /events: one row per event
// with the ids it concerns, newest first.
package eventlist

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Table is the logical name of the list.
const Table = "event_list"

// IDColumns are the id filters of GET /events, by query parameter.
var IDColumns = map[string]string{
	"propertyId":      "property_id",
	"areaId":          "area_id",
	"userGroupId":     "user_group_id",
	"lockId":          "lock_id",
	"userId":          "user_id",
	"userDeviceId":    "user_device_id",
	"apiKeyId":        "api_key_id",
	"keyId":           "key_id",
	"firmwareVersion": "firmware_version",
}

// Projection lists every event of the registered types.
type Projection struct {
	types []string
}

// New returns the projection over every type the registry knows.
func New(registry *eventstore.Registry) *Projection {
	return &Projection{types: registry.RecordTypes()}
}

// Name implements projections.Projection.
func (p *Projection) Name() string { return "event-list" }

// Lane implements projections.Laned: commands do not wait for this read
// model before answering; the caller's next request does.
func (*Projection) Lane() string { return projections.LaneDeferred }

// Version implements projections.Projection.
func (p *Projection) Version() int { return 2 }

// EventTypes implements projections.Projection.
func (p *Projection) EventTypes() []string { return p.types }

// Tables implements projections.Projection.
func (p *Projection) Tables() []string { return []string{Table} }

// Setup implements projections.Projection.
func (p *Projection) Setup(ctx context.Context, tx projections.Tx) error {
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table(Table)+` (
		position BIGINT PRIMARY KEY,
		event_id TEXT NOT NULL,
		event_name TEXT NOT NULL,
		category TEXT NOT NULL,
		account_id TEXT NOT NULL,
		property_id TEXT NOT NULL DEFAULT '',
		area_id TEXT NOT NULL DEFAULT '',
		user_group_id TEXT NOT NULL DEFAULT '',
		lock_id TEXT NOT NULL DEFAULT '',
		user_id TEXT NOT NULL DEFAULT '',
		user_device_id TEXT NOT NULL DEFAULT '',
		api_key_id TEXT NOT NULL DEFAULT '',
		key_id TEXT NOT NULL DEFAULT '',
		firmware_version TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL,
		last_modified_by TEXT NOT NULL DEFAULT ''
	)`); err != nil {
		return fmt.Errorf("event list setup: %w", err)
	}
	return nil
}

// Indexes implements projections.Indexed: the list's filters, each in
// position order.
func (p *Projection) Indexes(tx projections.Tx) []string {
	t := tx.Table(Table)
	stmts := []string{
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + t + `_by_event_id ON ` + t + ` (event_id)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_account ON ` + t + ` (account_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_category ON ` + t + ` (account_id, category, position)`,
	}
	for _, col := range sortedColumns() {
		stmts = append(stmts, `CREATE INDEX IF NOT EXISTS `+t+`_by_`+col+` ON `+t+` (account_id, `+col+`, position) WHERE `+col+` <> ''`)
	}
	return stmts
}

// sortedColumns are the id columns in a fixed order, so indexes are
// always created in the same order.
func sortedColumns() []string {
	cols := make([]string, 0, len(IDColumns))
	for _, col := range IDColumns {
		cols = append(cols, col)
	}
	sort.Strings(cols)
	return cols
}

// ids are the fields events use for the entities they concern.
const zeroID = "00000000-0000-0000-0000-000000000000"

func clean(id string) string {
	if id == zeroID {
		return ""
	}
	return id
}

// Apply implements projections.Projection. Replaying an event already listed
// changes nothing.
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	fields := env.Fields()
	if fields == nil {
		return nil // not an object: nothing to index, and no reason to stop
	}
	id := func(name string) string { return clean(eventstore.FieldString(fields, name)) }
	account := id("accountId")
	if account == "" {
		account = clean(env.Metadata.AccountID)
	}
	category, _, _ := strings.Cut(env.Stream, "-")
	err := tx.Write(ctx, `INSERT INTO `+tx.Table(Table)+` (position, event_id, event_name, category, account_id,
		property_id, area_id, user_group_id, lock_id, user_id, user_device_id, api_key_id, key_id, firmware_version,
		created_at, last_modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (position) DO NOTHING`,
		int64(env.Position), env.ID.String(), env.Type, category, account,
		id("propertyId"), id("areaId"), id("userGroupId"), id("lockId"), id("userId"),
		id("userDeviceId"), id("apiKeyId"), id("keyId"), eventstore.FieldString(fields, "firmwareVersion"),
		env.Metadata.OccurredAt.UTC().Format(time.RFC3339Nano), env.Metadata.APIKeyID)
	return err
}
