package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// The NATS backend is JetStream through watermill-nats' pkg/nats with
// JetStream enabled, not its pkg/jetstream. pkg/jetstream is beta by its own
// account, publishes to the stream's name rather than the topic's subject,
// sets no Nats-Msg-Id, and names consumers after the topic (`accessd.lock`:
// dots are not allowed in consumer names). pkg/nats gives what integration
// events need: durable consumers shared by a queue group (at-least-once,
// explicit acks, resumed after a restart), subjects equal to the topics, and
// the NATSMarshaler wire format (payload as body, metadata as headers).
// Publishing uses that same wire format through our jetStreamPublisher,
// which adds Nats-Msg-Id and awaits acks per batch (see there).

const (
	// streamMaxAge bounds the stream on disk: consumers that stay away
	// longer miss events (the log still has them; re-forward from it).
	streamMaxAge = 7 * 24 * time.Hour
	// dedupeWindow is how long JetStream remembers message ids: a batch
	// re-published after a crash within it is stored once.
	dedupeWindow = 2 * time.Minute
	// ackWait is how long a consumer has to ack a message before JetStream
	// redelivers it.
	ackWait = 30 * time.Second
	// maxAckPending bounds the messages handed to one consumer group and
	// not yet acked, so none waits in a client buffer past ackWait.
	maxAckPending = 256
	// maxAsyncPending bounds unacknowledged publishes (above a forwarder
	// batch).
	maxAsyncPending = 4096
	// setupTimeout bounds connecting and provisioning at Open.
	setupTimeout = 10 * time.Second
)

type natsBackend struct {
	cfg     Config
	servers string
	opts    []nats.Option
	nc      *nats.Conn
	pub     *jetStreamPublisher
	log     *slog.Logger
}

func openNATS(ctx context.Context, cfg Config, urls []*url.URL, log *slog.Logger) (*natsBackend, error) {
	servers := make([]string, len(urls))
	shown := make([]string, len(urls))
	for i, u := range urls {
		servers[i], shown[i] = u.String(), u.Redacted()
	}
	setting := strings.Join(shown, ",")
	log = log.With("bus", setting)
	opts := []nats.Option{
		nats.Name("accessd"),
		nats.Timeout(5 * time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		// Closing a connection of our own (at shutdown, or a
		// subscriber's drain) is no disconnect to warn about, and its
		// handlers would run after the process's last log line.
		nats.NoCallbacksAfterClientClose(),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err == nil { // closed by the server: the reason is kept
				err = nc.LastError()
			}
			log.Warn("NATS disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("NATS reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Error("NATS error", "err", err)
		}),
	}
	b := &natsBackend{cfg: cfg, servers: strings.Join(servers, ","), opts: opts, log: log}
	nc, err := nats.Connect(b.servers, opts...)
	if err != nil {
		return nil, fmt.Errorf("--bus %s: cannot connect: %w", setting, err)
	}
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(maxAsyncPending))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("--bus %s: %w", setting, err)
	}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	if _, err := js.AccountInfo(nats.Context(ctx)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("--bus %s: JetStream is not available: %w", setting, err)
	}
	if err := provisionStreams(ctx, js, cfg); err != nil {
		nc.Close()
		return nil, fmt.Errorf("--bus %s: %w", setting, err)
	}
	b.nc = nc
	b.pub = &jetStreamPublisher{js: js, prefix: cfg.SubjectPrefix, marshaler: &wmnats.NATSMarshaler{}, ackTimeout: ackWait}
	log.Info("integration bus open", "stream", cfg.Stream, "subjects", cfg.SubjectPrefix+TopicPrefix+">",
		"internalStream", cfg.InternalStream, "internalSubjects", cfg.SubjectPrefix+InternalTopicPrefix+">")
	return b, nil
}

// provisionStreams makes sure the events' stream (cfg.Stream) holds every
// event subject and the internal stream (cfg.InternalStream) every internal
// one. Every server process runs it at start: it creates a stream once and
// otherwise leaves it as an operator may have tuned it, only adding its
// subject if missing. The streams are apart so that nothing but events is
// under `accessd.>`; a deployment whose ACCESSD stream predates the
// internal stream keeps it as it is and gains ACCESSD_INTERNAL.
func provisionStreams(ctx context.Context, js nats.JetStreamContext, cfg Config) error {
	if err := provisionStream(ctx, js, cfg.Stream, "accessd integration events", cfg.SubjectPrefix+TopicPrefix+">"); err != nil {
		return err
	}
	return provisionStream(ctx, js, cfg.InternalStream, "accessd internal work queues (webhook deliveries)",
		cfg.SubjectPrefix+InternalTopicPrefix+">")
}

// provisionStream makes sure the stream name exists and holds subject.
func provisionStream(ctx context.Context, js nats.JetStreamContext, name, description, subject string) error {
	info, err := js.StreamInfo(name, nats.Context(ctx))
	if errors.Is(err, nats.ErrStreamNotFound) {
		info, err = js.AddStream(&nats.StreamConfig{
			Name:        name,
			Description: description,
			Subjects:    []string{subject},
			Retention:   nats.LimitsPolicy,
			Storage:     nats.FileStorage,
			MaxAge:      streamMaxAge,
			Duplicates:  dedupeWindow,
		}, nats.Context(ctx))
		if errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
			// Another process created it a moment ago, differently.
			info, err = js.StreamInfo(name, nats.Context(ctx))
		}
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	if slices.Contains(info.Config.Subjects, subject) {
		return nil
	}
	updated := info.Config
	updated.Subjects = append(slices.Clone(updated.Subjects), subject)
	if _, err := js.UpdateStream(&updated, nats.Context(ctx)); err != nil {
		return fmt.Errorf("stream %s: add subject %s: %w", name, subject, err)
	}
	return nil
}

func (n *natsBackend) publisher() message.Publisher { return n.pub }

// subscriber makes a watermill-nats subscriber on its own connection (its
// Close drains the connection). Each topic it subscribes to gets a durable
// consumer named after the group and the topic, delivered to a queue group
// of the same name: every process of the group joins the same consumer, so
// they share its messages. With o.workers above 1, each process joins it
// that many times, and as many messages of a topic are handled at once.
// The consumer is made on the stream that holds the topic's subject (the
// events' or the internal one), which JetStream looks up.
func (n *natsBackend) subscriber(group string, o subscriberOptions) (message.Subscriber, error) {
	name := consumerName(group)
	return wmnats.NewSubscriber(wmnats.SubscriberConfig{
		URL:              n.servers,
		NatsOptions:      n.opts,
		QueueGroupPrefix: name,
		SubscribersCount: max(o.workers, 1),
		AckWaitTimeout:   ackWait,
		CloseTimeout:     ackWait,
		SubjectCalculator: func(queueGroup, topic string) *wmnats.SubjectDetail {
			return &wmnats.SubjectDetail{Primary: n.cfg.SubjectPrefix + topic, QueueGroup: queueGroup}
		},
		Unmarshaler: &wmnats.NATSMarshaler{},
		JetStream: wmnats.JetStreamConfig{
			// Open provisioned the streams of every accessd subject.
			AutoProvision: false,
			SubscribeOptions: []nats.SubOpt{
				// Without ManualAck nats.go acks whatever the handler
				// returns from, including a message watermill gave up
				// on (ack timeout, close): that message would be lost.
				nats.ManualAck(),
				nats.AckExplicit(),
				nats.AckWait(ackWait),
				nats.MaxAckPending(maxAckPending),
				nats.DeliverAll(),
			},
			DurablePrefix: name,
			DurableCalculator: func(prefix, subject string) string {
				return consumerName(prefix + "_" + subject)
			},
		},
	}, watermillLogger(n.log.With("group", group)))
}

func (n *natsBackend) close() error {
	n.nc.Close()
	return nil
}

var notNameChar = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// consumerName turns a group or subject into a valid JetStream consumer
// name: dots, wildcards and spaces are not allowed.
func consumerName(s string) string { return notNameChar.ReplaceAllString(s, "_") }
