package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
)

// categories are the stream categories the tests write; "vendor" events
// have a type no registry knows.
var categories = []string{"lock", "area", "booking", "vendor"}

func topics() []string {
	out := make([]string, len(categories))
	for i, c := range categories {
		out[i] = TopicPrefix + c
	}
	return out
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "events.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openDB(t testing.TB) *projections.DB {
	t.Helper()
	db, err := projections.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "readmodels.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// appendEvents appends n events spread over streams of every category, in
// appends of up to 50, and returns them as the log holds them.
func appendEvents(t testing.TB, store eventstore.Store, n int) []eventstore.RecordedEvent {
	t.Helper()
	ctx := context.Background()
	from, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	streams := make([]string, 12)
	for i := range streams {
		streams[i] = categories[i%len(categories)] + "-" + uuid.NewString()
	}
	for done, k := 0, 0; done < n; k++ {
		stream := streams[k%len(streams)]
		size := min(1+k%50, n-done)
		evs := make([]eventstore.EventData, size)
		for i := range evs {
			typ := "LockInstalled"
			if strings.HasPrefix(stream, "vendor-") {
				typ = "VendorThingHappened" // unknown to every registry
			}
			evs[i] = eventstore.EventData{
				ID:   uuid.New(),
				Type: typ,
				Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"areaId":"%s","note":"some payload of a realistic size for an access-control event"}`,
					done+i, uuid.NewString())),
				Metadata: json.RawMessage(fmt.Sprintf(`{"correlationId":"corr-%d","accountId":"acc-%d","occurredAt":"2026-11-23T10:00:00Z"}`,
					done+i, k%3)),
			}
		}
		_, err := store.Append(ctx, stream, eventstore.Any, evs...)
		require.NoError(t, err)
		done += size
	}
	recs, err := store.ReadAll(ctx, from, n+1, eventstore.Filter{})
	require.NoError(t, err)
	require.Len(t, recs, n)
	return recs
}

// received is a message as a test subscriber got it.
type received struct {
	from  string // the subscriber's label
	topic string
	msg   *message.Message
}

// collector subscribes to every test topic and keeps what arrives, acking it.
type collector struct {
	mu     sync.Mutex
	byID   map[string][]received
	order  []received // every arrival, in order
	total  int
	change chan struct{}
}

func collect(t testing.TB, sub message.Subscriber) *collector {
	t.Helper()
	c := newCollector()
	c.subscribe(t, sub, "")
	return c
}

func newCollector() *collector {
	return &collector{byID: map[string][]received{}, change: make(chan struct{})}
}

// subscribe adds sub's messages, labelled from, to c.
func (c *collector) subscribe(t testing.TB, sub message.Subscriber, from string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, topic := range topics() {
		ch, err := sub.Subscribe(ctx, topic)
		require.NoError(t, err)
		go func() {
			for msg := range ch {
				c.add(received{from: from, topic: topic, msg: msg})
				msg.Ack()
			}
		}()
	}
}

func (c *collector) add(r received) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID[r.msg.UUID] = append(c.byID[r.msg.UUID], r)
	c.order = append(c.order, r)
	c.total++
	close(c.change)
	c.change = make(chan struct{})
}

// waitDistinct blocks until n distinct messages arrived.
func (c *collector) waitDistinct(t testing.TB, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		c.mu.Lock()
		got, ch := len(c.byID), c.change
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("only %d of %d messages arrived", got, n)
		}
	}
}

func (c *collector) snapshot() (map[string][]received, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]received, len(c.byID))
	for k, v := range c.byID {
		out[k] = append([]received(nil), v...)
	}
	return out, c.total
}

// requireMessagesOf checks that every event arrived as its message: UUID,
// topic, metadata and payload.
func requireMessagesOf(t testing.TB, got map[string][]received, events []eventstore.RecordedEvent) {
	t.Helper()
	for _, ev := range events {
		copies := got[ev.ID.String()]
		require.NotEmpty(t, copies, "event %s at %d never arrived", ev.ID, ev.Position)
		r := copies[0]
		require.Equal(t, Topic(ev.Stream), r.topic)
		require.Equal(t, ev.Type, r.msg.Metadata.Get(MetaType))
		require.Equal(t, ev.Stream, r.msg.Metadata.Get(MetaStream))
		require.Equal(t, fmt.Sprint(ev.Position), r.msg.Metadata.Get(MetaPosition))
		var meta eventstore.Metadata
		require.NoError(t, json.Unmarshal(ev.Metadata, &meta))
		require.Equal(t, meta.CorrelationID, r.msg.Metadata.Get(MetaCorrelationID))
		require.Equal(t, meta.AccountID, r.msg.Metadata.Get(MetaAccountID))
		body, err := Decode(r.msg)
		require.NoError(t, err)
		require.Equal(t, ev.ID, body.EventID)
		require.Equal(t, ev.Position, body.Position)
		require.JSONEq(t, string(ev.Data), string(body.Data))
	}
}

// runForwarder runs f until the test ends or stop is called; stop waits
// for Run to return.
func runForwarder(t testing.TB, f *Forwarder) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitForwarded(t testing.TB, f *Forwarder, position uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, f.WaitFor(ctx, position))
}

// natsConfig is a bus configuration of a stream and subjects of the test's
// own on the test NATS server, deleted at cleanup.
func natsConfig(t testing.TB) Config {
	t.Helper()
	url := servicetest.NATSURL(t)
	id := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	cfg := Config{URL: url, Stream: "TEST_" + id, SubjectPrefix: "t" + id + "."}
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		if js, err := nc.JetStream(); err == nil {
			_ = js.DeleteStream(cfg.Stream)
			_ = js.DeleteStream(cfg.Stream + InternalStreamSuffix)
		}
	})
	return cfg
}

func openBus(t testing.TB, cfg Config) *Bus {
	t.Helper()
	b, err := OpenConfig(context.Background(), cfg, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}
