package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// GoChannelURL selects Watermill's in-process pub/sub, the embedded default.
const GoChannelURL = "gochannel"

// DefaultStream is the JetStream stream that holds the events' subjects.
const DefaultStream = "ACCESSD"

// InternalStreamSuffix names the stream of the internal topics after the
// events' stream: ACCESSD_INTERNAL by default.
const InternalStreamSuffix = "_INTERNAL"

// SubscriberOption changes a subscriber's defaults.
type SubscriberOption func(*subscriberOptions)

type subscriberOptions struct {
	workers int
}

// Workers has the subscriber hand out up to n messages of a topic at a
// time (default 1: one after the other, in order). A work queue whose
// messages are independent (webhook deliveries) wants several, so one
// slow message does not hold up the others. On gochannel a router
// handles messages concurrently already; the option changes nothing.
func Workers(n int) SubscriberOption {
	return func(o *subscriberOptions) { o.workers = max(n, 1) }
}

// Config says which broker a Bus uses. Open fills it from the --bus setting;
// tests set Stream and SubjectPrefix so that runs on one server stay apart.
type Config struct {
	// URL is `gochannel` or `nats://host:port` (several, comma-separated,
	// for a cluster).
	URL string
	// Stream is the JetStream stream of the events to provision (default
	// DefaultStream).
	Stream string
	// InternalStream is the JetStream stream of the internal topics
	// (InternalTopicPrefix; default Stream + "_INTERNAL"), apart from the
	// events.
	InternalStream string
	// SubjectPrefix is put before every topic to make its NATS subject
	// (default none: topic `accessd.lock` is subject `accessd.lock`). It
	// must end with a dot.
	SubjectPrefix string
}

// Bus is the integration-event broker: a publisher for the forwarder and
// subscribers for consumers.
type Bus struct {
	backend backend
	log     *slog.Logger

	mu     sync.Mutex
	subs   []message.Subscriber
	closed bool
}

// backend is one broker kind.
type backend interface {
	publisher() message.Publisher
	subscriber(group string, o subscriberOptions) (message.Subscriber, error)
	close() error
}

// Open connects to the broker named by url (the --bus setting): `gochannel`
// or `nats://host:port`. A bad or unreachable url fails here.
func Open(ctx context.Context, url string, log *slog.Logger) (*Bus, error) {
	return OpenConfig(ctx, Config{URL: url}, log)
}

// OpenConfig is Open with every setting.
func OpenConfig(ctx context.Context, cfg Config, log *slog.Logger) (*Bus, error) {
	if log == nil {
		return nil, errors.New("bus: open needs a logger")
	}
	if cfg.SubjectPrefix != "" && !strings.HasSuffix(cfg.SubjectPrefix, ".") {
		return nil, fmt.Errorf("bus: subject prefix %q must end with a dot", cfg.SubjectPrefix)
	}
	raw := strings.TrimSpace(cfg.URL)
	var (
		b   backend
		err error
	)
	switch {
	case raw == "":
		return nil, errors.New("--bus is empty: use gochannel or nats://host:port")
	case strings.EqualFold(raw, GoChannelURL):
		b = openGoChannel(log)
		log.Info("integration bus open", "bus", GoChannelURL)
	default:
		var urls []*url.URL
		urls, err = parseNATSURLs(raw)
		if err != nil {
			return nil, err
		}
		ns, err := namespaceOf(urls)
		if err != nil {
			return nil, err
		}
		if ns != "" {
			cfg.Stream = DefaultStream + "_" + strings.ToUpper(ns)
			cfg.SubjectPrefix = ns + "."
		}
		if cfg.Stream == "" {
			cfg.Stream = DefaultStream
		}
		if cfg.InternalStream == "" {
			cfg.InternalStream = cfg.Stream + InternalStreamSuffix
		}
		b, err = openNATS(ctx, cfg, urls, log)
		if err != nil {
			return nil, err
		}
	}
	return &Bus{backend: b, log: log}, nil
}

// parseNATSURLs checks every comma-separated URL of a --bus setting.
func parseNATSURLs(raw string) ([]*url.URL, error) {
	var urls []*url.URL
	for _, part := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("--bus %q: not a URL: use gochannel or nats://host:port", redact(part))
		}
		if (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return nil, fmt.Errorf("--bus %q: unknown broker: use gochannel or nats://host:port", u.Redacted())
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// NamespaceParam, on a --bus NATS URL (nats://host:4222?namespace=site2),
// keeps a deployment apart from others on the same NATS: its streams are
// ACCESSD_SITE2 and ACCESSD_SITE2_INTERNAL and every subject starts with
// "site2." (site2.accessd.lock), so neither its events nor its durable
// consumers (the webhook deliveries') mix with another deployment's.
const NamespaceParam = "namespace"

// validNamespace: a lower-case NATS subject token that also makes a
// stream name.
var validNamespace = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?$`)

// namespaceOf reads NamespaceParam from the URLs of a --bus setting (the
// same on each that gives it) and takes their queries off: the NATS
// client is given the servers alone.
func namespaceOf(urls []*url.URL) (string, error) {
	var ns string
	for _, u := range urls {
		q := u.Query()
		for k := range q {
			if k != NamespaceParam {
				return "", fmt.Errorf("--bus %q: unknown setting %q (the one setting is %s)", u.Redacted(), k, NamespaceParam)
			}
		}
		if v, ok := q[NamespaceParam]; ok {
			if len(v) != 1 || !validNamespace.MatchString(v[0]) {
				return "", fmt.Errorf("--bus %q: %s must be 1 to 32 lower-case letters, digits, - or _", u.Redacted(), NamespaceParam)
			}
			if ns != "" && v[0] != ns {
				return "", fmt.Errorf("--bus: two namespaces, %q and %q", ns, v[0])
			}
			ns = v[0]
		}
		u.RawQuery = ""
	}
	return ns, nil
}

// redact hides a password in a setting that did not parse.
func redact(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		return "…" + s[at:]
	}
	return s
}

// Publisher publishes messages; the forwarder is its one user.
func (b *Bus) Publisher() message.Publisher { return b.backend.publisher() }

// Subscriber returns a subscriber in the durable consumer group `group`:
// processes that subscribe to a topic under the same group share its
// messages (each goes to one of them), and a group that comes back resumes
// where it stopped. On gochannel there is one process, and only subscribers
// present when a message is published receive it, so subscribe before the
// forwarder runs. Close the subscriber when done (Close of the Bus also
// closes it).
func (b *Bus) Subscriber(group string, opts ...SubscriberOption) (message.Subscriber, error) {
	if group == "" {
		return nil, errors.New("bus: a subscriber needs a consumer group name")
	}
	o := subscriberOptions{workers: 1}
	for _, opt := range opts {
		opt(&o)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("bus: closed")
	}
	s, err := b.backend.subscriber(group, o)
	if err != nil {
		return nil, fmt.Errorf("bus: subscriber %s: %w", group, err)
	}
	b.subs = append(b.subs, s)
	return s, nil
}

// Close closes the subscribers it made, then the broker connection.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	var errs []error
	for _, s := range subs {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("bus: close subscriber: %w", err))
		}
	}
	if err := b.backend.close(); err != nil {
		errs = append(errs, fmt.Errorf("bus: close: %w", err))
	}
	return errors.Join(errs...)
}

// watermillLogger hands Watermill our logger, its Info lines (one per
// message on gochannel without subscribers) demoted to Debug.
func watermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(log.With("component", "watermill"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}
