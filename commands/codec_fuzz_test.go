package commands_test

import (
	"bytes"
	"testing"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore"
)

// FuzzEventCodec decodes any payload and metadata as each event type the
// server registers, as a projection reads the log: it fails or decodes;
// what decodes encodes again, and from the second round on the bytes no
// longer change.
func FuzzEventCodec(f *testing.F) {
	r := commands.NewRegistry()
	types := r.Types()
	for i := range types {
		f.Add(uint16(i), []byte(`{}`), []byte(`{"schema":1}`))
	}
	f.Add(uint16(0), []byte(`{"lockId":"6f1c8e2a-0000-4000-8000-000000000001","at":"2030-01-01T00:00:00Z"}`), []byte(`{}`))
	f.Add(uint16(1), []byte(`null`), []byte(`{"schema":-1}`))
	f.Add(uint16(2), []byte(`[]`), []byte(`{"schema":99}`))
	f.Fuzz(func(t *testing.T, which uint16, data, meta []byte) {
		typ := types[int(which)%len(types)]
		env, err := r.Decode(eventstore.RecordedEvent{ID: uuid.New(), Type: typ, Stream: "s-1", Data: data, Metadata: meta})
		if err != nil {
			return
		}
		if !env.Known || env.Event == nil {
			t.Fatalf("%s decoded as unknown", typ)
		}
		once := reencode(t, r, env)
		twice := reencode(t, r, decode(t, r, once))
		if !bytes.Equal(once.Data, twice.Data) || once.Type != typ || twice.Type != typ {
			t.Fatalf("%s does not settle: %s then %s", typ, once.Data, twice.Data)
		}
	})
}

func reencode(t *testing.T, r *eventstore.Registry, env eventstore.Envelope) eventstore.EventData {
	t.Helper()
	ev, ok := env.Event.(eventstore.TypedEvent)
	if !ok {
		t.Fatalf("%s decoded to %T, not an event", env.Type, env.Event)
	}
	out, err := r.Encode(env.ID, ev, env.Metadata)
	if err != nil {
		t.Fatalf("%s decoded but does not encode: %v", env.Type, err)
	}
	return out
}

func decode(t *testing.T, r *eventstore.Registry, d eventstore.EventData) eventstore.Envelope {
	t.Helper()
	env, err := r.Decode(eventstore.RecordedEvent{ID: d.ID, Type: d.Type, Stream: "s-1", Data: d.Data, Metadata: d.Metadata})
	if err != nil {
		t.Fatalf("%s encoded to what does not decode: %v: %s", d.Type, err, d.Data)
	}
	return env
}
