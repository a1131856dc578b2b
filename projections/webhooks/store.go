package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/projections"
)

// Webhook is a webhook as GET /accounts/webhooks answers it; the secret is
// never part of it.
type Webhook struct {
	WebhookID  uuid.UUID `json:"webhookId"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"eventTypes"`
	CreatedAt  time.Time `json:"createdAt"`

	AccountID uuid.UUID `json:"-"`
	// Position is the $all position of its registration; lists page on it.
	Position uint64 `json:"-"`
	// DeletedPosition is that of its deletion, 0 while it is live.
	DeletedPosition uint64 `json:"-"`
}

// liveAt reports whether the webhook existed when the event at position was
// logged: registered before it and not deleted before it.
func (w Webhook) liveAt(position uint64) bool {
	return w.Position < position && (w.DeletedPosition == 0 || w.DeletedPosition > position)
}

// Store reads the webhooks read model.
type Store struct {
	db *projections.DB
}

// NewStore returns a reader of db's webhooks.
func NewStore(db *projections.DB) *Store { return &Store{db: db} }

const webhookColumns = `webhook_id, account_id, url, event_types, created_at, position, deleted_position`

// Webhook returns a live webhook of the account; another account's, a
// deleted or an unknown one is webhook.ErrNotFound.
func (s *Store) Webhook(ctx context.Context, accountID, webhookID uuid.UUID) (Webhook, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Dialect.Rebind(`SELECT `+webhookColumns+` FROM `+Table+`
		WHERE webhook_id = ? AND account_id = ? AND deleted_position = 0`), webhookID.String(), accountID.String())
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook %s: %w", webhookID, err)
	}
	hooks, err := scanWebhooks(rows)
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook %s: %w", webhookID, err)
	}
	if len(hooks) == 0 {
		return Webhook{}, webhook.ErrNotFound
	}
	return hooks[0], nil
}

// Webhooks returns one page of the account's live webhooks, oldest first,
// after the cursor (0: from the start), and the cursor of the next page (0
// on the last).
func (s *Store) Webhooks(ctx context.Context, accountID uuid.UUID, after uint64, size int) ([]Webhook, uint64, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Dialect.Rebind(`SELECT `+webhookColumns+` FROM `+Table+`
		WHERE account_id = ? AND deleted_position = 0 AND position > ? ORDER BY position LIMIT ?`),
		accountID.String(), int64(after), size+1)
	if err != nil {
		return nil, 0, fmt.Errorf("list webhooks: %w", err)
	}
	hooks, err := scanWebhooks(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list webhooks: %w", err)
	}
	if len(hooks) > size {
		hooks = hooks[:size]
		return hooks, hooks[size-1].Position, nil
	}
	return hooks, 0, nil
}

// subscribers returns the account's webhooks that take an event of
// eventType logged at position.
func (s *Store) subscribers(ctx context.Context, accountID uuid.UUID, eventType string, position uint64) ([]Webhook, error) {
	hooks, err := s.ofAccount(ctx, accountID, position)
	if err != nil {
		return nil, err
	}
	return takers(hooks, eventType, position), nil
}

// ofAccount returns the account's webhooks, live or deleted, registered
// before position (0: all).
func (s *Store) ofAccount(ctx context.Context, accountID uuid.UUID, before uint64) ([]Webhook, error) {
	q, args := `SELECT `+webhookColumns+` FROM `+Table+` WHERE account_id = ?`, []any{accountID.String()}
	if before > 0 {
		q, args = q+` AND position < ?`, append(args, int64(before))
	}
	rows, err := s.db.QueryContext(ctx, s.db.Dialect.Rebind(q+` ORDER BY position`), args...)
	if err != nil {
		return nil, fmt.Errorf("webhooks of %s: %w", accountID, err)
	}
	hooks, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("webhooks of %s: %w", accountID, err)
	}
	return hooks, nil
}

// takers are the webhooks of hooks that take an event of eventType logged
// at position.
func takers(hooks []Webhook, eventType string, position uint64) []Webhook {
	var out []Webhook
	for _, w := range hooks {
		if w.liveAt(position) && slices.Contains(w.EventTypes, eventType) {
			out = append(out, w)
		}
	}
	return out
}

// byID returns a webhook, live or deleted, whatever its account.
func (s *Store) byID(ctx context.Context, webhookID uuid.UUID) (Webhook, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Dialect.Rebind(`SELECT `+webhookColumns+` FROM `+Table+`
		WHERE webhook_id = ?`), webhookID.String())
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook %s: %w", webhookID, err)
	}
	hooks, err := scanWebhooks(rows)
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook %s: %w", webhookID, err)
	}
	if len(hooks) == 0 {
		return Webhook{}, webhook.ErrNotFound
	}
	return hooks[0], nil
}

func scanWebhooks(rows *sql.Rows) ([]Webhook, error) {
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		var w Webhook
		var id, account, types, created string
		var pos, deleted int64
		if err := rows.Scan(&id, &account, &w.URL, &types, &created, &pos, &deleted); err != nil {
			return nil, err
		}
		var err error
		if w.WebhookID, err = uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("webhook id %q: %w", id, err)
		}
		if w.AccountID, err = uuid.Parse(account); err != nil {
			return nil, fmt.Errorf("webhook %s account %q: %w", id, account, err)
		}
		if err := json.Unmarshal([]byte(types), &w.EventTypes); err != nil {
			return nil, fmt.Errorf("webhook %s event types: %w", id, err)
		}
		if w.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
			return nil, fmt.Errorf("webhook %s created at: %w", id, err)
		}
		w.Position, w.DeletedPosition = uint64(pos), uint64(deleted)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
