package storetest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

// sizedEvent makes an event whose data plus metadata is exactly size bytes.
func sizedEvent(typ string, size int) es.EventData {
	meta := json.RawMessage(`{"correlationId":"size-test"}`)
	const wrapper = len(`{"blob":""}`)
	data := `{"blob":"` + strings.Repeat("x", size-len(meta)-wrapper) + `"}`
	return es.EventData{ID: uuid.New(), Type: typ, Data: json.RawMessage(data), Metadata: meta}
}

var sizeLimitTests = []test{
	{"OverLimitRejected", func(t *testing.T, s *store) {
		for _, size := range []int{es.DefaultMaxEventSize + 1, 2 * es.DefaultMaxEventSize} {
			ev := sizedEvent("LockPhotoTaken", size)
			_, err := s.Append(t.Context(), "lock-1", es.Any, ev)
			require.ErrorIs(t, err, es.ErrEventTooLarge, "%d bytes of data and metadata", size)
			msg := err.Error()
			require.Contains(t, msg, ev.ID.String(), "the error names the event: %q", msg)
			require.Contains(t, msg, "1048576", "the error states the limit: %q", msg)
		}
		requireStreamNotFound(t, s, "lock-1")
		requireHead(t, s, 0)
	}},
	{"MetadataCounts", func(t *testing.T, s *store) {
		ev := sizedEvent("LockPhotoTaken", es.DefaultMaxEventSize+1)
		require.LessOrEqual(t, len(ev.Data), es.DefaultMaxEventSize, "the data alone fits")
		_, err := s.Append(t.Context(), "lock-1", es.Any, ev)
		require.ErrorIs(t, err, es.ErrEventTooLarge)
	}},
	{"AtLimitAccepted", func(t *testing.T, s *store) {
		ev := sizedEvent("LockPhotoTaken", es.DefaultMaxEventSize)
		want, _ := mustAppend(t, s, "lock-1", es.NoStream, ev)
		got := readStream(t, s, "lock-1", es.ReadStreamOptions{})
		requireEvents(t, want, got)
		require.Len(t, got[0].Data, len(ev.Data), "the data comes back whole")
	}},
}

var invalidInputTests = []test{
	{"RejectedBeforeStoring", func(t *testing.T, s *store) {
		valid := func() es.EventData { return event("LockInstalled", 1) }
		cases := []struct {
			name   string
			stream string
			ev     es.EventData
		}{
			{"empty stream name", "", valid()},
			{"$all as stream", es.AllStream, valid()},
			{"stream name with spaces around", " lock-1 ", valid()},
			{"nil id", "lock-1", func() es.EventData { e := valid(); e.ID = uuid.Nil; return e }()},
			{"empty type", "lock-1", func() es.EventData { e := valid(); e.Type = ""; return e }()},
			{"data not JSON", "lock-1", func() es.EventData { e := valid(); e.Data = json.RawMessage(`{"n":1`); return e }()},
			{"data not JSON text", "lock-1", func() es.EventData { e := valid(); e.Data = json.RawMessage("\xff\xfe"); return e }()},
			{"metadata not JSON", "lock-1", func() es.EventData { e := valid(); e.Metadata = json.RawMessage(`correlationId=1`); return e }()},
		}
		for _, c := range cases {
			for _, exp := range []es.ExpectedRevision{es.Any, es.NoStream} {
				_, err := s.Append(t.Context(), c.stream, exp, c.ev)
				require.ErrorIs(t, err, es.ErrInvalidEvent, "%s at %s", c.name, exp)
			}
		}
		requireStreamNotFound(t, s, "lock-1")
		requireHead(t, s, 0)
		require.Empty(t, readAll(t, s, 0, es.Filter{}))
	}},
}
