package projections_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/projections/readmodeltest"
)

// BenchmarkLiveApply applies the log of ACCESSD_BENCH_DIR (seed one with
// `accessctl seed --events N`) through the live runners, as the server
// does: both lanes at once, every index kept current, one transaction per
// batch of ACCESSD_BENCH_BATCH events (25 by default, about what each lane
// commits under 64 writing clients). It measures the read models' share of
// a write command without the HTTP load and the load generator beside it,
// so a change to the read models can be compared in seconds and with less
// noise than a load run.
//
//	ACCESSD_BENCH_DIR=/tmp/seeded go test -run '^$' -bench LiveApply -benchtime 1x ./projections/
func BenchmarkLiveApply(b *testing.B) {
	src := os.Getenv("ACCESSD_BENCH_DIR")
	if src == "" {
		b.Skip("ACCESSD_BENCH_DIR names no seeded data directory")
	}
	batch := 25
	if v := os.Getenv("ACCESSD_BENCH_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ACCESSD_BENCH_BATCH=%q: want a positive number", v)
		}
		batch = n
	}
	defer projections.SetMaxBatch(batch)()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		events, cpu, written, elapsed := liveApply(b, src)
		b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(events), "cpu-µs/event")
		// Bytes written move with the pages each event dirties, and
		// hardly with the machine's load.
		b.ReportMetric(float64(written)/1024/float64(events), "written-KiB/event")
	}
}

func liveApply(b *testing.B, src string) (events uint64, cpu time.Duration, written int64, elapsed time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	if out, err := exec.Command("cp", filepath.Join(src, "events.db"), dir).CombinedOutput(); err != nil {
		b.Fatalf("copy: %v %s", err, out)
	}
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	head, err := store.HeadPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	registry := commands.NewRegistry()
	db := readmodeltest.Open(ctx, b, filepath.Join(dir, "readmodels.db"))
	defer db.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var runners []*projections.Runner
	for _, p := range all.Projections(registry) {
		r, err := projections.NewRunner(db, store, registry, p, log)
		if err != nil {
			b.Fatal(err)
		}
		runners = append(runners, r)
	}
	set := projections.NewSet(store, runners...)
	before, wrote, start := readmodeltest.ProcessCPU(), bytesWritten(b), time.Now()
	b.StartTimer()
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	if err := set.WaitFor(ctx, head); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	elapsed, cpu, written = time.Since(start), readmodeltest.ProcessCPU()-before, bytesWritten(b)-wrote
	cancel()
	<-done
	return head, cpu, written, elapsed
}

// bytesWritten is what this process has passed to write calls so far
// (wchar in /proc/self/io): WAL frames, checkpoints and logs alike.
func bytesWritten(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skipf("no /proc/self/io: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatalf("/proc/self/io: %v", err)
			}
			return n
		}
	}
	b.Fatal("/proc/self/io has no wchar")
	return 0
}
