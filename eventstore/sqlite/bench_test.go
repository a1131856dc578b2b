package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
	"github.com/google/uuid"
)

// benchEvent is a small event of the size the server appends.
func benchEvent(n int) eventstore.EventData {
	return eventstore.EventData{
		ID:       uuid.New(),
		Type:     "AccessAttempted",
		Data:     json.RawMessage(fmt.Sprintf(`{"lockId":"6f1c","deviceId":"a1b2","granted":true,"n":%d}`, n)),
		Metadata: json.RawMessage(`{"correlationId":"5b0e6c1e-6f4e-4b8e-9d59-3f0a2a8e1c11","occurredAt":"2026-11-23T18:00:00Z","schema":1}`),
	}
}

// BenchmarkDiskSync measures the disk's own rate of small synchronous
// writes in the directory the store benchmarks use: the ceiling of durable
// appends without group commit.
func BenchmarkDiskSync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 128)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "syncs/s")
}

// BenchmarkAppend1Writer measures durable appends of one event each, one
// at a time.
func BenchmarkAppend1Writer(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		exp := eventstore.Exact(uint64(i - 1))
		if i == 0 {
			exp = eventstore.NoStream
		}
		if _, err := s.Append(ctx, "lock-1", exp, benchEvent(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// BenchmarkAppend64Writers measures durable appends of one event each from
// 64 concurrent writers, each on its own stream: group commit at work.
func BenchmarkAppend64Writers(b *testing.B) {
	const writers = 64
	s := benchStore(b)
	ctx := context.Background()
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	cpu, cpuOK := cpuTime()
	b.ResetTimer()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("lock-%d", w)
			exp := eventstore.NoStream
			for i := 0; left.Add(-1) >= 0; i++ {
				res, err := s.Append(ctx, stream, exp, benchEvent(i))
				if err != nil {
					b.Error(err)
					return
				}
				exp = eventstore.Exact(res.NextExpectedRevision)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	end, endOK := cpuTime()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(st.Appends)/float64(st.Commits), "appends/commit")
	// On a shared machine appends/s follows the others' load; the CPU
	// the process spent (writer and callers) per append much less so.
	if cpuOK && endOK {
		b.ReportMetric(float64((end-cpu).Microseconds())/float64(b.N), "cpu-µs/append")
	}
}

// BenchmarkAppendAnyLongStream measures appends with expected Any, one new
// event each, to a stream that already holds 1,000 or 100,000 events: the
// idempotency check must cost the same whatever the stream's length. The
// stream is filled outside the timer, the store reopened (a cold cache, as
// after a restart), and the cache loaded by a first append, whose duration
// is reported as load-ms.
func BenchmarkAppendAnyLongStream(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) { benchmarkAppendAny(b, n) })
	}
}

func benchmarkAppendAny(b *testing.B, events int) {
	s := benchStore(b)
	ctx := context.Background()
	evs := make([]eventstore.EventData, 1000)
	for i := 0; i < events; i += len(evs) {
		for j := range evs {
			evs[j] = benchEvent(i + j)
		}
		if _, err := s.Append(ctx, "access-lock-1", eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
	path := s.Path()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	start := time.Now()
	if _, err := s.Append(ctx, "access-lock-1", eventstore.Any, benchEvent(-1)); err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	cpu, cpuOK := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Append(ctx, "access-lock-1", eventstore.Any, benchEvent(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(load.Microseconds())/1000, "load-ms")
	if end, ok := cpuTime(); ok && cpuOK {
		b.ReportMetric(float64((end-cpu).Microseconds())/float64(b.N), "cpu-µs/append")
	}
}

// catchUpEvents is the size of the log BenchmarkCatchUp1M reads.
const catchUpEvents = 1_000_000

var catchUpFile struct {
	once sync.Once
	path string
	err  error
}

// BenchmarkCatchUp1M measures a subscription from position 0 through a log
// of a million small events (filled once per run, outside the timer).
func BenchmarkCatchUp1M(b *testing.B) {
	catchUpFile.once.Do(func() { catchUpFile.path, catchUpFile.err = fillCatchUp() })
	if catchUpFile.err != nil {
		b.Fatal(catchUpFile.err)
	}
	s, err := Open(catchUpFile.path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	runtime.GC() // not the fill's garbage
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sub, err := s.Subscribe(ctx, 0, eventstore.Filter{})
		if err != nil {
			b.Fatal(err)
		}
		for n := 1; n <= catchUpEvents; n++ {
			ev, err := sub.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if ev.Position != uint64(n) {
				b.Fatalf("position %d, want %d", ev.Position, n)
			}
		}
		_ = sub.Close()
	}
	b.ReportMetric(float64(catchUpEvents*b.N)/b.Elapsed().Seconds(), "events/s")
}

// fillCatchUp writes the million events in appends of 1,000 events from 8
// writers, into a file under the system temp dir removed by TestMain.
func fillCatchUp() (string, error) {
	dir, err := os.MkdirTemp("", "sqlite-catchup-")
	if err != nil {
		return "", err
	}
	benchDirs = append(benchDirs, dir)
	path := filepath.Join(dir, "events.db")
	s, err := Open(path)
	if err != nil {
		return "", err
	}
	defer s.Close()
	start := time.Now()
	const per, writers = 1000, 8
	ctx := context.Background()
	var next atomic.Int64
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := make([]eventstore.EventData, per)
			for {
				k := int(next.Add(1)) - 1
				if k*per >= catchUpEvents {
					return
				}
				for j := range evs {
					evs[j] = benchEvent(k*per + j)
				}
				if _, err := s.Append(ctx, fmt.Sprintf("lock-%d", k), eventstore.NoStream, evs...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "filled %d events in %v\n", catchUpEvents, time.Since(start).Round(time.Millisecond))
	return path, nil
}

// benchDirs are removed by TestMain after the run.
var benchDirs []string

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}
