package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// waitTimeout bounds every wait for something that must happen (a delivered
// event, a woken Next): reaching it is a failure, never an expected outcome.
const waitTimeout = 30 * time.Second

// store is the store under test, closed once whether or not a test closed it.
type store struct {
	eventstore.Store
	once     sync.Once
	closeErr error
}

// Close closes the underlying store the first time and reports that result.
func (s *store) Close() error {
	s.once.Do(func() { s.closeErr = s.Store.Close() })
	return s.closeErr
}

func openStore(t *testing.T, b Backend) *store {
	t.Helper()
	es := b.Open(t)
	require.NotNil(t, es, "%s: Open returned nil", b.Name)
	s := &store{Store: es}
	t.Cleanup(func() { assert.NoError(t, s.Close(), "closing the store") })
	return s
}

// event makes a valid event whose data and metadata carry n, so that reads
// can be checked against what was appended.
func event(typ string, n int) eventstore.EventData {
	id := uuid.New()
	return eventstore.EventData{
		ID:   id,
		Type: typ,
		// Not in any canonical form (spaces, keys unsorted): a backend must
		// keep the bytes, not re-encode the JSON.
		Data:     json.RawMessage(fmt.Sprintf(`{"note": "event %d", "n": %d}`, n, n)),
		Metadata: json.RawMessage(fmt.Sprintf(`{"correlationId":%q,"seq":%d}`, id, n)),
	}
}

// events makes count events of one type numbered from first.
func events(typ string, first, count int) []eventstore.EventData {
	out := make([]eventstore.EventData, count)
	for i := range out {
		out[i] = event(typ, first+i)
	}
	return out
}

// appended is an appended event and where it must be found.
type appended struct {
	eventstore.EventData
	Stream   string
	Revision uint64
}

// mustAppend appends and requires success, returning the events placed at
// their revisions.
func mustAppend(t *testing.T, s eventstore.Store, stream string, expected eventstore.ExpectedRevision, evs ...eventstore.EventData) ([]appended, eventstore.AppendResult) {
	t.Helper()
	res, err := s.Append(t.Context(), stream, expected, evs...)
	require.NoError(t, err, "append %d events to %s at %s", len(evs), stream, expected)
	out := make([]appended, len(evs))
	first := res.NextExpectedRevision + 1 - uint64(len(evs))
	for i, ev := range evs {
		out[i] = appended{EventData: ev, Stream: stream, Revision: first + uint64(i)}
	}
	return out, res
}

// requireEvent checks that got is want as the log holds it.
func requireEvent(t *testing.T, want appended, got eventstore.RecordedEvent) {
	t.Helper()
	require.Equal(t, want.ID, got.ID, "event id")
	require.Equal(t, want.Type, got.Type, "type of %s", want.ID)
	require.Equal(t, want.Stream, got.Stream, "stream of %s", want.ID)
	require.Equal(t, want.Revision, got.Revision, "revision of %s", want.ID)
	require.NotZero(t, got.Position, "position of %s", want.ID)
	require.False(t, got.RecordedAt.IsZero(), "recordedAt of %s", want.ID)
	if len(want.Data) > 0 {
		// Byte for byte, not merely equal JSON: the hash chain covers data.
		require.True(t, bytes.Equal(want.Data, got.Data), "data of %s: want %s, got %s", want.ID, abbrev(want.Data), abbrev(got.Data))
	}
	if len(want.Metadata) > 0 {
		require.JSONEq(t, string(want.Metadata), string(got.Metadata), "metadata of %s", want.ID)
	}
}

// requireEvents checks got against want one by one.
func requireEvents(t *testing.T, want []appended, got []eventstore.RecordedEvent) {
	t.Helper()
	require.Len(t, got, len(want), "events: want %v, got %v", idsOfAppended(want), ids(got))
	for i := range want {
		requireEvent(t, want[i], got[i])
	}
}

// requireIncreasing checks that positions strictly increase; it assumes
// nothing else about them (EventStoreDB's have gaps).
func requireIncreasing(t *testing.T, evs []eventstore.RecordedEvent) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		require.Greater(t, evs[i].Position, evs[i-1].Position, "position of event %d (%s) after event %d (%s)", i, evs[i].ID, i-1, evs[i-1].ID)
	}
}

// readAll reads $all after `after` to its end, a page at a time.
func readAll(t *testing.T, s eventstore.Store, after uint64, filter eventstore.Filter) []eventstore.RecordedEvent {
	t.Helper()
	var out []eventstore.RecordedEvent
	for {
		page, err := s.ReadAll(t.Context(), after, 500, filter)
		require.NoError(t, err, "read $all after %d", after)
		if len(page) == 0 {
			return out
		}
		require.LessOrEqual(t, len(page), 500, "ReadAll returned more than max")
		out = append(out, page...)
		after = page[len(page)-1].Position
	}
}

// readStream reads a stream and requires success.
func readStream(t *testing.T, s eventstore.Store, stream string, opts eventstore.ReadStreamOptions) []eventstore.RecordedEvent {
	t.Helper()
	evs, err := s.ReadStream(t.Context(), stream, opts)
	require.NoError(t, err, "read %s %+v", stream, opts)
	return evs
}

func requireStreamNotFound(t *testing.T, s eventstore.Store, stream string) {
	t.Helper()
	_, err := s.ReadStream(t.Context(), stream, eventstore.ReadStreamOptions{})
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound, "stream %s should have no events", stream)
}

func requireHead(t *testing.T, s eventstore.Store, want uint64) {
	t.Helper()
	head, err := s.HeadPosition(t.Context())
	require.NoError(t, err)
	require.Equal(t, want, head, "head position")
}

func head(t *testing.T, s eventstore.Store) uint64 {
	t.Helper()
	h, err := s.HeadPosition(t.Context())
	require.NoError(t, err)
	return h
}

// requireWrongExpected checks a wrong-expected-version error and its fields.
func requireWrongExpected(t *testing.T, err error, stream string, expected eventstore.ExpectedRevision, actual int64) {
	t.Helper()
	require.Error(t, err, "append to %s at %s should fail", stream, expected)
	require.ErrorIs(t, err, eventstore.ErrWrongExpectedVersion)
	var wev *eventstore.WrongExpectedVersionError
	require.ErrorAs(t, err, &wev)
	assert.Equal(t, stream, wev.Stream, "WrongExpectedVersionError.Stream")
	assert.Equal(t, expected, wev.Expected, "WrongExpectedVersionError.Expected: want %s, got %s", expected, wev.Expected)
	assert.Equal(t, actual, wev.Actual, "WrongExpectedVersionError.Actual")
}

// subscribe subscribes and closes the subscription when the test ends.
func subscribe(t *testing.T, s eventstore.Store, after uint64, filter eventstore.Filter) eventstore.Subscription {
	t.Helper()
	sub, err := s.Subscribe(t.Context(), after, filter)
	require.NoError(t, err, "subscribe after %d", after)
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// next waits for the subscription's next event, at most waitTimeout.
func next(t *testing.T, sub eventstore.Subscription) eventstore.RecordedEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	ev, err := sub.Next(ctx)
	require.NoError(t, err, "subscription's next event")
	return ev
}

// nextN takes n events from the subscription.
func nextN(t *testing.T, sub eventstore.Subscription, n int) []eventstore.RecordedEvent {
	t.Helper()
	out := make([]eventstore.RecordedEvent, 0, n)
	for range n {
		out = append(out, next(t, sub))
	}
	return out
}

func ids(evs []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

func idsOfAppended(evs []appended) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// concat joins slices of appended events.
func concat(parts ...[]appended) []appended {
	var out []appended
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// abbrev shortens a payload for a failure message.
func abbrev(b []byte) string {
	const n = 200
	if len(b) > n {
		return fmt.Sprintf("%s… (%d bytes)", b[:n], len(b))
	}
	return string(b)
}
