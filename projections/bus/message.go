// Package bus carries logged events to integration consumers through
// Watermill: the forwarder publishes each event of $all as one message, and
// consumers (webhook delivery, other services) read them back with Decode.
package bus

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
)

// Message metadata keys; every message carries all of them.
const (
	MetaType          = "type"
	MetaStream        = "stream"
	MetaPosition      = "position"
	MetaCorrelationID = "correlationId"
	// MetaAccountID names the account the event belongs to, so a consumer
	// can route it (webhooks) without decoding the payload: the payload's
	// own accountId when it has one (as GET /events attributes events),
	// else that of the key that caused it. They differ for a child
	// account's first events, which its parent's key causes: they are the
	// child's.
	MetaAccountID = "accountId"
)

// TopicPrefix starts every topic: events of stream `lock-<id>` go to
// `accessd.lock`.
const TopicPrefix = "accessd."

// InternalTopicPrefix starts the topics of accessd's own work queues (the
// webhook deliveries and their poison queue). They are not events and sit
// outside TopicPrefix, so a consumer of `accessd.>` sees only events.
const InternalTopicPrefix = "accessd-internal."

// Topic is the topic of a stream's events: TopicPrefix plus its category.
func Topic(stream string) string {
	category, _, _ := strings.Cut(stream, "-")
	return TopicPrefix + category
}

// Event is the JSON payload of a message: the event as the log holds it,
// less the fields withheld from every consumer (withheld).
type Event struct {
	EventID    uuid.UUID       `json:"eventId"`
	Type       string          `json:"type"`
	Stream     string          `json:"stream"`
	Revision   uint64          `json:"revision"`
	Position   uint64          `json:"position"`
	RecordedAt time.Time       `json:"recordedAt"`
	Data       json.RawMessage `json:"data"`
	Metadata   json.RawMessage `json:"metadata"`
}

// Encode makes the message of one logged event. Its UUID is the event id, so
// consumers deduplicate redeliveries (delivery is at-least-once).
func Encode(ev eventstore.RecordedEvent) (*message.Message, error) {
	body := Event{
		EventID: ev.ID, Type: ev.Type, Stream: ev.Stream, Revision: ev.Revision,
		Position: ev.Position, RecordedAt: ev.RecordedAt.UTC(),
		Data: orNull(Withhold(ev.Type, ev.Data)), Metadata: orNull(ev.Metadata),
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("bus: encode %s@%d: %w", ev.Stream, ev.Revision, err)
	}
	var meta eventstore.Metadata
	// Metadata the codec did not write (foreign events) just leaves the ids empty.
	_ = json.Unmarshal(ev.Metadata, &meta)
	msg := message.NewMessage(ev.ID.String(), payload)
	msg.Metadata.Set(MetaType, ev.Type)
	msg.Metadata.Set(MetaStream, ev.Stream)
	msg.Metadata.Set(MetaPosition, strconv.FormatUint(ev.Position, 10))
	msg.Metadata.Set(MetaCorrelationID, meta.CorrelationID)
	msg.Metadata.Set(MetaAccountID, accountOf(ev.Data, meta.AccountID))
	return msg, nil
}

// accountOf is the account an event belongs to: the accountId of its
// payload when that is an id, else caused (the account of the key that
// caused it).
func accountOf(data json.RawMessage, caused string) string {
	var payload struct {
		AccountID string `json:"accountId"`
	}
	if json.Unmarshal(data, &payload) == nil {
		if id, err := uuid.Parse(payload.AccountID); err == nil && id != uuid.Nil {
			return id.String()
		}
	}
	return caused
}

// Decode reads a message made by Encode.
func Decode(msg *message.Message) (Event, error) {
	var ev Event
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		return Event{}, fmt.Errorf("bus: message %s: %w", msg.UUID, err)
	}
	if ev.EventID == uuid.Nil || ev.Type == "" || ev.Stream == "" {
		return Event{}, fmt.Errorf("bus: message %s: not an accessd event", msg.UUID)
	}
	return ev, nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}
