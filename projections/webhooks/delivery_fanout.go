package webhooks

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/accessd/accessd/projections/bus"
)

// Metadata of a delivery message, beside bus.MetaType and bus.MetaAccountID.
const (
	MetaDeliveryID = "deliveryId"
	MetaWebhookID  = "webhookId"
	MetaEventID    = "eventId"
)

// waitTimeout bounds how long the fan-out waits for the webhooks read model;
// past it the message is handed back to the broker and comes again.
const waitTimeout = 30 * time.Second

// DeliveryID is the id of the delivery of an event to a webhook: a uuid v5
// of both, so an event message that comes twice makes the same delivery.
func DeliveryID(webhookID, eventID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(webhookID, eventID[:])
}

// fanOut turns one event message into a delivery message for each webhook
// of its account that takes its type. A delivery is recorded before it is
// published; one recorded earlier is published again only while no attempt
// has been made (its first publication may have failed), so an event
// message that comes again delivers nothing twice. A message marked as an
// operator's re-delivery (bus.MetaRedelivery) is the exception: it starts
// a new round of attempts for each settled delivery of the event to a
// webhook not deleted since, once per re-delivery (see redeliver).
func (d *Delivery) fanOut(msg *message.Message) ([]*message.Message, error) {
	ctx := msg.Context()
	ev, err := bus.Decode(msg)
	if err != nil {
		d.log.WarnContext(ctx, "webhooks: skipping a message that is not an accessd event", "messageId", msg.UUID, "err", err)
		return nil, nil
	}
	raw := msg.Metadata.Get(bus.MetaAccountID)
	if raw == "" {
		return nil, nil // no account's event (a system event): no webhook takes it
	}
	accountID, err := uuid.Parse(raw)
	if err != nil {
		d.log.WarnContext(ctx, "webhooks: skipping an event with a malformed account id", "eventId", ev.EventID, "accountId", raw)
		return nil, nil
	}
	if d.waiter != nil {
		wctx, cancel := context.WithTimeout(ctx, waitTimeout)
		err := d.waiter.WaitFor(wctx, ev.Position)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("webhooks: wait for the read model to reach %d: %w", ev.Position, err)
		}
	}
	hooks, err := d.subscribersAt(ctx, accountID, ev.Type, ev.Position)
	if err != nil {
		return nil, err
	}
	// A message an earlier version published (still in the broker after an
	// upgrade) may carry fields the bus now withholds: they are neither
	// recorded nor sent.
	payload := bus.WithholdPayload(msg.Payload)
	redelivery := msg.Metadata.Get(bus.MetaRedelivery)
	var out []*message.Message
	for _, h := range hooks {
		if redelivery != "" && h.DeletedPosition != 0 {
			continue
		}
		rec := DeliveryRecord{
			DeliveryID: DeliveryID(h.WebhookID, ev.EventID), WebhookID: h.WebhookID,
			EventID: ev.EventID, EventType: ev.Type, Position: ev.Position, payload: payload, AccountID: accountID,
		}
		if err := d.table.insertPending(ctx, rec, d.now()); err != nil {
			return nil, err
		}
		if redelivery != "" {
			again, err := d.table.redeliver(ctx, rec.DeliveryID, redelivery, d.now())
			if err != nil {
				return nil, err
			}
			if again {
				cur, err := d.table.get(ctx, rec.DeliveryID)
				if err != nil {
					return nil, err
				}
				// An id of its own: a broker may drop a message whose id
				// (the delivery's) it has seen.
				out = append(out, deliveryMessage(uuid.NewSHA1(rec.DeliveryID, []byte(redelivery)).String(), cur))
				continue
			}
		}
		cur, err := d.table.get(ctx, rec.DeliveryID)
		if err != nil {
			return nil, err
		}
		if cur.Status != StatusPending || cur.Attempts > 0 {
			continue
		}
		out = append(out, deliveryMessage(rec.DeliveryID.String(), cur))
	}
	return out, nil
}

// deliveryMessage is the message of the next attempt of a delivery (that
// has had rec.Attempts); its payload is the event as the webhook receives
// it.
func deliveryMessage(msgID string, rec DeliveryRecord) *message.Message {
	m := message.NewMessage(msgID, rec.payload)
	m.Metadata.Set(MetaDeliveryID, rec.DeliveryID.String())
	m.Metadata.Set(MetaAttempt, strconv.Itoa(rec.Attempts+1))
	m.Metadata.Set(MetaWebhookID, rec.WebhookID.String())
	m.Metadata.Set(MetaEventID, rec.EventID.String())
	m.Metadata.Set(bus.MetaType, rec.EventType)
	m.Metadata.Set(bus.MetaAccountID, rec.AccountID.String())
	return m
}
