package eventstore

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockInstalled is a payload at schema 1.
type lockInstalled struct {
	LockID uuid.UUID `json:"lockId"`
	AreaID uuid.UUID `json:"areaId"`
}

func (lockInstalled) EventType() string { return "LockInstalled" }

// lockRenamed is at schema 3: schema 1 had `title`, schema 2 renamed it
// `name`, schema 3 split it into `name` and `note`.
type lockRenamed struct {
	Name string `json:"name"`
	Note string `json:"note"`
}

func (lockRenamed) EventType() string { return "LockRenamed" }

func renameField(from, to string) Upcaster {
	return func(data json.RawMessage) (json.RawMessage, error) {
		m, err := object(data)
		if err != nil {
			return nil, err
		}
		m[to] = m[from]
		delete(m, from)
		return json.Marshal(m)
	}
}

func addNote(data json.RawMessage) (json.RawMessage, error) {
	m, err := object(data)
	if err != nil {
		return nil, err
	}
	m["note"] = "upcast from schema 2"
	return json.Marshal(m)
}

// object decodes a JSON object; null is not one.
func object(data json.RawMessage) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("payload %s is not an object", data)
	}
	return m, nil
}

func testRegistry() *Registry {
	r := NewRegistry()
	r.Register(lockInstalled{})
	r.RegisterSchema(lockRenamed{}, 3, renameField("title", "name"), addNote)
	return r
}

// record places encoded event data in the log, as a backend would.
func record(ev EventData, stream string, rev uint64) RecordedEvent {
	return RecordedEvent{
		ID: ev.ID, Type: ev.Type, Stream: stream, Revision: rev, Position: rev + 1,
		RecordedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Data: ev.Data, Metadata: ev.Metadata,
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	t.Parallel()
	r := testRegistry()
	id := uuid.New()
	payload := lockInstalled{LockID: uuid.New(), AreaID: uuid.New()}
	meta := Metadata{CorrelationID: "corr", UserID: "user-1", OccurredAt: time.Date(2025, 3, 1, 11, 59, 0, 0, time.UTC)}
	ev, err := r.Encode(id, payload, meta)
	require.NoError(t, err)
	assert.Equal(t, id, ev.ID)
	assert.Equal(t, "LockInstalled", ev.Type)
	require.NoError(t, ValidateAppend("lock-1", []EventData{ev}, DefaultMaxEventSize))

	env, err := r.Decode(record(ev, "lock-1", 4))
	require.NoError(t, err)
	assert.True(t, env.Known)
	assert.Equal(t, payload, env.Event)
	assert.Equal(t, "lock-1", env.Stream)
	assert.Equal(t, uint64(4), env.Revision)
	assert.Equal(t, uint64(5), env.Position)
	assert.Equal(t, "corr", env.Metadata.CorrelationID)
	assert.Equal(t, "user-1", env.Metadata.UserID)
	assert.True(t, meta.OccurredAt.Equal(env.Metadata.OccurredAt))
	assert.Equal(t, 1, env.Metadata.Schema)
	assert.JSONEq(t, string(ev.Data), string(env.Raw))

	renamed, err := r.Encode(uuid.New(), lockRenamed{Name: "Front door", Note: "n"}, Metadata{})
	require.NoError(t, err)
	env, err = r.Decode(record(renamed, "lock-1", 5))
	require.NoError(t, err)
	assert.Equal(t, lockRenamed{Name: "Front door", Note: "n"}, env.Event)
	assert.Equal(t, 3, env.Metadata.Schema, "encoded at the current schema")
}

func TestRegistryEncodeUnregistered(t *testing.T) {
	t.Parallel()
	_, err := NewRegistry().Encode(uuid.New(), lockInstalled{}, Metadata{})
	require.ErrorIs(t, err, ErrUnknownEventType)
	// A pointer is another Go type than the registered value.
	_, err = testRegistry().Encode(uuid.New(), &lockInstalled{}, Metadata{})
	require.ErrorIs(t, err, ErrUnknownEventType)
}

func TestRegistryUpcasting(t *testing.T) {
	t.Parallel()
	r := testRegistry()
	cases := []struct {
		name string
		data string
		meta string
		want lockRenamed
	}{
		{"schema 1", `{"title":"Back door"}`, `{"schema":1}`, lockRenamed{Name: "Back door", Note: "upcast from schema 2"}},
		{"no schema means 1", `{"title":"Back door"}`, `{}`, lockRenamed{Name: "Back door", Note: "upcast from schema 2"}},
		{"no metadata means 1", `{"title":"Back door"}`, ``, lockRenamed{Name: "Back door", Note: "upcast from schema 2"}},
		{"schema 2", `{"name":"Gate"}`, `{"schema":2}`, lockRenamed{Name: "Gate", Note: "upcast from schema 2"}},
		{"schema 3", `{"name":"Gate","note":"as is"}`, `{"schema":3}`, lockRenamed{Name: "Gate", Note: "as is"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := RecordedEvent{ID: uuid.New(), Type: "LockRenamed", Stream: "lock-1", Data: json.RawMessage(c.data), Metadata: json.RawMessage(c.meta)}
			env, err := r.Decode(rec)
			require.NoError(t, err)
			require.True(t, env.Known)
			assert.Equal(t, c.want, env.Event)
			assert.Equal(t, 3, env.Metadata.Schema)
			assert.JSONEq(t, c.data, string(env.Raw), "Raw is the payload as stored, before upcasting")
		})
	}
}

func TestRegistryUnknownType(t *testing.T) {
	t.Parallel()
	rec := RecordedEvent{
		ID: uuid.New(), Type: "LockTeleported", Stream: "lock-1", Revision: 2, Position: 9,
		Data: json.RawMessage(`{"to":"mars"}`), Metadata: json.RawMessage(`{"correlationId":"c","schema":7}`),
	}
	env, err := testRegistry().Decode(rec)
	require.NoError(t, err, "an unknown type is skipped, never an error")
	assert.False(t, env.Known)
	assert.Nil(t, env.Event)
	assert.Equal(t, "LockTeleported", env.Type)
	assert.Equal(t, uint64(9), env.Position)
	assert.Equal(t, "c", env.Metadata.CorrelationID)
	assert.JSONEq(t, `{"to":"mars"}`, string(env.Raw))
}

func TestRegistryNewerSchema(t *testing.T) {
	t.Parallel()
	rec := RecordedEvent{ID: uuid.New(), Type: "LockRenamed", Stream: "lock-1", Data: json.RawMessage(`{"name":"x"}`), Metadata: json.RawMessage(`{"schema":4}`)}
	_, err := testRegistry().Decode(rec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer")
}

func TestRegistryBadPayloads(t *testing.T) {
	t.Parallel()
	r := testRegistry()
	for _, c := range []struct{ typ, data, meta string }{
		{"LockInstalled", `{"lockId":"not a uuid"}`, `{}`},
		{"LockInstalled", `[1,2]`, `{}`},
		{"LockInstalled", `{}`, `{"schema":"one"}`},
		{"LockRenamed", `"title"`, `{"schema":1}`}, // the upcaster fails
	} {
		rec := RecordedEvent{ID: uuid.New(), Type: c.typ, Stream: "lock-1", Data: json.RawMessage(c.data), Metadata: json.RawMessage(c.meta)}
		_, err := r.Decode(rec)
		assert.Error(t, err, "%s %s %s", c.typ, c.data, c.meta)
	}
}

func TestRegistryRegisterMistakes(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { testRegistry().Register(lockInstalled{}) }, "twice")
	assert.Panics(t, func() { NewRegistry().RegisterSchema(lockRenamed{}, 3, addNote) }, "too few upcasters")
	assert.Panics(t, func() { NewRegistry().RegisterSchema(lockRenamed{}, 0) }, "schema 0")
	assert.Panics(t, func() { NewRegistry().Register(&lockInstalled{}) }, "pointer")
	r := testRegistry()
	assert.ElementsMatch(t, []string{"LockInstalled", "LockRenamed"}, r.Types())
	assert.True(t, r.Known("LockRenamed"))
	assert.False(t, r.Known("LockTeleported"))
}

// FuzzDecode feeds Decode any type, data and metadata: it may fail, never
// panic, and a known result always carries a value of the registered type.
func FuzzDecode(f *testing.F) {
	f.Add("LockInstalled", []byte(`{"lockId":"6f1c8e2a-0000-4000-8000-000000000001"}`), []byte(`{"schema":1}`))
	f.Add("LockRenamed", []byte(`{"title":"x"}`), []byte(`{}`))
	f.Add("LockRenamed", []byte(`{"name":"x"}`), []byte(`{"schema":2}`))
	f.Add("LockRenamed", []byte(`null`), []byte(`{"schema":-3}`))
	f.Add("LockRenamed", []byte(`{}`), []byte(`{"schema":9223372036854775807}`))
	f.Add("Unknown", []byte(`{`), []byte(`not json`))
	f.Add("", []byte{}, []byte{})
	f.Add("LockInstalled", []byte("\xff"), []byte(`{"occurredAt":"yesterday"}`))
	r := testRegistry()
	f.Fuzz(func(t *testing.T, typ string, data, meta []byte) {
		env, err := r.Decode(RecordedEvent{ID: uuid.New(), Type: typ, Stream: "lock-1", Data: data, Metadata: meta})
		if err != nil {
			return
		}
		if !env.Known {
			if env.Event != nil {
				t.Fatalf("unknown type %q decoded to %v", typ, env.Event)
			}
			return
		}
		switch typ {
		case "LockInstalled":
			_, ok := env.Event.(lockInstalled)
			assertTrue(t, ok, env)
		case "LockRenamed":
			_, ok := env.Event.(lockRenamed)
			assertTrue(t, ok, env)
		default:
			t.Fatalf("type %q decoded as known", typ)
		}
	})
}

func assertTrue(t *testing.T, ok bool, env Envelope) {
	t.Helper()
	if !ok {
		t.Fatalf("%s decoded to %T", env.Type, env.Event)
	}
}

type guardEvent struct{}

func (guardEvent) EventType() string { return "SomethingChecked" }
func (guardEvent) Guard()            {}

type recordEvent struct{}

func (recordEvent) EventType() string { return "SomethingHappened" }

// A guard is registered (it is in the log) but is no record of a change.
func TestRecordTypesLeaveGuardsOut(t *testing.T) {
	r := NewRegistry()
	r.Register(guardEvent{})
	r.Register(recordEvent{})
	if got := r.RecordTypes(); len(got) != 1 || got[0] != "SomethingHappened" {
		t.Fatalf("RecordTypes() = %v", got)
	}
	if len(r.Types()) != 2 || !r.Known("SomethingChecked") {
		t.Fatalf("Types() = %v", r.Types())
	}
}
