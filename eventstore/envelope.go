package eventstore

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// Metadata travels with every event: who caused it, why, when it happened,
// and the stream's hash chain.
type Metadata struct {
	CorrelationID string    `json:"correlationId,omitempty"`
	CausationID   string    `json:"causationId,omitempty"`
	AccountID     string    `json:"accountId,omitempty"`
	UserID        string    `json:"userId,omitempty"`
	APIKeyID      string    `json:"apiKeyId,omitempty"`
	OccurredAt    time.Time `json:"occurredAt"`
	// Schema is the version of the payload's shape when it was written.
	Schema int `json:"schema,omitempty"`
	// Hash is sha256(previous hash in the stream || canonical event), hex,
	// with a prefix naming its form (see ChainHash and HashForm).
	Hash string `json:"hash,omitempty"`
	// RequestFingerprint identifies the client request whose Idempotency-Key
	// the event's id derives from (method, path, canonical body: the HTTP
	// layer builds it), so a later request with the same key can be told
	// apart from a retry. Empty on events of unkeyed commands, of
	// server-side steps, and of builds before it existed. It decides
	// whether a later request is a retry, so the current hash form covers
	// it (the v2 form, written before, does not).
	RequestFingerprint string `json:"requestFingerprint,omitempty"`
}

// Envelope is a decoded event: where it sits in the log, its metadata, and
// its payload as the registered Go value.
type Envelope struct {
	ID         uuid.UUID
	Type       string
	Stream     string
	Revision   uint64
	Position   uint64
	RecordedAt time.Time
	Metadata   Metadata
	// Event is the payload (a value of the registered type), or nil when
	// Known is false.
	Event any
	// Known is false for an event type this build does not know: consumers
	// skip it, they never fail on it.
	Known bool
	// Raw is the payload JSON as stored.
	Raw json.RawMessage
	// fields caches Raw split into top-level fields (see Fields).
	fields *payloadFields
}

// Encode turns a registered payload and its metadata into EventData.
func (r *Registry) Encode(id uuid.UUID, event TypedEvent, meta Metadata) (EventData, error) {
	e := r.byType[reflect.TypeOf(event)]
	if e == nil {
		return EventData{}, fmt.Errorf("encode %T: %w", event, ErrUnknownEventType)
	}
	data, err := json.Marshal(event)
	if err != nil {
		return EventData{}, fmt.Errorf("encode %s: %w", e.name, err)
	}
	meta.Schema = e.schema
	md, err := json.Marshal(meta)
	if err != nil {
		return EventData{}, fmt.Errorf("encode %s metadata: %w", e.name, err)
	}
	return EventData{ID: id, Type: e.name, Data: data, Metadata: md}, nil
}

// Decode turns a recorded event into an Envelope, upcasting old schemas. An
// unknown type is not an error: it comes back with Known false.
func (r *Registry) Decode(rec RecordedEvent) (Envelope, error) {
	env := Envelope{
		ID: rec.ID, Type: rec.Type, Stream: rec.Stream, Revision: rec.Revision,
		Position: rec.Position, RecordedAt: rec.RecordedAt, Raw: rec.Data,
		fields: &payloadFields{},
	}
	if len(rec.Metadata) > 0 {
		if err := json.Unmarshal(rec.Metadata, &env.Metadata); err != nil {
			return env, fmt.Errorf("decode %s@%d metadata: %w", rec.Stream, rec.Revision, err)
		}
	}
	e := r.byName[rec.Type]
	if e == nil {
		return env, nil
	}
	data := rec.Data
	schema := env.Metadata.Schema
	if schema < 1 {
		schema = 1
	}
	if schema > e.schema {
		return env, fmt.Errorf("decode %s@%d: schema %d is newer than this build's %d", rec.Stream, rec.Revision, schema, e.schema)
	}
	for s := schema; s < e.schema; s++ {
		var err error
		if data, err = e.upcasters[s-1](data); err != nil {
			return env, fmt.Errorf("upcast %s from schema %d: %w", rec.Type, s, err)
		}
	}
	v := reflect.New(e.goType)
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		return env, fmt.Errorf("decode %s@%d: %w", rec.Stream, rec.Revision, err)
	}
	env.Event = v.Elem().Interface()
	env.Known = true
	env.Metadata.Schema = e.schema
	return env, nil
}

// EncodeChained encodes an event that will sit at revision of stream, after
// an event whose chain hash was prev, and sets its metadata's Hash. It
// returns the event and its hash, the prev of the next event.
func (r *Registry) EncodeChained(id uuid.UUID, event TypedEvent, meta Metadata, stream string, revision uint64, prev string) (EventData, string, error) {
	ev, err := r.Encode(id, event, meta)
	if err != nil {
		return ev, "", err
	}
	meta.Schema = r.byType[reflect.TypeOf(event)].schema
	meta.Hash = ChainHash(prev, id, ev.Type, stream, revision, ev.Data, meta)
	if ev.Metadata, err = json.Marshal(meta); err != nil {
		return ev, "", fmt.Errorf("encode %s metadata: %w", ev.Type, err)
	}
	return ev, meta.Hash, nil
}
