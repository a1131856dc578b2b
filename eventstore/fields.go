package eventstore

import (
	"bytes"
	"encoding/json"
	"sync"
)

// payloadFields is an envelope's payload split into its top-level fields,
// once, whichever consumer asks first.
type payloadFields struct {
	once sync.Once
	m    map[string]json.RawMessage
}

// Fields returns the payload's top-level fields as stored, undecoded, or
// nil when the payload is not a JSON object. Several read models index
// the same fields of every event: an envelope from Registry.Decode splits
// its payload once for all of them, and a reader can split it ahead of
// the writer by calling Fields first. The map is shared: do not change it.
func (e Envelope) Fields() map[string]json.RawMessage {
	if e.fields == nil {
		return SplitFields(e.Raw)
	}
	e.fields.once.Do(func() { e.fields.m = SplitFields(e.Raw) })
	return e.fields.m
}

// SplitFields splits a JSON object into its top-level fields; nil when raw
// is not an object.
func SplitFields(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// FieldString returns a field's value when it is a JSON string, else "".
func FieldString(fields map[string]json.RawMessage, name string) string {
	v := fields[name]
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}
