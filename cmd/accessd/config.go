package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/accessd/accessd/cmd/internal/backends"
)

// config is the server's settings: flags, each with an environment fallback.
type config struct {
	Addr            string
	DataDir         string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	// BootstrapKey, when set, becomes the first account's owner key.
	BootstrapKey string
	// ReadOnly serves the data directory as it is (one written by
	// accessctl replay): every request but GET, HEAD and OPTIONS is refused
	// with 503, and nothing appends to the log. A data directory that
	// cannot be written turns the same mode on by itself (see run).
	ReadOnly bool
	// SealEvery and SealInterval: the log is sealed after that many events,
	// or after that long when any event came since the last seal.
	SealEvery    int
	SealInterval time.Duration
	// EventStore, ReadModels and Bus choose the backends by URL; empty
	// EventStore and ReadModels mean SQLite files in the data directory.
	EventStore string
	ReadModels string
	Bus        string
	// WebhooksAllowPrivate lets webhooks target loopback, private,
	// link-local and other internal addresses, refused by default so an
	// account cannot make the server POST into the server's own network.
	WebhooksAllowPrivate bool
}

// parseConfig reads flags from args, defaulting each to its environment
// variable and then to the built-in default.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("accessd", flag.ContinueOnError)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("ACCESSD_ADDR", "127.0.0.1:8080"), "listen address (ACCESSD_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("ACCESSD_DATA_DIR", "./data"), "data directory (ACCESSD_DATA_DIR)")
	level := fs.String("log-level", env("ACCESSD_LOG_LEVEL", "info"), "debug, info, warn or error (ACCESSD_LOG_LEVEL)")
	// ACCESSD_READ_ONLY takes what the flag takes (true, 1, false, 0, ...);
	// anything else is refused rather than read as false: =1 or =yes would
	// otherwise serve a replayed directory writable, and append to it.
	var badReadOnly error
	readOnly := false
	if v := getenv("ACCESSD_READ_ONLY"); v != "" {
		if readOnly, badReadOnly = strconv.ParseBool(v); badReadOnly != nil {
			badReadOnly = fmt.Errorf("ACCESSD_READ_ONLY: %q is not true or false", v)
		}
	}
	fs.BoolVar(&c.ReadOnly, "read-only", readOnly, "refuse every change and serve the data directory as it is, e.g. one written by accessctl replay (ACCESSD_READ_ONLY=true)")
	shutdown := fs.String("shutdown-timeout", env("ACCESSD_SHUTDOWN_TIMEOUT", "20s"), "how long in-flight requests may take at shutdown (ACCESSD_SHUTDOWN_TIMEOUT)")
	sealEvery := fs.String("seal-every", env("ACCESSD_SEAL_EVERY", "1000"), "seal the event log after this many events (ACCESSD_SEAL_EVERY)")
	sealInterval := fs.String("seal-interval", env("ACCESSD_SEAL_INTERVAL", "10m"), "seal the event log this long after a change at the latest (ACCESSD_SEAL_INTERVAL)")
	fs.StringVar(&c.EventStore, "eventstore", env("ACCESSD_EVENTSTORE", ""), "event log: sqlite:PATH (default DATA-DIR/events.db), kurrentdb://... or esdb://..., postgres://... (ACCESSD_EVENTSTORE)")
	fs.StringVar(&c.ReadModels, "readmodels", env("ACCESSD_READMODELS", ""), "read models: sqlite:PATH (default DATA-DIR/readmodels.db) or postgres://... (ACCESSD_READMODELS)")
	fs.StringVar(&c.Bus, "bus", env("ACCESSD_BUS", "gochannel"), "integration events: gochannel (in process) or nats://... (NATS JetStream) (ACCESSD_BUS)")
	fs.BoolVar(&c.WebhooksAllowPrivate, "webhooks-allow-private", env("ACCESSD_WEBHOOKS_ALLOW_PRIVATE", "") == "true", "let webhooks target loopback, private and link-local addresses, for receivers on a private network (ACCESSD_WEBHOOKS_ALLOW_PRIVATE=true)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	fs.Visit(func(f *flag.Flag) { // the flag wins
		if f.Name == "read-only" {
			badReadOnly = nil
		}
	})
	if badReadOnly != nil {
		return c, badReadOnly
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("--log-level: %w", err)
	}
	d, err := time.ParseDuration(*shutdown)
	if err != nil || d <= 0 {
		return c, fmt.Errorf("--shutdown-timeout: %q is not a positive duration", *shutdown)
	}
	c.ShutdownTimeout = d
	if c.SealEvery, err = strconv.Atoi(*sealEvery); err != nil || c.SealEvery <= 0 {
		return c, fmt.Errorf("--seal-every: %q is not a positive number", *sealEvery)
	}
	if c.SealInterval, err = time.ParseDuration(*sealInterval); err != nil || c.SealInterval <= 0 {
		return c, fmt.Errorf("--seal-interval: %q is not a positive duration", *sealInterval)
	}
	c.BootstrapKey = getenv("ACCESSD_BOOTSTRAP_KEY")
	if c.BootstrapKey != "" && len(c.BootstrapKey) < 32 {
		return c, fmt.Errorf("ACCESSD_BOOTSTRAP_KEY: must be at least 32 characters")
	}
	if c.DataDir == "" {
		return c, fmt.Errorf("--data-dir: must not be empty")
	}
	// A file in the directory's place is refused here, naming the flag,
	// not at whichever file in it is opened first. A directory not there
	// yet is made later.
	if info, err := os.Stat(c.DataDir); err == nil && !info.IsDir() {
		return c, fmt.Errorf("--data-dir %s: not a directory", c.DataDir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return c, fmt.Errorf("--data-dir: %w", err)
	}
	// An empty value given on purpose is most likely an unset variable in
	// a template (--eventstore "$ES"): falling back to the data directory's
	// own files would split a scale-out deployment's data, silently.
	var emptyGiven error
	fs.Visit(func(f *flag.Flag) {
		if (f.Name == "eventstore" || f.Name == "readmodels") && f.Value.String() == "" && emptyGiven == nil {
			emptyGiven = fmt.Errorf("--%s: empty; leave the flag out to use the data directory's SQLite file", f.Name)
		}
	})
	if emptyGiven != nil {
		return c, emptyGiven
	}
	if c.EventStore == "" {
		c.EventStore = "sqlite:" + filepath.Join(c.DataDir, "events.db")
	}
	if c.ReadModels == "" {
		c.ReadModels = "sqlite:" + filepath.Join(c.DataDir, "readmodels.db")
	}
	if _, err := backends.EventStoreKind(c.EventStore); err != nil {
		return c, fmt.Errorf("--eventstore: %w", err)
	}
	if _, err := backends.ReadModelsKind(c.ReadModels); err != nil {
		return c, fmt.Errorf("--readmodels: %w", err)
	}
	if _, err := backends.BusKind(c.Bus); err != nil {
		return c, fmt.Errorf("--bus: %w", err)
	}
	return c, nil
}
