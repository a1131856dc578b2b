package postgres

import (
	"log/slog"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// Option configures a Store at Open.
type Option func(*config)

type config struct {
	maxEventSize int
	maxBatch     int
	maxBatchSize int
	maxConns     int32
	pollInterval time.Duration
	writeTimeout time.Duration
	logger       *slog.Logger
	clock        func() time.Time
}

func defaultConfig() config {
	return config{
		maxEventSize: eventstore.DefaultMaxEventSize,
		maxBatch:     256,
		maxBatchSize: 16 << 20,
		maxConns:     8,
		pollInterval: time.Second,
		writeTimeout: 30 * time.Second,
		logger:       slog.Default(),
		clock:        time.Now,
	}
}

// WithMaxEventSize sets the largest event (data plus metadata, in bytes) an
// append accepts; larger ones fail with eventstore.ErrEventTooLarge. The
// default is eventstore.DefaultMaxEventSize.
func WithMaxEventSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxEventSize = n
		}
	}
}

// WithMaxBatch caps how many Append calls the writer groups into one
// transaction (default 256).
func WithMaxBatch(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBatch = n
		}
	}
}

// WithMaxConns sets the size of the pool of read connections (default 8).
// The writer and the listener have one connection each besides.
func WithMaxConns(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConns = int32(n)
		}
	}
}

// WithPollInterval sets how often the store reads the last position even
// without a notification (default 1s): the bound on how late a
// subscription sees another process's events if a notification is lost.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pollInterval = d
		}
	}
}

// WithWriteTimeout bounds one write transaction (default 30s).
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.writeTimeout = d
		}
	}
}

// WithLogger sets where the store logs trouble with its listener (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// withClock sets the clock events are recorded by (default time.Now), for
// tests of a clock that steps back.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}
