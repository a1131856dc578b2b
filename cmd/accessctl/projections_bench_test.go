package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/projections/readmodeltest"
)

// BenchmarkRebuildAll rebuilds every read model from the event store of
// ACCESSD_BENCH_DIR (seed one with `accessctl seed --events N`), on a copy
// of the directory, and reports events/s. With ACCESSD_TEST_READMODELS=postgres
// the read models are on a fresh schema of the test PostgreSQL server.
//
//	ACCESSD_BENCH_DIR=/tmp/seeded go test -run '^$' -bench RebuildAll -benchtime 1x ./cmd/accessctl
//	ACCESSD_TEST_READMODELS=postgres ACCESSD_BENCH_DIR=/tmp/seeded go test -run '^$' -bench RebuildAll -benchtime 1x ./cmd/accessctl
func BenchmarkRebuildAll(b *testing.B) {
	src := os.Getenv("ACCESSD_BENCH_DIR")
	if src == "" {
		b.Skip("ACCESSD_BENCH_DIR names no seeded data directory")
	}
	only := os.Getenv("ACCESSD_BENCH_PROJECTION")
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		if out, err := exec.Command("cp", filepath.Join(src, eventsFile), filepath.Join(dir, eventsFile)).CombinedOutput(); err != nil {
			b.Fatalf("copy: %v %s", err, out)
		}
		d, err := openDataDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		db := readmodeltest.Open(ctx, b, filepath.Join(dir, readModelsFile))
		ps := all.Projections(d.pipeline.Registry())
		if only != "" {
			i := slices.IndexFunc(ps, func(p projections.Projection) bool { return p.Name() == only })
			if i < 0 {
				b.Fatalf("ACCESSD_BENCH_PROJECTION=%s: no projection of that name", only)
			}
			ps = ps[i : i+1]
		}
		var last projections.RebuildProgress
		rb := &projections.Rebuild{DB: db, Store: d.store, Registry: d.pipeline.Registry(), Projections: ps,
			Progress: func(p projections.RebuildProgress) { last = p }}
		cpu := readmodeltest.ProcessCPU()
		b.StartTimer()
		if err := rb.Run(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(last.Done())/last.Elapsed.Seconds(), "events/s")
		// CPU per event moves less than events/s with the machine's load.
		b.ReportMetric(float64((readmodeltest.ProcessCPU()-cpu).Microseconds())/float64(last.Done()), "cpu-µs/event")
		db.Close()
		d.Close()
	}
}
