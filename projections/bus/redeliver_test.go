package bus

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitTotal blocks until n messages arrived, repeats included.
func (c *collector) waitTotal(t testing.TB, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		c.mu.Lock()
		got, ch := c.total, c.change
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

// TestRedeliveryPublishesTheEventAgain: a re-delivered event reaches the
// bus's subscribers again as the forwarder's message (same UUID, topic,
// metadata and payload), marked as a re-delivery; on NATS, JetStream
// does not drop it as a repeat of the forwarder's.
func TestRedeliveryPublishesTheEventAgain(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			store, db, b := openStore(t), openDB(t), open(t)
			sub, err := b.Subscriber("every-event")
			require.NoError(t, err)
			got := collect(t, sub)
			events := appendEvents(t, store, 20)
			f, err := NewForwarder(store, db, b.Publisher(), testLogger(t))
			require.NoError(t, err)
			runForwarder(t, f)
			waitForwarded(t, f, events[len(events)-1].Position)
			got.waitTotal(t, len(events))

			r, err := NewRedelivery(store, b.Publisher())
			require.NoError(t, err)
			ev := events[7]
			require.NoError(t, r.Reprocess(context.Background(), ev.Position))
			got.waitTotal(t, len(events)+1)

			byID, total := got.snapshot()
			require.Equal(t, len(events)+1, total)
			copies := byID[ev.ID.String()]
			require.Len(t, copies, 2)
			forwarded, again := copies[0], copies[1]
			require.Equal(t, forwarded.topic, again.topic)
			require.Empty(t, forwarded.msg.Metadata.Get(MetaRedelivery))
			require.NotEmpty(t, again.msg.Metadata.Get(MetaRedelivery))
			for _, key := range []string{MetaType, MetaStream, MetaPosition, MetaCorrelationID, MetaAccountID} {
				require.Equal(t, forwarded.msg.Metadata.Get(key), again.msg.Metadata.Get(key), key)
			}
			require.Equal(t, string(forwarded.msg.Payload), string(again.msg.Payload))
			requireMessagesOf(t, map[string][]received{ev.ID.String(): {again}}, events[7:8])

			require.ErrorContains(t, r.Reprocess(context.Background(), events[len(events)-1].Position+1), "no event at position")
		})
	}
}
