package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/projections"
)

// Replay queues a failed (poisoned) delivery of webhookID again: it is
// pending once more and the deliver stage tries it MaxAttempts times anew
// (attempts keep counting), its first attempt at once. The message gets
// an id of its own, since a broker may drop a message whose id it has
// seen (the delivery's id is in its metadata). The caller checks that the
// webhook is the account's.
func (d *Delivery) Replay(ctx context.Context, webhookID, deliveryID uuid.UUID) error {
	hook, err := d.byID(ctx, webhookID)
	if err != nil {
		return err
	}
	if hook.DeletedPosition != 0 {
		return webhook.ErrNotFound
	}
	rec, err := d.table.requeue(ctx, hook.WebhookID, deliveryID, d.now())
	if err != nil {
		return err
	}
	if err := d.queuePub.Publish(DeliveriesTopic, deliveryMessage(uuid.NewString(), rec)); err != nil {
		err = fmt.Errorf("webhooks: queue delivery %s again: %w", deliveryID, err)
		if ferr := d.table.failed(ctx, deliveryID, ""); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	}
	d.log.InfoContext(ctx, "webhooks: delivery queued again", "webhookId", webhookID, "deliveryId", deliveryID)
	return nil
}

// Resume has the retry loop publish again, as soon as each is due, every
// pending delivery whose message was published earlier: after a restart,
// those messages were lost with an in-process queue. It answers how many
// deliveries are pending. Due deliveries are taken up without it (the
// retry loop reads them from the table when the router starts); on a
// broker that keeps messages, a copy that comes twice makes one attempt.
func (d *Delivery) Resume(ctx context.Context) (int, error) {
	if _, err := d.table.unqueue(ctx); err != nil {
		return 0, fmt.Errorf("webhooks: resume: %w", err)
	}
	n, err := d.table.countPending(ctx)
	if err != nil {
		return 0, fmt.Errorf("webhooks: resume: %w", err)
	}
	d.retries.wakeAt(d.now())
	if n > 0 {
		d.log.InfoContext(ctx, "webhooks: pending deliveries resumed", "count", n)
	}
	return n, nil
}

// RequeueFailed is the operator's replay of the poison queue, done in the
// deliveries table of db (the deliveries database of a server, running or
// not: integration.db with SQLite read models, else the read models):
// every failed delivery of webhookID (uuid.Nil: of every webhook), or the
// one delivery deliveryID when it is not uuid.Nil, is pending again for a
// new round of MaxAttempts, due at now. A running server's retry loop
// publishes them within its poll interval (1 s); a stopped one does when
// it starts. A delivery of a webhook deleted since is settled failed again
// at its turn, untried. It answers how many deliveries it queued again.
func RequeueFailed(ctx context.Context, db *projections.DB, webhookID, deliveryID uuid.UUID, now time.Time) (int64, error) {
	t := &deliveries{db: db}
	if err := t.setup(ctx); err != nil {
		return 0, err
	}
	if t.unscheduled != nil {
		return 0, t.unscheduled
	}
	query := `UPDATE ` + DeliveriesTable + ` SET status = ?, attempts_base = attempts, next_attempt_at = ?, queued_at = NULL
		WHERE status = ?`
	args := []any{StatusPending, now.UnixMilli(), StatusFailed}
	if webhookID != uuid.Nil {
		query += ` AND webhook_id = ?`
		args = append(args, webhookID.String())
	}
	if deliveryID != uuid.Nil {
		query += ` AND delivery_id = ?`
		args = append(args, deliveryID.String())
	}
	n, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("webhooks: queue failed deliveries again: %w", err)
	}
	return n, nil
}
