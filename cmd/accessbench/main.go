// Command accessbench is a load generator for a running accessd: it seeds a
// data set through the API (not timed), then runs a scenario at a fixed
// concurrency for a fixed time and reports per operation the throughput
// and p50/p95/p99/max latency, as a table and optionally as JSON with an
// SVG latency chart beside it (the same name, .svg), with the issue's
// targets marked PASS or MISS.
//
//	accessbench --url http://127.0.0.1:8080 --scenario writes --duration 10s --out bench/results/writes.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "accessbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "accessbench:", err)
		os.Exit(1)
	}
	if rep.Errors > 0 {
		os.Exit(3)
	}
}

// config is the benchmark's settings.
type config struct {
	URL         string
	Key         string
	Concurrency int
	Duration    time.Duration
	Scenario    string
	Seed        seedConfig
	Out         string
	// ReadyTimeout bounds the wait for the server's /readyz.
	ReadyTimeout time.Duration
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("accessbench", flag.ContinueOnError)
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&c.Key, "key", getenv("ACCESSD_BOOTSTRAP_KEY"), "an owner API key (default: $ACCESSD_BOOTSTRAP_KEY)")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "concurrent clients")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long the timed run lasts")
	fs.StringVar(&c.Scenario, "scenario", "writes", "writes, reads, mix, visibility or pages")
	fs.IntVar(&c.Seed.Properties, "seed-properties", 5, "properties to seed (each with 4 areas and 2 custom groups)")
	fs.IntVar(&c.Seed.Locks, "seed-locks", 200, "locks to provision and install")
	fs.IntVar(&c.Seed.Users, "seed-users", 256, "users to seed, each with a phone and a membership")
	fs.StringVar(&c.Out, "out", "", "write the results as JSON to this file, and the latency chart beside it (.svg)")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", 30*time.Second, "how long to wait for /readyz")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.Key == "" {
		return c, errors.New("--key: an owner API key is needed (or ACCESSD_BOOTSTRAP_KEY)")
	}
	if c.Concurrency < 1 {
		return c, errors.New("--concurrency: must be at least 1")
	}
	if c.Duration <= 0 {
		return c, errors.New("--duration: must be positive")
	}
	if _, err := mixOf(c.Scenario); err != nil {
		return c, err
	}
	if c.Seed.Properties < 1 || c.Seed.Locks < 1 || c.Seed.Users < 1 {
		return c, errors.New("--seed-properties, --seed-locks, --seed-users: must be at least 1")
	}
	return c, nil
}

// run seeds, runs the scenario, prints the table to out and writes the
// JSON file when asked. Failed operations are counted, not fatal.
func run(ctx context.Context, cfg config, out io.Writer) (*report, error) {
	mix, err := mixOf(cfg.Scenario)
	if err != nil {
		return nil, err
	}
	c := newClient(cfg.URL, cfg.Key, cfg.Concurrency)
	readyCtx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
	err = c.ready(readyCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	if err := c.call(ctx, "GET", "/account", nil); err != nil {
		return nil, fmt.Errorf("the key does not work: %w", err)
	}

	start := time.Now()
	d, err := seed(ctx, c, cfg.Seed, cfg.Concurrency)
	if err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	seedTime := time.Since(start)
	fmt.Fprintf(out, "seeded %s in %s\n", countsLine(d.counts()), since(start))
	if err := prepareScenario(ctx, c, cfg, d); err != nil {
		return nil, fmt.Errorf("preparing the scenario: %w", err)
	}

	res, err := runScenario(ctx, c, d, mix, cfg.Concurrency, cfg.Duration)
	if err != nil {
		return nil, err
	}
	rep := newReport(cfg, d, seedTime, res)
	rep.print(out)
	if cfg.Out != "" {
		if err := rep.write(cfg.Out); err != nil {
			return rep, err
		}
		chart := svgPathFor(cfg.Out)
		if err := rep.writeSVG(chart); err != nil {
			return rep, err
		}
		fmt.Fprintf(out, "results written to %s and %s\n", cfg.Out, chart)
	}
	return rep, ctx.Err()
}

// runResult is a timed run's raw outcome.
type runResult struct {
	Started time.Time
	Elapsed time.Duration
	Recs    []*recorder
	Errors  *errorLog
}

// runScenario starts the workers together after their (untimed)
// preparation and lets each take steps until the duration is over; steps
// under way at the deadline finish and count. Each worker has a connection
// of its own (withOwnConn), so that the client's per-request work leaves
// the shared CPU to the server.
func runScenario(ctx context.Context, c *client, d *dataset, mix []weighted, concurrency int, duration time.Duration) (runResult, error) {
	errs := &errorLog{limit: 10}
	workers := make([]*worker, concurrency)
	for i := range workers {
		own := c.withOwnConn()
		defer own.close()
		workers[i] = newWorker(ctx, own, d, i, concurrency, errs)
	}
	var mu sync.Mutex
	if err := parallel(ctx, concurrency, concurrency, func(i int) error { return workers[i].prepare(&mu) }); err != nil {
		return runResult{}, fmt.Errorf("preparing the workers: %w", err)
	}
	res := runResult{Started: time.Now(), Errors: errs}
	deadline := res.Started.Add(duration)
	done := make(chan struct{})
	for _, w := range workers {
		go func() {
			w.run(mix, deadline)
			done <- struct{}{}
		}()
	}
	for range workers {
		<-done
	}
	res.Elapsed = time.Since(res.Started)
	for _, w := range workers {
		res.Recs = append(res.Recs, w.rec)
	}
	return res, nil
}

func countsLine(m map[string]int) string {
	order := []string{"properties", "areas", "groups", "locks", "users", "devices", "memberships", "bookings", "checkIns"}
	parts := make([]string, 0, len(order))
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}
