package bus

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	id := uuid.New()
	ev := eventstore.RecordedEvent{
		ID: id, Type: "LockInstalled", Stream: "lock-" + uuid.NewString(), Revision: 3, Position: 42,
		RecordedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Data:       json.RawMessage(`{"areaId":"a"}`),
		Metadata:   json.RawMessage(`{"correlationId":"c-1","accountId":"acc-1","occurredAt":"2026-11-23T10:00:00Z"}`),
	}
	msg, err := Encode(ev)
	require.NoError(t, err)
	require.Equal(t, id.String(), msg.UUID)
	require.Equal(t, "LockInstalled", msg.Metadata.Get(MetaType))
	require.Equal(t, ev.Stream, msg.Metadata.Get(MetaStream))
	require.Equal(t, "42", msg.Metadata.Get(MetaPosition))
	require.Equal(t, "c-1", msg.Metadata.Get(MetaCorrelationID))
	require.Equal(t, "acc-1", msg.Metadata.Get(MetaAccountID))
	require.Equal(t, "accessd.lock", Topic(ev.Stream))

	got, err := Decode(msg)
	require.NoError(t, err)
	require.Equal(t, id, got.EventID)
	require.Equal(t, uint64(42), got.Position)
	require.JSONEq(t, `{"areaId":"a"}`, string(got.Data))
}

func TestDecodeRefusesForeignPayloads(t *testing.T) {
	for _, payload := range []string{``, `{}`, `[1]`, `{"eventId":"not-a-uuid"}`} {
		_, err := Decode(messageOf(payload))
		require.Error(t, err, payload)
	}
}

func messageOf(payload string) *message.Message {
	return message.NewMessage(uuid.NewString(), []byte(payload))
}

// The account of an event is its payload's accountId when it has one (a
// child account's first events are caused by its parent's key), else the
// account of the key that caused it.
func TestEncodeAccountIsThePayloadsOwn(t *testing.T) {
	child, parent := uuid.NewString(), uuid.NewString()
	ev := eventstore.RecordedEvent{
		ID: uuid.New(), Type: "ApiKeyCreated", Stream: "apikey-" + uuid.NewString(), Position: 7,
		Data:     json.RawMessage(`{"apiKeyId":"` + uuid.NewString() + `","accountId":"` + child + `"}`),
		Metadata: json.RawMessage(`{"accountId":"` + parent + `"}`),
	}
	msg, err := Encode(ev)
	require.NoError(t, err)
	require.Equal(t, child, msg.Metadata.Get(MetaAccountID))

	for _, data := range []string{`{"lockId":"x"}`, `{"accountId":"00000000-0000-0000-0000-000000000000"}`, `{"accountId":"x"}`, `[1]`, `null`} {
		ev.Data = json.RawMessage(data)
		msg, err := Encode(ev)
		require.NoError(t, err)
		require.Equal(t, parent, msg.Metadata.Get(MetaAccountID), data)
	}
}

// An access code's salted hash gives the code back in a moment, so no
// message carries it: not to the broker, not to a webhook.
func TestEncodeWithholdsAccessCodeHashes(t *testing.T) {
	account := uuid.NewString()
	data := `{"accessCodeId":"c","bookingId":"b","accountId":"` + account + `","codeHash":"` + strings.Repeat("ab", 32) + `","salt":"00ff","validFrom":"2026-11-23T10:00:00Z"}`
	msg, err := Encode(eventstore.RecordedEvent{ID: uuid.New(), Type: "AccessCodeCreated", Stream: "booking-" + uuid.NewString(),
		Data: json.RawMessage(data), Metadata: json.RawMessage(`{}`)})
	require.NoError(t, err)
	require.NotContains(t, string(msg.Payload), "codeHash")
	require.NotContains(t, string(msg.Payload), "salt")
	got, err := Decode(msg)
	require.NoError(t, err)
	require.JSONEq(t, `{"accessCodeId":"c","bookingId":"b","accountId":"`+account+`","validFrom":"2026-11-23T10:00:00Z"}`, string(got.Data))
	require.Equal(t, account, msg.Metadata.Get(MetaAccountID))

	// Other events keep their fields as logged.
	msg, err = Encode(eventstore.RecordedEvent{ID: uuid.New(), Type: "LockInstalled", Stream: "lock-x",
		Data: json.RawMessage(`{"salt":"kept"}`), Metadata: json.RawMessage(`{}`)})
	require.NoError(t, err)
	got, err = Decode(msg)
	require.NoError(t, err)
	require.JSONEq(t, `{"salt":"kept"}`, string(got.Data))
}

// A payload an earlier version made whole (a webhook delivery recorded
// then) comes out as Encode makes it now: without the withheld fields,
// the rest kept. One that holds none of them is left byte for byte.
func TestWithholdPayloadOfAnEarlierVersion(t *testing.T) {
	data := `{"accessCodeId":"c","bookingId":"b","codeHash":"` + strings.Repeat("ab", 32) + `","salt":"00ff","validFrom":"2026-11-23T10:00:00Z"}`
	ev := eventstore.RecordedEvent{ID: uuid.New(), Type: "AccessCodeCreated", Stream: "booking-" + uuid.NewString(), Revision: 2,
		Position: 7, RecordedAt: time.Date(2026, 11, 23, 10, 0, 0, 123, time.UTC),
		Data: json.RawMessage(data), Metadata: json.RawMessage(`{"correlationId":"k"}`)}
	whole, err := json.Marshal(Event{EventID: ev.ID, Type: ev.Type, Stream: ev.Stream, Revision: ev.Revision,
		Position: ev.Position, RecordedAt: ev.RecordedAt, Data: ev.Data, Metadata: ev.Metadata})
	require.NoError(t, err)
	require.Contains(t, string(whole), "codeHash")

	now, err := Encode(ev)
	require.NoError(t, err)
	got := WithholdPayload(whole)
	require.Equal(t, string(now.Payload), string(got))
	require.NotContains(t, string(got), "codeHash")
	require.NotContains(t, string(got), "salt")
	// Withholding again changes nothing.
	require.Equal(t, string(got), string(WithholdPayload(got)))

	for _, p := range []string{
		`{"eventId":"` + uuid.NewString() + `","type":"LockInstalled","data":{"salt":"kept"}}`,
		`not json`,
	} {
		require.Equal(t, p, string(WithholdPayload([]byte(p))))
	}
	require.Equal(t, []string{"AccessCodeCreated"}, WithheldTypes())
	require.Equal(t, []string{"codeHash", "salt"}, WithheldFields("AccessCodeCreated"))
	require.Empty(t, WithheldFields("LockInstalled"))
}
