package bus

import (
	"context"
	"testing"

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
