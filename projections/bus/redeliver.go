package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
)

// MetaRedelivery marks a message published again by an operator's
// re-delivery (PUT /events/{eventId}/process) rather than by the
// forwarder; its value is an id of that re-delivery, new each time. The
// message is otherwise the forwarder's (Encode: its UUID is the event
// id): a consumer that deduplicates by UUID drops it, one that honours
// the mark (webhook delivery) takes the event again, once per id.
const MetaRedelivery = "redelivery"

// Redelivery publishes logged events again on the bus, for every consumer.
type Redelivery struct {
	store eventstore.Store
	pub   message.Publisher
}

// NewRedelivery returns a Redelivery of store's events to pub (the
// forwarder's publisher), refusing nil dependencies.
func NewRedelivery(store eventstore.Store, pub message.Publisher) (*Redelivery, error) {
	if store == nil || pub == nil {
		return nil, errors.New("bus: redelivery needs a store and a publisher")
	}
	return &Redelivery{store: store, pub: pub}, nil
}

// Reprocess publishes the event at position again, encoded and on the
// topic as the forwarder publishes it (Encode, Topic), marked with
// MetaRedelivery. An event no message can carry, which the forwarder
// skipped, has nothing to publish again.
func (r *Redelivery) Reprocess(ctx context.Context, position uint64) error {
	if position == 0 {
		return errors.New("bus: redeliver: no event at position 0")
	}
	recs, err := r.store.ReadAll(ctx, position-1, 1, eventstore.Filter{})
	if err != nil {
		return fmt.Errorf("bus: redeliver: %w", err)
	}
	if len(recs) == 0 || recs[0].Position != position {
		return fmt.Errorf("bus: redeliver: no event at position %d", position)
	}
	msg, err := Encode(recs[0])
	if err != nil {
		return nil
	}
	msg.Metadata.Set(MetaRedelivery, uuid.NewString())
	if err := r.pub.Publish(Topic(recs[0].Stream), msg); err != nil {
		return fmt.Errorf("bus: redeliver event %s: %w", recs[0].ID, err)
	}
	return nil
}

// dedupeID is a message's Nats-Msg-Id: its UUID, so that JetStream drops
// the forwarder's repeats of an event, with a re-delivery's id added, so
// that it does not drop the re-delivery as one of them.
func dedupeID(msg *message.Message) string {
	if redelivery := msg.Metadata.Get(MetaRedelivery); redelivery != "" {
		return msg.UUID + "/" + MetaRedelivery + "/" + redelivery
	}
	return msg.UUID
}
