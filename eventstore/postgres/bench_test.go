package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
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

// BenchmarkAppend1Writer measures appends of one event each, one at a
// time: a round trip for the lock and reads, one for the insert and the
// commit, and the server's WAL flush.
func BenchmarkAppend1Writer(b *testing.B) {
	s := openFresh(b)
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

// BenchmarkAppend64Writers measures appends of one event each from 64
// concurrent writers, each on its own stream: group commit at work.
func BenchmarkAppend64Writers(b *testing.B) {
	const writers = 64
	s := openFresh(b)
	ctx := context.Background()
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
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
		})
	}
	wg.Wait()
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(st.Appends)/float64(st.Commits), "appends/commit")
}

// catchUpEvents is the size of the log BenchmarkCatchUp reads.
const catchUpEvents = 200_000

// catchUp is the schema BenchmarkCatchUp reads, filled once per run and
// dropped by TestMain.
var catchUp struct {
	once   sync.Once
	base   string // the server's URL
	schema string
	url    string
	err    error
}

// BenchmarkCatchUp measures a subscription from position 0 through a log
// of 200,000 small events (filled once per run, outside the timer).
func BenchmarkCatchUp(b *testing.B) {
	base := servicetest.PostgresURL(b)
	catchUp.once.Do(func() { catchUp.err = fillCatchUp(base) })
	if catchUp.err != nil {
		b.Fatal(catchUp.err)
	}
	s := openURL(b, catchUp.url)
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

// fillCatchUp creates the catch-up schema and appends its events in
// appends of 1,000 from 4 writers.
func fillCatchUp(base string) error {
	ctx := context.Background()
	catchUp.base = base
	catchUp.schema = "bench_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+catchUp.schema); err != nil {
		return err
	}
	catchUp.url = servicetest.WithSearchPath(base, catchUp.schema)
	s, err := Open(ctx, catchUp.url)
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	const per, writers = 1000, 4
	var next atomic.Int64
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
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
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "filled %d events in %v\n", catchUpEvents, time.Since(start).Round(time.Millisecond))
	return nil
}

// dropCatchUp drops the catch-up schema, if a benchmark made one.
func dropCatchUp() {
	if catchUp.schema == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, catchUp.base)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP SCHEMA "+catchUp.schema+" CASCADE")
}
