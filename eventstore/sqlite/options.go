package sqlite

import (
	"time"

	"github.com/accessd/accessd/eventstore"
)

// Option configures a Store at Open.
type Option func(*config)

type config struct {
	maxEventSize int
	maxBatch     int
	readConns    int
	busyTimeout  time.Duration
	pollInterval time.Duration
	observer     func(events int, d time.Duration)
	maxCachedIDs int64
	clock        func() time.Time
}

func defaultConfig() config {
	return config{
		maxEventSize: eventstore.DefaultMaxEventSize,
		maxBatch:     256,
		readConns:    4,
		busyTimeout:  5 * time.Second,
		pollInterval: time.Second,
		maxCachedIDs: defaultMaxCachedIDs,
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

// WithReadConns sets the size of the pool of read connections (default 4).
func WithReadConns(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.readConns = n
		}
	}
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another connection or process before failing (default 5s).
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.busyTimeout = d
		}
	}
}

// WithPollInterval sets how often the store looks for events appended to
// its file by another process (default 1s); 0 turns the watch off, and such
// events are then seen only after this store's next append.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.pollInterval = d
		}
	}
}

// WithObserver registers a function called once for every Append that
// reached the writer, with the number of events it stored (0 for a no-op,
// a conflict or a failure) and how long the call took: the hook for an
// append-latency histogram. It runs on the caller's goroutine and must be
// fast.
func WithObserver(f func(events int, d time.Duration)) Option {
	return func(c *config) { c.observer = f }
}

// withMaxCachedIDs bounds the writer's id cache (default
// defaultMaxCachedIDs revisions), for tests of eviction.
func withMaxCachedIDs(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxCachedIDs = n
		}
	}
}

// withClock sets the clock events are recorded by (default time.Now), for
// tests of a clock that steps back.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}
