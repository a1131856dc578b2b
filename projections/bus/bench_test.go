package bus

import (
	"context"
	"fmt"
	"testing"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// benchEvents is how many events each forwarding run publishes.
const benchEvents = 50_000

// BenchmarkForwardToNATS times forwarding a store of 50,000 events to
// JetStream, each run into a fresh stream: through the Bus's publisher
// (async, acks awaited per batch) and, for comparison, through
// watermill-nats' own Publisher (one ack awaited per message).
//
//	go test -run '^$' -bench ForwardTo -benchtime 3x ./projections/bus/
func BenchmarkForwardToNATS(b *testing.B) {
	store, db := openStore(b), openDB(b)
	events := appendEvents(b, store, benchEvents)
	head := events[len(events)-1].Position

	b.Run("bus", func(b *testing.B) {
		benchForward(b, store, db, head, func(b *testing.B) message.Publisher {
			return openBus(b, natsConfig(b)).Publisher()
		})
	})
	b.Run("watermill-nats-publisher", func(b *testing.B) {
		benchForward(b, store, db, head, func(b *testing.B) message.Publisher {
			cfg := natsConfig(b)
			openBus(b, cfg) // provisions the stream
			pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{
				URL:       cfg.URL,
				Marshaler: prefixMarshaler{cfg.SubjectPrefix},
				JetStream: wmnats.JetStreamConfig{TrackMsgId: true},
			}, nil)
			require.NoError(b, err)
			b.Cleanup(func() { _ = pub.Close() })
			return pub
		})
	})
}

// prefixMarshaler puts the test's subject prefix before the topic:
// watermill-nats' Publisher sends to the subject its Marshaler names and
// ignores its SubjectCalculator.
type prefixMarshaler struct{ prefix string }

func (m prefixMarshaler) Marshal(topic string, msg *message.Message) (*nats.Msg, error) {
	return (&wmnats.NATSMarshaler{}).Marshal(m.prefix+topic, msg)
}

// BenchmarkForwardToGoChannel times forwarding the same store in-process to
// one subscriber that acks every message.
func BenchmarkForwardToGoChannel(b *testing.B) {
	store, db := openStore(b), openDB(b)
	events := appendEvents(b, store, benchEvents)
	head := events[len(events)-1].Position
	benchForward(b, store, db, head, func(b *testing.B) message.Publisher {
		bus := openBus(b, Config{URL: GoChannelURL})
		sub, err := bus.Subscriber("bench")
		require.NoError(b, err)
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		for _, topic := range topics() {
			ch, err := sub.Subscribe(ctx, topic)
			require.NoError(b, err)
			go func() {
				for msg := range ch {
					msg.Ack()
				}
			}()
		}
		return bus.Publisher()
	})
}

func benchForward(b *testing.B, store eventstore.Store, db *projections.DB, head uint64, publisher func(*testing.B) message.Publisher) {
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pub := publisher(b)
		f, err := NewForwarder(store, db, pub, testLogger(b), WithName(fmt.Sprintf("bench-%s-%d", b.Name(), i)))
		require.NoError(b, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- f.Run(ctx) }()
		require.NoError(b, f.WaitFor(ctx, head))
		elapsed += time.Since(start)
		b.StopTimer()
		cancel()
		require.NoError(b, <-done)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*benchEvents)/elapsed.Seconds(), "events/s")
}
