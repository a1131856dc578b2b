package bus

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
)

// backends opens each bus a forwarder test runs against.
var backends = map[string]func(t *testing.T) *Bus{
	"gochannel": func(t *testing.T) *Bus { return openBus(t, Config{URL: GoChannelURL}) },
	"nats":      func(t *testing.T) *Bus { return openBus(t, natsConfig(t)) },
}

func TestForwarderPublishesEveryEventOnce(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			store, db, b := openStore(t), openDB(t), open(t)
			sub, err := b.Subscriber("every-event")
			require.NoError(t, err)
			got := collect(t, sub)
			events := appendEvents(t, store, 500)

			f, err := NewForwarder(store, db, b.Publisher(), testLogger(t), WithBatch(64))
			require.NoError(t, err)
			runForwarder(t, f)
			waitForwarded(t, f, events[len(events)-1].Position)
			got.waitDistinct(t, len(events))

			byID, total := got.snapshot()
			require.Equal(t, len(events), total, "no event may arrive twice")
			requireMessagesOf(t, byID, events)
			requireTopicOrder(t, got)
			lag, head, err := f.Lag(context.Background())
			require.NoError(t, err)
			require.Zero(t, lag)
			require.Equal(t, events[len(events)-1].Position, head)
		})
	}
}

// TestForwarderCheckpointsThroughTheWriter: the forwarder's checkpoints go
// through the read models' writing connection. Written on a pooled one,
// each made SQLite empty the projections' writer's page cache (a tenth of
// the writer's time under the write load).
func TestForwarderCheckpointsThroughTheWriter(t *testing.T) {
	ctx := context.Background()
	store, db, b := openStore(t), openDB(t), backends["gochannel"](t)
	noop := func(projections.Tx) error { return nil }
	require.NoError(t, db.Update(ctx, noop))
	events := appendEvents(t, store, 200)

	f, err := NewForwarder(store, db, b.Publisher(), testLogger(t), WithBatch(16))
	require.NoError(t, err)
	runForwarder(t, f)
	waitForwarded(t, f, events[len(events)-1].Position)

	require.NoError(t, db.Update(ctx, noop))
	require.Zero(t, db.ForeignCommits())
}

// requireTopicOrder checks that each topic's messages arrived in position order.
func requireTopicOrder(t *testing.T, c *collector) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	last := map[string]uint64{}
	for _, r := range c.order {
		pos, err := strconv.ParseUint(r.msg.Metadata.Get(MetaPosition), 10, 64)
		require.NoError(t, err)
		require.Greater(t, pos, last[r.topic], "topic %s out of order", r.topic)
		last[r.topic] = pos
	}
}

// crashAfter publishes through pub and, after its n-th successful Publish,
// cancels the forwarder's context: the forwarder then fails to save the
// checkpoint of a batch it published, as in a crash between the two.
type crashAfter struct {
	pub    message.Publisher
	n      int
	calls  int
	cancel context.CancelFunc
}

func (c *crashAfter) Publish(topic string, msgs ...*message.Message) error {
	if err := c.pub.Publish(topic, msgs...); err != nil {
		return err
	}
	if c.calls++; c.calls == c.n {
		c.cancel()
	}
	return nil
}

func (c *crashAfter) Close() error { return nil }

func TestForwarderResumesFromItsCheckpoint(t *testing.T) {
	const batch = 50
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			store, db, b := openStore(t), openDB(t), open(t)
			sub, err := b.Subscriber("restart")
			require.NoError(t, err)
			got := collect(t, sub)
			first := appendEvents(t, store, 300)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			crashing := &crashAfter{pub: b.Publisher(), n: 3, cancel: cancel}
			f1, err := NewForwarder(store, db, crashing, testLogger(t), WithBatch(batch))
			require.NoError(t, err)
			require.NoError(t, f1.Run(ctx))
			saved := f1.Position()
			require.Less(t, saved, first[len(first)-1].Position, "the crash must come before the end")

			events := append(first, appendEvents(t, store, 200)...)
			f2, err := NewForwarder(store, db, b.Publisher(), testLogger(t), WithBatch(batch))
			require.NoError(t, err)
			require.NoError(t, f2.Prepare(context.Background()))
			require.Equal(t, saved, f2.Position(), "a new forwarder starts from the saved checkpoint")
			runForwarder(t, f2)
			waitForwarded(t, f2, events[len(events)-1].Position)
			got.waitDistinct(t, len(events))

			byID, _ := got.snapshot()
			requireMessagesOf(t, byID, events)
			// Only the batch published but not checkpointed may come twice.
			unsaved := map[string]bool{}
			for _, ev := range events {
				if ev.Position > saved && len(unsaved) < batch {
					unsaved[ev.ID.String()] = true
				}
			}
			dups := 0
			for _, ev := range events {
				n := len(byID[ev.ID.String()])
				if n > 1 {
					require.True(t, unsaved[ev.ID.String()], "event at %d arrived %d times", ev.Position, n)
					require.Equal(t, 2, n)
					dups++
				}
			}
			if name == "nats" {
				require.Zero(t, dups, "JetStream drops a re-published message by its Nats-Msg-Id")
			} else {
				require.NotZero(t, dups, "the unsaved batch is published again")
			}
		})
	}
}

// flaky fails the Publish calls whose number is in fail, passing the others on.
type flaky struct {
	pub   message.Publisher
	mu    sync.Mutex
	calls int
	fail  map[int]bool
}

func (f *flaky) Publish(topic string, msgs ...*message.Message) error {
	f.mu.Lock()
	f.calls++
	fail := f.fail[f.calls]
	f.mu.Unlock()
	if fail {
		return errors.New("broker unavailable")
	}
	return f.pub.Publish(topic, msgs...)
}

func (f *flaky) Close() error { return nil }

func TestForwarderLosesNothingWhilePublishingFails(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			store, db, b := openStore(t), openDB(t), open(t)
			sub, err := b.Subscriber("flaky")
			require.NoError(t, err)
			got := collect(t, sub)
			events := appendEvents(t, store, 400)

			// Calls 1-4 fail in a row (a broker down for a while); 7 and 9
			// fail in mid-batch, after earlier runs of the batch went out.
			pub := &flaky{pub: b.Publisher(), fail: map[int]bool{1: true, 2: true, 3: true, 4: true, 7: true, 9: true}}
			f, err := NewForwarder(store, db, pub, testLogger(t), WithBatch(40), WithBackoff(time.Millisecond, 4*time.Millisecond))
			require.NoError(t, err)
			runForwarder(t, f)
			waitForwarded(t, f, events[len(events)-1].Position)
			got.waitDistinct(t, len(events))

			byID, _ := got.snapshot()
			requireMessagesOf(t, byID, events)
			require.GreaterOrEqual(t, f.Failures(), uint64(6))
		})
	}
}

func TestForwarderRefusesMissingDependencies(t *testing.T) {
	_, err := NewForwarder(nil, nil, nil, nil)
	require.Error(t, err)
}
