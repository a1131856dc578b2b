package bus

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

func TestOpenRefusesBadSettings(t *testing.T) {
	for _, url := range []string{"", "kafka://broker:9092", "nats://", "gochannel2", "nats://127.0.0.1:1"} {
		_, err := Open(context.Background(), url, testLogger(t))
		require.Error(t, err, url)
		require.Contains(t, err.Error(), "--bus", url)
	}
}

func TestOpenHidesPasswords(t *testing.T) {
	_, err := Open(context.Background(), "nats://user:secret@127.0.0.1:1", testLogger(t))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secret")
}

// A cluster setting needs one server that answers, as a NATS client does:
// another one down at start is where the client would fail over, not an
// error. None answering is; neither the error nor the logs show a password.
func TestOpenNeedsOneServerOfACluster(t *testing.T) {
	cfg := natsConfig(t)
	// The NATS client logs from its own goroutines (a closed connection).
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg.URL = "nats://u:s3cret@127.0.0.1:1," + cfg.URL
	b, err := OpenConfig(context.Background(), cfg, log)
	require.NoError(t, err)
	require.NoError(t, b.Close())

	cfg.URL = "nats://u:s3cret@127.0.0.1:1,nats://127.0.0.1:2"
	_, err = OpenConfig(context.Background(), cfg, log)
	require.Error(t, err)
	require.Contains(t, err.Error(), "--bus")
	require.NotContains(t, err.Error(), "s3cret")
	require.NotContains(t, logs.String(), "s3cret")
}

func TestSubscriberNeedsAGroup(t *testing.T) {
	b := openBus(t, Config{URL: GoChannelURL})
	_, err := b.Subscriber("")
	require.Error(t, err)
}

func TestOpenProvisionsTheStreamOnce(t *testing.T) {
	cfg := natsConfig(t)
	openBus(t, cfg)
	openBus(t, cfg) // a second process starting against the same server

	nc, err := nats.Connect(cfg.URL)
	require.NoError(t, err)
	defer nc.Close()
	js, err := nc.JetStream()
	require.NoError(t, err)
	info, err := js.StreamInfo(cfg.Stream)
	require.NoError(t, err)
	require.Equal(t, []string{cfg.SubjectPrefix + "accessd.>"}, info.Config.Subjects)
	require.Equal(t, dedupeWindow, info.Config.Duplicates)

	// The internal topics have a stream of their own, outside `accessd.>`.
	internal, err := js.StreamInfo(cfg.Stream + InternalStreamSuffix)
	require.NoError(t, err)
	require.Equal(t, []string{cfg.SubjectPrefix + "accessd-internal.>"}, internal.Config.Subjects)
	require.Equal(t, dedupeWindow, internal.Config.Duplicates)
}

// A deployment whose events' stream was made by an earlier version (and
// tuned by its operator) keeps it as it is and gains the internal stream;
// internal messages never land among the events.
func TestOpenKeepsAnExistingStreamAndAddsTheInternalOne(t *testing.T) {
	cfg := natsConfig(t)
	nc, err := nats.Connect(cfg.URL)
	require.NoError(t, err)
	defer nc.Close()
	js, err := nc.JetStream()
	require.NoError(t, err)
	_, err = js.AddStream(&nats.StreamConfig{
		Name: cfg.Stream, Subjects: []string{cfg.SubjectPrefix + "accessd.>"},
		Storage: nats.FileStorage, MaxAge: 30 * 24 * time.Hour, Duplicates: time.Minute,
	})
	require.NoError(t, err)

	b := openBus(t, cfg)
	openBus(t, cfg) // a second process
	info, err := js.StreamInfo(cfg.Stream)
	require.NoError(t, err)
	require.Equal(t, []string{cfg.SubjectPrefix + "accessd.>"}, info.Config.Subjects)
	require.Equal(t, 30*24*time.Hour, info.Config.MaxAge, "the operator's setting stays")
	internal, err := js.StreamInfo(cfg.Stream + InternalStreamSuffix)
	require.NoError(t, err)
	require.Equal(t, []string{cfg.SubjectPrefix + "accessd-internal.>"}, internal.Config.Subjects)

	// An internal message goes to the internal stream, and a consumer of
	// the events does not see it.
	events := newCollector()
	sub, err := b.Subscriber("integrator")
	require.NoError(t, err)
	events.subscribe(t, sub, "")
	require.NoError(t, b.Publisher().Publish(InternalTopicPrefix+"webhook.deliveries", message.NewMessage(uuid.NewString(), []byte(`{}`))))
	require.NoError(t, b.Publisher().Publish(TopicPrefix+"lock", message.NewMessage(uuid.NewString(), []byte(`{}`))))
	events.waitDistinct(t, 1)
	internal, err = js.StreamInfo(cfg.Stream + InternalStreamSuffix)
	require.NoError(t, err)
	require.Equal(t, uint64(1), internal.State.Msgs)
	info, err = js.StreamInfo(cfg.Stream)
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs)
	// And a consumer of an internal topic gets it.
	work, err := b.Subscriber("workers")
	require.NoError(t, err)
	ch, err := work.Subscribe(context.Background(), InternalTopicPrefix+"webhook.deliveries")
	require.NoError(t, err)
	select {
	case m := <-ch:
		m.Ack()
	case <-time.After(10 * time.Second):
		t.Fatal("the internal message did not arrive")
	}
	_, total := events.snapshot()
	require.Equal(t, 1, total)
}

func TestNATSStoresOneMessagePerEventUnderItsTopic(t *testing.T) {
	cfg := natsConfig(t)
	b := openBus(t, cfg)
	store, db := openStore(t), openDB(t)
	events := appendEvents(t, store, 200)

	// Two forwarders with their own checkpoints publish everything twice;
	// JetStream keeps each event once, by Nats-Msg-Id.
	for _, name := range []string{"one", "two"} {
		f, err := NewForwarder(store, db, b.Publisher(), testLogger(t), WithName(name))
		require.NoError(t, err)
		stop := runForwarder(t, f)
		waitForwarded(t, f, events[len(events)-1].Position)
		stop()
	}

	nc, err := nats.Connect(cfg.URL)
	require.NoError(t, err)
	defer nc.Close()
	js, err := nc.JetStream()
	require.NoError(t, err)
	info, err := js.StreamInfo(cfg.Stream, &nats.StreamInfoRequest{SubjectsFilter: ">"})
	require.NoError(t, err)
	require.Equal(t, uint64(len(events)), info.State.Msgs)
	perSubject := map[string]uint64{}
	for _, ev := range events {
		perSubject[cfg.SubjectPrefix+Topic(ev.Stream)]++
	}
	require.Equal(t, perSubject, info.State.Subjects)

	last, err := js.GetLastMsg(cfg.Stream, cfg.SubjectPrefix+"accessd.lock")
	require.NoError(t, err)
	require.Equal(t, last.Header.Get(nats.MsgIdHdr), last.Header.Get("_watermill_message_uuid"))
}

func TestNATSGroupSharesWorkAcrossProcesses(t *testing.T) {
	cfg := natsConfig(t)
	// Two buses on their own connections stand for two server processes.
	one, two := openBus(t, cfg), openBus(t, cfg)
	subOne, err := one.Subscriber("workers")
	require.NoError(t, err)
	subTwo, err := two.Subscriber("workers")
	require.NoError(t, err)
	got := newCollector()
	got.subscribe(t, subOne, "one")
	got.subscribe(t, subTwo, "two")

	store, db := openStore(t), openDB(t)
	events := appendEvents(t, store, 400)
	f, err := NewForwarder(store, db, one.Publisher(), testLogger(t))
	require.NoError(t, err)
	runForwarder(t, f)
	waitForwarded(t, f, events[len(events)-1].Position)
	got.waitDistinct(t, len(events))

	byID, total := got.snapshot()
	require.Equal(t, len(events), total, "each message goes to one process of the group")
	requireMessagesOf(t, byID, events)
	perProcess := map[string]int{}
	for _, rs := range byID {
		perProcess[rs[0].from]++
	}
	require.NotZero(t, perProcess["one"])
	require.NotZero(t, perProcess["two"])
}
