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
// (attempts keep counting). The message gets an id of its own, since a
// broker may drop a message whose id it has seen (the delivery's id is in
// its metadata). The caller checks that the webhook is the account's.
func (d *Delivery) Replay(ctx context.Context, webhookID, deliveryID uuid.UUID) error {
	hook, err := d.byID(ctx, webhookID)
	if err != nil {
		return err
	}
	if hook.DeletedPosition != 0 {
		return webhook.ErrNotFound
	}
	rec, err := d.table.requeue(ctx, hook.WebhookID, deliveryID)
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

// Resume queues again every delivery still pending: after a restart, those
// whose messages were lost with an in-process queue. Call it once the
// router runs (an in-process queue drops what nobody subscribes to yet). A
// delivery that is also still queued is attempted once: the attempt count
// it is claimed at settles which copy sends.
func (d *Delivery) Resume(ctx context.Context) (int, error) {
	pending, err := d.table.pending(ctx)
	if err != nil {
		return 0, err
	}
	for i, rec := range pending {
		if err := d.queuePub.Publish(DeliveriesTopic, deliveryMessage(uuid.NewString(), rec)); err != nil {
			return i, fmt.Errorf("webhooks: resume delivery %s: %w", rec.DeliveryID, err)
		}
	}
	if len(pending) > 0 {
		d.log.InfoContext(ctx, "webhooks: pending deliveries queued again", "count", len(pending))
	}
	return len(pending), nil
}
