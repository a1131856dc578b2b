// Package webhooks keeps each account's webhooks (the projection, this file
// and store.go) and delivers the account's events to them through Watermill
// (the delivery*.go files): a fan-out stage turns each event message into one
// delivery message per subscribed webhook, and a deliver stage POSTs it,
// signed, retrying with backoff and handing what never succeeds to a poison
// queue, from which an operator replays it.
package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Table is the logical name of the webhooks table.
const Table = "webhooks"

// Projection keeps every webhook, live or deleted. A deleted one keeps its
// row (with the position of its deletion) so that an event logged before the
// deletion still finds it and one logged after does not.
type Projection struct{}

// New returns the webhooks projection.
func New() *Projection { return &Projection{} }

// Name implements projections.Projection.
func (*Projection) Name() string { return "webhooks" }

// Version implements projections.Projection.
func (*Projection) Version() int { return 1 }

// EventTypes implements projections.Projection.
func (*Projection) EventTypes() []string {
	return []string{webhook.WebhookRegistered{}.EventType(), webhook.WebhookDeleted{}.EventType()}
}

// Tables implements projections.Projection.
func (*Projection) Tables() []string { return []string{Table} }

// Setup implements projections.Projection.
func (*Projection) Setup(ctx context.Context, tx projections.Tx) error {
	t := tx.Table(Table)
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			webhook_id TEXT PRIMARY KEY,
			account_id TEXT NOT NULL,
			url TEXT NOT NULL,
			event_types TEXT NOT NULL,
			created_at TEXT NOT NULL,
			position BIGINT NOT NULL,
			deleted_position BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_account ON ` + t + ` (account_id, position)`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("webhooks setup: %w", err)
		}
	}
	return nil
}

// Apply implements projections.Projection. Applying an event twice changes
// nothing.
func (*Projection) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	switch e := env.Event.(type) {
	case webhook.WebhookRegistered:
		types, err := json.Marshal(e.EventTypes)
		if err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+tx.Table(Table)+`
			(webhook_id, account_id, url, event_types, created_at, position, deleted_position)
			VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (webhook_id) DO NOTHING`,
			e.WebhookID.String(), e.AccountID.String(), e.URL, string(types),
			e.CreatedAt.UTC().Format(time.RFC3339Nano), int64(env.Position))
		if err != nil {
			return fmt.Errorf("webhooks: register %s: %w", e.WebhookID, err)
		}
	case webhook.WebhookDeleted:
		_, err := tx.Exec(ctx, `UPDATE `+tx.Table(Table)+` SET deleted_position = ?
			WHERE webhook_id = ? AND deleted_position = 0`, int64(env.Position), e.WebhookID.String())
		if err != nil {
			return fmt.Errorf("webhooks: delete %s: %w", e.WebhookID, err)
		}
	}
	return nil
}
