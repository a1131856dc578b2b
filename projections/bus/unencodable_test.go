package bus

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/kurrent"
	"github.com/accessd/accessd/eventstore/kurrent/kurrenttest"
)

// lockedBuffer is a log destination the forwarder and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestForwarderSkipsAnEventNoMessageCanCarry: on KurrentDB another writer
// can append, under our streams' names, an event whose data or metadata is
// not JSON. The forwarder logs and counts each such event and publishes
// every other one, in order; a publish that fails meanwhile is still
// retried, not skipped.
func TestForwarderSkipsAnEventNoMessageCanCarry(t *testing.T) {
	ctx := context.Background()
	url := kurrenttest.Start(t)
	store, err := kurrent.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	db, b := openDB(t), backends["gochannel"](t)
	sub, err := b.Subscriber("unencodable")
	require.NoError(t, err)
	got := collect(t, sub)

	conf, err := esdb.ParseConnectionString(url)
	require.NoError(t, err)
	foreign, err := esdb.NewClient(conf)
	require.NoError(t, err)
	t.Cleanup(func() { _ = foreign.Close() })
	appendForeign := func(stream string, ev esdb.EventData) uuid.UUID {
		ev.EventID, ev.EventType = uuid.New(), "ForeignThing"
		_, err := foreign.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, ev)
		require.NoError(t, err)
		return ev.EventID
	}

	events := appendEvents(t, store, 30)
	badData := appendForeign("lock-"+uuid.NewString(), esdb.EventData{ContentType: esdb.ContentTypeBinary, Data: []byte("not json")})
	events = append(events, appendEvents(t, store, 30)...)
	badMeta := appendForeign("vendor-"+uuid.NewString(), esdb.EventData{ContentType: esdb.ContentTypeJson,
		Data: []byte(`{"n":1}`), Metadata: []byte("{broken")})
	events = append(events, appendEvents(t, store, 30)...)

	logs := &lockedBuffer{}
	// A publish fails once meanwhile: it is retried, not skipped.
	pub := &flaky{pub: b.Publisher(), fail: map[int]bool{2: true}}
	f, err := NewForwarder(store, db, pub, slog.New(slog.NewJSONHandler(logs, nil)),
		WithBatch(8), WithBackoff(time.Millisecond, 4*time.Millisecond))
	require.NoError(t, err)
	runForwarder(t, f)
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	waitForwarded(t, f, head)
	got.waitDistinct(t, len(events))

	byID, _ := got.snapshot()
	require.Len(t, byID, len(events), "every good event arrives, and nothing else")
	requireMessagesOf(t, byID, events)
	// In order on each topic, each event at its first arrival (a retried
	// batch comes again).
	got.mu.Lock()
	seen, last := map[string]bool{}, map[string]uint64{}
	for _, r := range got.order {
		if seen[r.msg.UUID] {
			continue
		}
		seen[r.msg.UUID] = true
		pos, err := strconv.ParseUint(r.msg.Metadata.Get(MetaPosition), 10, 64)
		require.NoError(t, err)
		require.Greater(t, pos, last[r.topic], "topic %s out of order", r.topic)
		last[r.topic] = pos
	}
	got.mu.Unlock()
	require.Equal(t, uint64(2), f.Skipped())
	require.NotZero(t, f.Failures(), "the failed publish was retried")
	for _, id := range []uuid.UUID{badData, badMeta} {
		require.Empty(t, byID[id.String()])
		var line string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, id.String()) {
				line = l
			}
		}
		require.Contains(t, line, `"level":"ERROR"`, "the skipped event %s is logged", id)
		require.Contains(t, line, `"stream":"`)
		require.Contains(t, line, `"position":`)
	}
}
