// Package entities is the read model behind every GET of the core API: one
// JSON document per entity (the API's output shape), with the columns that
// lists filter and page on. A single projection keeps all kinds, so an event
// that touches two entities (a lock installed into an area) updates both in
// one transaction.
package entities

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Table is the logical name of the documents table.
const Table = "entities"

// Entity kinds, as stored in the kind column and shown in `type`.
const (
	KindAccount  = "account"
	KindAPIKey   = "apiKey"
	KindProperty = "property"
	KindArea     = "area"
	KindGroup    = "userGroup"
	KindUser     = "user"
	KindDevice   = "userDevice"
	KindLock     = "lock"
)

// Type states.
const (
	StateActive   = "active"
	StateInactive = "inactive"
	StateDeleted  = "deleted"
)

// Row is the indexed part of a document.
type Row struct {
	Kind      string
	ID        string
	AccountID string
	// PropertyID scopes property-level lists and property-scoped keys.
	PropertyID string
	// ParentID is the owner in a nested list (the user of a device).
	ParentID string
	// Position is the $all position of the creating event: lists page on
	// it, so items created later always come after every page already read.
	Position uint64
	// Applied is the position of the last event applied through Update;
	// an older event delivered again (re-processing) is skipped, so it
	// cannot overwrite newer data.
	Applied uint64
	State   string
	// Lookup is a secondary unique key (an API key's hash), or empty.
	Lookup string
}

// Base is the part every entity output shares.
type Base struct {
	Type           string    `json:"type"`
	TypeState      string    `json:"typeState"`
	CreatedAt      time.Time `json:"createdAt"`
	LastModifiedAt time.Time `json:"lastModifiedAt"`
	LastModifiedBy string    `json:"lastModifiedBy,omitempty"`
}

// Touch marks a document as changed by env.
func (b *Base) Touch(env eventstore.Envelope) {
	b.LastModifiedAt = env.Metadata.OccurredAt.UTC()
	b.LastModifiedBy = env.Metadata.APIKeyID
}

// NewBase starts the shared fields of an entity created by env.
func NewBase(kind string, env eventstore.Envelope) Base {
	at := env.Metadata.OccurredAt.UTC()
	return Base{Type: kind, TypeState: StateActive, CreatedAt: at, LastModifiedAt: at, LastModifiedBy: env.Metadata.APIKeyID}
}

func setup(ctx context.Context, tx projections.Tx) error {
	t := tx.Table(Table)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			kind TEXT NOT NULL,
			id TEXT NOT NULL,
			account_id TEXT NOT NULL,
			property_id TEXT NOT NULL DEFAULT '',
			parent_id TEXT NOT NULL DEFAULT '',
			position BIGINT NOT NULL,
			applied BIGINT NOT NULL DEFAULT 0,
			state TEXT NOT NULL,
			lookup TEXT NOT NULL DEFAULT '',
			doc TEXT NOT NULL,
			public TEXT NOT NULL,
			PRIMARY KEY (kind, id)
		)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_account ON ` + t + ` (kind, account_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_property ON ` + t + ` (kind, account_id, property_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_parent ON ` + t + ` (kind, account_id, parent_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_lookup ON ` + t + ` (lookup) WHERE lookup <> ''`,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("entities setup: %w", err)
		}
	}
	return nil
}

// Load reads a document and its row inside a projection transaction; found
// is false when there is none.
func Load[T any](ctx context.Context, tx projections.Tx, kind, id string) (doc T, row Row, found bool, err error) {
	var raw string
	var pos int64
	var applied int64
	err = tx.QueryRow(ctx, `SELECT account_id, property_id, parent_id, position, applied, state, lookup, doc FROM `+tx.Table(Table)+` WHERE kind = ? AND id = ?`, kind, id).
		Scan(&row.AccountID, &row.PropertyID, &row.ParentID, &pos, &applied, &row.State, &row.Lookup, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return doc, row, false, nil
	}
	if err != nil {
		return doc, row, false, fmt.Errorf("load %s %s: %w", kind, id, err)
	}
	row.Kind, row.ID, row.Position, row.Applied = kind, id, uint64(pos), uint64(applied)
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return doc, row, false, fmt.Errorf("load %s %s: %w", kind, id, err)
	}
	return doc, row, true, nil
}

// Privater is a document with a `private` part that only some callers may
// see; Public returns the document without it.
type Privater interface {
	Public() any
}

// Save writes a document and its row. The public column holds the document
// without its private part, so reads pick a column instead of editing JSON.
func Save(ctx context.Context, tx projections.Tx, row Row, doc any) error {
	raw, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("save %s %s: %w", row.Kind, row.ID, err)
	}
	public := raw
	if p, ok := doc.(Privater); ok {
		if public, err = json.Marshal(p.Public()); err != nil {
			return fmt.Errorf("save %s %s: %w", row.Kind, row.ID, err)
		}
	}
	err = tx.Write(ctx, `INSERT INTO `+tx.Table(Table)+` (kind, id, account_id, property_id, parent_id, position, applied, state, lookup, doc, public)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET account_id = excluded.account_id, property_id = excluded.property_id,
			parent_id = excluded.parent_id, applied = excluded.applied, state = excluded.state, lookup = excluded.lookup,
			doc = excluded.doc, public = excluded.public`,
		row.Kind, row.ID, row.AccountID, row.PropertyID, row.ParentID, int64(row.Position), int64(row.Applied), row.State, row.Lookup, string(raw), string(public))
	if err != nil {
		return fmt.Errorf("save %s %s: %w", row.Kind, row.ID, err)
	}
	return nil
}

// Delete removes a document (for entities whose deletion leaves nothing to
// show; most keep a deleted typeState instead).
func Delete(ctx context.Context, tx projections.Tx, kind, id string) error {
	err := tx.Write(ctx, `DELETE FROM `+tx.Table(Table)+` WHERE kind = ? AND id = ?`, kind, id)
	return err
}

// Update loads a document, lets change modify it and its row, touches it
// with env and saves it. A missing document is left alone: an event about
// an entity this read model never saw changes nothing.
func Update[T any](ctx context.Context, tx projections.Tx, kind, id string, env eventstore.Envelope, change func(doc *T, row *Row) error) error {
	doc, row, found, err := Load[T](ctx, tx, kind, id)
	if err != nil || !found || env.Position < row.Applied {
		return err
	}
	row.Applied = env.Position
	if err := change(&doc, &row); err != nil {
		return err
	}
	if t, ok := any(&doc).(interface{ Touch(eventstore.Envelope) }); ok {
		t.Touch(env)
	}
	return Save(ctx, tx, row, doc)
}
