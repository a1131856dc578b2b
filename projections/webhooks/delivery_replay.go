package webhooks

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/webhook"
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
