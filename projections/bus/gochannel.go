package bus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// goChannelBackend is Watermill's in-process pub/sub.
type goChannelBackend struct {
	ch     *gochannel.GoChannel
	closed atomic.Bool
}

func openGoChannel(log *slog.Logger) *goChannelBackend {
	return &goChannelBackend{ch: gochannel.NewGoChannel(gochannel.Config{
		// Publish returns only once every subscriber acked each message, in
		// order: the forwarder's checkpoint then never runs ahead of the
		// consumers, and a slow consumer slows the forwarder instead of
		// piling messages up in memory.
		BlockPublishUntilSubscriberAck: true,
	}, watermillLogger(log))}
}

func (g *goChannelBackend) publisher() message.Publisher { return goChannelPublisher{g} }

func (g *goChannelBackend) subscriber(string, subscriberOptions) (message.Subscriber, error) {
	return &goChannelSubscriber{ch: g.ch, closing: make(chan struct{})}, nil
}

func (g *goChannelBackend) close() error {
	g.closed.Store(true)
	return g.ch.Close()
}

// goChannelPublisher reports a publish cut short by Close as failed:
// GoChannel stops waiting for acks when it closes and returns nil, which
// would let the forwarder save a checkpoint past unacked messages.
type goChannelPublisher struct{ g *goChannelBackend }

func (p goChannelPublisher) Publish(topic string, messages ...*message.Message) error {
	err := p.g.ch.Publish(topic, messages...)
	if err == nil && p.g.closed.Load() {
		err = errors.New("bus closed while publishing")
	}
	return err
}

// Close leaves the shared GoChannel to the Bus.
func (goChannelPublisher) Close() error { return nil }

// goChannelSubscriber ends its own subscriptions on Close, leaving the
// shared GoChannel open for the others.
type goChannelSubscriber struct {
	ch      *gochannel.GoChannel
	once    sync.Once
	closing chan struct{}
}

func (s *goChannelSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	ctx, cancel := context.WithCancel(ctx)
	out, err := s.ch.Subscribe(ctx, topic)
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer cancel()
		select {
		case <-s.closing:
		case <-ctx.Done():
		}
	}()
	return out, nil
}

func (s *goChannelSubscriber) Close() error {
	s.once.Do(func() { close(s.closing) })
	return nil
}
