package eventstore

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/uuid"
)

func TestFieldsSplitOncePerEnvelope(t *testing.T) {
	reg := NewRegistry()
	rec := RecordedEvent{ID: uuid.New(), Type: "Unregistered", Stream: "lock-1",
		Data: json.RawMessage(`{"lockId":"L1","name":"Door \"A\"","n":3,"tags":["x"],"none":null}`)}
	env, err := reg.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	copied := env // envelopes travel by value; the split travels with them
	first, second := env.Fields(), copied.Fields()
	if reflect.ValueOf(first).Pointer() != reflect.ValueOf(second).Pointer() {
		t.Fatal("copies of one decoded envelope split its payload twice")
	}
	for name, want := range map[string]string{"lockId": "L1", "name": `Door "A"`, "n": "", "tags": "", "none": "", "missing": ""} {
		if got := FieldString(first, name); got != want {
			t.Errorf("FieldString(%s) = %q, want %q", name, got, want)
		}
	}
	if string(first["tags"]) != `["x"]` {
		t.Errorf("tags = %s, want the stored bytes", first["tags"])
	}
}

func TestFieldsOfANonObjectPayloadAreNil(t *testing.T) {
	for _, raw := range []string{`[1,2]`, `"s"`, `{`, ``} {
		if got := (Envelope{Raw: json.RawMessage(raw)}).Fields(); got != nil {
			t.Errorf("Fields of %q = %v, want nil", raw, got)
		}
	}
}
