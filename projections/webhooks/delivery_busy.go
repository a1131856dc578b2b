package webhooks

import (
	"context"
	"sync"

	"github.com/google/uuid"
)

// A receiver that hangs makes each attempt wait for the HTTP client's
// timeout. Were all its deliveries' attempts made side by side, they would
// take every worker (WithWorkers) and hold up the other webhooks'. So at
// most perWebhookAttempts attempts to one webhook are under way at once in
// a process; the attempt of any further delivery is put off: its message
// is acknowledged and the delivery is due again after putOffFor, without
// counting an attempt. When one of the webhook's attempts ends, one
// delivery put off for it is due at once, so a receiver that is merely
// slow is kept as busy as the bound allows.

// busyWebhooks counts the attempts under way per webhook and the
// deliveries put off for them.
type busyWebhooks struct {
	mu       sync.Mutex
	underway map[uuid.UUID]int
	// waiting holds, per webhook, the deliveries put off and the attempts
	// each had then.
	waiting map[uuid.UUID]map[uuid.UUID]int
}

// take counts one more attempt to webhookID, unless perWebhookAttempts
// are under way already.
func (b *busyWebhooks) take(webhookID uuid.UUID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.underway[webhookID] >= perWebhookAttempts {
		return false
	}
	if b.underway == nil {
		b.underway = map[uuid.UUID]int{}
	}
	b.underway[webhookID]++
	return true
}

// wait notes a delivery put off for webhookID.
func (b *busyWebhooks) wait(webhookID, deliveryID uuid.UUID, attempts int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waiting == nil {
		b.waiting = map[uuid.UUID]map[uuid.UUID]int{}
	}
	if b.waiting[webhookID] == nil {
		b.waiting[webhookID] = map[uuid.UUID]int{}
	}
	b.waiting[webhookID][deliveryID] = attempts
}

// release ends an attempt that take counted, and hands back one delivery
// put off for the webhook, if any.
func (b *busyWebhooks) release(webhookID uuid.UUID) (deliveryID uuid.UUID, attempts int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.underway[webhookID]--; b.underway[webhookID] <= 0 {
		delete(b.underway, webhookID)
	}
	for id, n := range b.waiting[webhookID] {
		delete(b.waiting[webhookID], id)
		if len(b.waiting[webhookID]) == 0 {
			delete(b.waiting, webhookID)
		}
		return id, n, true
	}
	return uuid.Nil, 0, false
}

// putOff has the next attempt of rec wait for an attempt under way to its
// webhook to end (or for putOffFor).
func (d *Delivery) putOff(ctx context.Context, rec DeliveryRecord) {
	due := d.now().Add(putOffFor)
	if err := d.table.putOff(ctx, rec.DeliveryID, rec.Attempts, due); err != nil {
		d.log.WarnContext(ctx, "webhooks: cannot put off a delivery; it is retried later", "deliveryId", rec.DeliveryID, "err", err)
		return
	}
	d.busy.wait(rec.WebhookID, rec.DeliveryID, rec.Attempts)
	d.retries.wakeAt(due)
}

// endAttempt ends an attempt to webhookID and makes one delivery put off
// for it due now.
func (d *Delivery) endAttempt(ctx context.Context, webhookID uuid.UUID) {
	id, attempts, ok := d.busy.release(webhookID)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	now := d.now()
	if err := d.table.hurry(ctx, id, attempts, now); err != nil {
		// It is due after putOffFor anyway.
		d.log.WarnContext(ctx, "webhooks: cannot take up a delivery put off", "deliveryId", id, "err", err)
		return
	}
	d.retries.wakeAt(now)
}
