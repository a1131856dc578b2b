package webhooks

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/projections"
)

// DeliveriesTable holds delivery attempts. They are operational state, not
// domain facts, so they live here and not in the event log; no projection
// owns the table, so a rebuild of the webhooks read model keeps it.
const DeliveriesTable = "webhook_deliveries"

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Errors of the deliveries API.
var (
	ErrDeliveryNotFound = domain.NewError(domain.ErrNotFound, "delivery not found")
	ErrNotFailed        = domain.NewError(domain.ErrConflict, "only a failed delivery can be replayed")
)

// DeliveryRecord is one delivery of one event to one webhook, as GET
// /accounts/webhooks/{webhookId}/deliveries answers it.
type DeliveryRecord struct {
	DeliveryID    uuid.UUID  `json:"deliveryId"`
	WebhookID     uuid.UUID  `json:"webhookId"`
	EventID       uuid.UUID  `json:"eventId"`
	EventType     string     `json:"eventType"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastError     *string    `json:"lastError"`
	LastAttemptAt *time.Time `json:"lastAttemptAt"`
	DeliveredAt   *time.Time `json:"deliveredAt"`

	AccountID uuid.UUID `json:"-"`
	// Position is the $all position of the event; lists page on it.
	Position uint64 `json:"-"`
	// payload is the bus.Event JSON that is POSTed.
	payload []byte
}

// deliveries reads and writes the deliveries table.
type deliveries struct {
	db *projections.DB
}

// setup creates the table if missing.
func (t deliveries) setup(ctx context.Context) error {
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + DeliveriesTable + ` (
			delivery_id TEXT PRIMARY KEY,
			webhook_id TEXT NOT NULL,
			account_id TEXT NOT NULL,
			event_id TEXT NOT NULL,
			event_type TEXT NOT NULL,
			position BIGINT NOT NULL,
			payload TEXT NOT NULL,
			status TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			last_error TEXT,
			last_attempt_at BIGINT,
			delivered_at BIGINT,
			created_at BIGINT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS ` + DeliveriesTable + `_by_webhook ON ` + DeliveriesTable + ` (webhook_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + DeliveriesTable + `_by_status ON ` + DeliveriesTable + ` (status, position)`,
	} {
		if _, err := t.exec(ctx, stmt); err != nil {
			return fmt.Errorf("webhook deliveries setup: %w", err)
		}
	}
	return nil
}

// exec runs one write through DB.Update, on the read models' writing
// connection, and answers the rows it changed.
func (t deliveries) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := t.db.Update(ctx, func(tx projections.Tx) error {
		res, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// insertPending records a new delivery; one already recorded (the event
// message came again) is left as it is.
func (t deliveries) insertPending(ctx context.Context, d DeliveryRecord, now time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO `+DeliveriesTable+`
		(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (delivery_id) DO NOTHING`,
		d.DeliveryID.String(), d.WebhookID.String(), d.AccountID.String(), d.EventID.String(), d.EventType,
		int64(d.Position), string(d.payload), StatusPending, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("record delivery %s: %w", d.DeliveryID, err)
	}
	return nil
}

const deliveryColumns = `delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, last_error, last_attempt_at, delivered_at`

// get returns one delivery, or ErrDeliveryNotFound.
func (t deliveries) get(ctx context.Context, id uuid.UUID) (DeliveryRecord, error) {
	rows, err := t.db.QueryContext(ctx, t.db.Dialect.Rebind(`SELECT `+deliveryColumns+` FROM `+DeliveriesTable+`
		WHERE delivery_id = ?`), id.String())
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	if len(out) == 0 {
		return DeliveryRecord{}, ErrDeliveryNotFound
	}
	return out[0], nil
}

// claim counts a new attempt of a pending delivery that has had attempts
// so far; false means another consumer attempted it meanwhile or it is
// settled, and this copy of the message has nothing to do.
func (t deliveries) claim(ctx context.Context, id uuid.UUID, attempts int, now time.Time) (bool, error) {
	n, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET attempts = attempts + 1, last_attempt_at = ?
		WHERE delivery_id = ? AND status = ? AND attempts = ?`, now.UnixMilli(), id.String(), StatusPending, attempts)
	if err != nil {
		return false, fmt.Errorf("claim delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// delivered settles a delivery as delivered.
func (t deliveries) delivered(ctx context.Context, id uuid.UUID, now time.Time) error {
	_, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET status = ?, delivered_at = ?, last_error = NULL
		WHERE delivery_id = ? AND status = ?`, StatusDelivered, now.UnixMilli(), id.String(), StatusPending)
	if err != nil {
		return fmt.Errorf("settle delivery %s: %w", id, err)
	}
	return nil
}

// attemptFailed notes why the last attempt failed; the delivery stays
// pending while retries remain.
func (t deliveries) attemptFailed(ctx context.Context, id uuid.UUID, reason string) error {
	_, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET last_error = ? WHERE delivery_id = ? AND status = ?`,
		reason, id.String(), StatusPending)
	if err != nil {
		return fmt.Errorf("note failed attempt of delivery %s: %w", id, err)
	}
	return nil
}

// failed settles a pending delivery as failed; reason, when set, replaces
// the last error.
func (t deliveries) failed(ctx context.Context, id uuid.UUID, reason string) error {
	query := `UPDATE ` + DeliveriesTable + ` SET status = ? WHERE delivery_id = ? AND status = ?`
	args := []any{StatusFailed, id.String(), StatusPending}
	if reason != "" {
		query = `UPDATE ` + DeliveriesTable + ` SET status = ?, last_error = ? WHERE delivery_id = ? AND status = ?`
		args = []any{StatusFailed, reason, id.String(), StatusPending}
	}
	if _, err := t.exec(ctx, query, args...); err != nil {
		return fmt.Errorf("fail delivery %s: %w", id, err)
	}
	return nil
}

// requeue turns a failed delivery of webhookID back to pending.
func (t deliveries) requeue(ctx context.Context, webhookID, id uuid.UUID) (DeliveryRecord, error) {
	d, err := t.get(ctx, id)
	if err != nil {
		return DeliveryRecord{}, err
	}
	if d.WebhookID != webhookID {
		return DeliveryRecord{}, ErrDeliveryNotFound
	}
	n, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET status = ? WHERE delivery_id = ? AND status = ?`,
		StatusPending, id.String(), StatusFailed)
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("requeue delivery %s: %w", id, err)
	}
	if n == 0 {
		return DeliveryRecord{}, ErrNotFailed
	}
	d.Status = StatusPending
	return d, nil
}

// pending returns every pending delivery, oldest event first.
func (t deliveries) pending(ctx context.Context) ([]DeliveryRecord, error) {
	rows, err := t.db.QueryContext(ctx, t.db.Dialect.Rebind(`SELECT `+deliveryColumns+` FROM `+DeliveriesTable+`
		WHERE status = ? ORDER BY position`), StatusPending)
	if err != nil {
		return nil, fmt.Errorf("pending deliveries: %w", err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("pending deliveries: %w", err)
	}
	return out, nil
}

// list returns one page of a webhook's deliveries, newest event first,
// before the cursor (0: from the newest), and the next page's cursor (0 on
// the last).
func (t deliveries) list(ctx context.Context, webhookID uuid.UUID, before uint64, size int) ([]DeliveryRecord, uint64, error) {
	query := `SELECT ` + deliveryColumns + ` FROM ` + DeliveriesTable + ` WHERE webhook_id = ?`
	args := []any{webhookID.String()}
	if before > 0 {
		query += ` AND position < ?`
		args = append(args, int64(before))
	}
	query += ` ORDER BY position DESC LIMIT ?`
	args = append(args, size+1)
	rows, err := t.db.QueryContext(ctx, t.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("deliveries of %s: %w", webhookID, err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("deliveries of %s: %w", webhookID, err)
	}
	if len(out) > size {
		out = out[:size]
		return out, out[size-1].Position, nil
	}
	return out, 0, nil
}

func scanDeliveries(rows *sql.Rows) ([]DeliveryRecord, error) {
	defer rows.Close()
	var out []DeliveryRecord
	for rows.Next() {
		var d DeliveryRecord
		var id, hook, account, event, payload string
		var pos int64
		var lastError sql.NullString
		var lastAttempt, delivered sql.NullInt64
		if err := rows.Scan(&id, &hook, &account, &event, &d.EventType, &pos, &payload, &d.Status, &d.Attempts,
			&lastError, &lastAttempt, &delivered); err != nil {
			return nil, err
		}
		var err error
		for _, p := range []struct {
			dst *uuid.UUID
			raw string
		}{{&d.DeliveryID, id}, {&d.WebhookID, hook}, {&d.AccountID, account}, {&d.EventID, event}} {
			if *p.dst, err = uuid.Parse(p.raw); err != nil {
				return nil, fmt.Errorf("delivery %s: id %q: %w", id, p.raw, err)
			}
		}
		d.Position, d.payload = uint64(pos), []byte(payload)
		if lastError.Valid {
			d.LastError = &lastError.String
		}
		d.LastAttemptAt, d.DeliveredAt = millis(lastAttempt), millis(delivered)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func millis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}
