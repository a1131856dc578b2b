package bus

import (
	"errors"
	"fmt"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// outgoing is one message of a batch and its topic.
type outgoing struct {
	topic string
	msg   *message.Message
}

// batchPublisher publishes the messages of several topics in one go, in
// order, returning once the broker stored them all. The forwarder uses it
// when its publisher has it: a batch of interleaved topics then costs one
// wait for acks rather than one per run of a topic.
type batchPublisher interface {
	publishBatch(done <-chan struct{}, batch []outgoing) error
}

// jetStreamPublisher publishes to JetStream in watermill-nats' NATSMarshaler
// format. watermill-nats' own Publisher waits for each message's ack before
// sending the next (one round trip per event, a few thousand events/s); this
// one sends a whole batch asynchronously, then waits for all its acks.
// JetStream stores one connection's publishes in the order sent. If a
// message in mid-batch fails while later ones are stored, the retry stores
// it after them (their copies are dropped as duplicates): consumers that
// care about order across a failure compare the `position` metadata.
type jetStreamPublisher struct {
	js         nats.JetStreamContext
	prefix     string
	marshaler  wmnats.Marshaler
	ackTimeout time.Duration
}

// Publish publishes messages to topic and returns once JetStream stored
// them all.
func (p *jetStreamPublisher) Publish(topic string, messages ...*message.Message) error {
	batch := make([]outgoing, len(messages))
	for i, m := range messages {
		batch[i] = outgoing{topic: topic, msg: m}
	}
	return p.publishBatch(nil, batch)
}

func (p *jetStreamPublisher) publishBatch(done <-chan struct{}, batch []outgoing) error {
	futures := make([]nats.PubAckFuture, len(batch))
	for i, o := range batch {
		subject := p.prefix + o.topic
		nm, err := p.marshaler.Marshal(subject, o.msg)
		if err != nil {
			return fmt.Errorf("publish %s to %s: %w", o.msg.UUID, subject, err)
		}
		// Nats-Msg-Id = the event id: JetStream drops a message it already
		// stored within its dedupe window (a batch re-sent after a crash);
		// a re-delivery has one of its own (dedupeID).
		futures[i], err = p.js.PublishMsgAsync(nm, nats.MsgId(dedupeID(o.msg)))
		if err != nil {
			return fmt.Errorf("publish %s to %s: %w", o.msg.UUID, subject, err)
		}
	}
	timeout := time.NewTimer(p.ackTimeout)
	defer timeout.Stop()
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish %s to %s: %w", batch[i].msg.UUID, p.prefix+batch[i].topic, err)
		case <-timeout.C:
			return fmt.Errorf("publish %s to %s: no ack from JetStream within %s", batch[i].msg.UUID, p.prefix+batch[i].topic, p.ackTimeout)
		case <-done:
			return errors.New("publish interrupted")
		}
	}
	return nil
}

// Close leaves the connection to the Bus.
func (p *jetStreamPublisher) Close() error { return nil }
