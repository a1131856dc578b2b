package projections_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/lease"
)

// server is one of two processes sharing a log and read models: its own
// database handle, projection and set.
type server struct {
	set   *projections.Set
	tally *tally
	stop  context.CancelFunc
	done  chan struct{}
}

func startLeasedServer(t *testing.T, f fixture, dbPath string, leases projections.Leaser) *server {
	t.Helper()
	db, err := projections.OpenSQLite(context.Background(), dbPath)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	p := &tally{version: 1}
	r, err := projections.NewRunner(db, f.store, f.registry, p, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	s := &server{set: projections.NewSet(f.store, r), tally: p, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = func() { cancel(); <-s.done }
	go func() { defer close(s.done); s.set.RunLeased(ctx, leases) }()
	t.Cleanup(s.stop)
	return s
}

// Two servers share read models: only the lease holder applies events, the
// other follows its checkpoints, and when the holder stops the other takes
// over where it left off, applying each event exactly once.
func TestLeasedSetsApplyEachEventOnceAcrossATakeover(t *testing.T) {
	f := newFixture(t)
	leases, err := lease.NewPostgres(t.Context(), servicetest.PostgresURL(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	// Each test run has its own lease: the name is per projection, so a
	// fresh read-model file means a projection of a fresh name here.
	dbPath := filepath.Join(t.TempDir(), "shared.db")
	leaser := namespaced{leases, t.Name() + fmt.Sprint(time.Now().UnixNano())}
	a := startLeasedServer(t, f, dbPath, leaser)
	b := startLeasedServer(t, f, dbPath, leaser)

	want := 0
	var last uint64
	for i := 1; i <= 300; i++ {
		last = f.append(t, fmt.Sprintf("tick-%d", i%5), ticked{N: i})
		want += i
	}
	waitFor(t, a.set, last)
	waitFor(t, b.set, last)
	require.Eventually(t, func() bool { return a.set.Ready() && b.set.Ready() }, 10*time.Second, 10*time.Millisecond)

	leader, follower := a, b
	if b.tally.applied.Load() > 0 {
		leader, follower = b, a
	}
	require.Zero(t, follower.tally.applied.Load(), "both servers applied events")
	leader.stop()

	for i := 301; i <= 600; i++ {
		last = f.append(t, fmt.Sprintf("tick-%d", i%5), ticked{N: i})
		want += i
	}
	waitFor(t, follower.set, last)
	require.Equal(t, int64(600), a.tally.applied.Load()+b.tally.applied.Load(), "an event applied twice or skipped")
	var events, total int
	shared, err := projections.OpenSQLite(t.Context(), dbPath)
	require.NoError(t, err)
	defer shared.Close()
	require.NoError(t, shared.QueryRow(`SELECT SUM(events), SUM(total) FROM tally`).Scan(&events, &total))
	require.Equal(t, 600, events)
	require.Equal(t, want, total)
}

// namespaced keeps one test's leases apart from any other run's.
type namespaced struct {
	projections.Leaser
	prefix string
}

func (n namespaced) Acquire(ctx context.Context, name string) (projections.Lease, error) {
	return n.Leaser.Acquire(ctx, n.prefix+"/"+name)
}

// A server without the lease reads the holder's checkpoints as soon as one
// of its callers waits for a position, not at its next tick: a revocation
// it follows from the log, or a command answered through it, waits for
// one read of the checkpoints. With the ticks taken away, only the
// waiters can move it.
func TestFollowerReadsCheckpointsWhenWaitedFor(t *testing.T) {
	defer projections.SetFollowInterval(time.Hour)()
	f := newFixture(t)
	leases, err := lease.NewPostgres(t.Context(), servicetest.PostgresURL(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	dbPath := filepath.Join(t.TempDir(), "shared.db")
	leaser := namespaced{leases, t.Name() + fmt.Sprint(time.Now().UnixNano())}
	a := startLeasedServer(t, f, dbPath, leaser)
	b := startLeasedServer(t, f, dbPath, leaser)
	f.append(t, "tick-0", ticked{N: 0})
	leader, follower := a, b
	require.Eventually(t, func() bool {
		if b.tally.applied.Load() > 0 {
			leader, follower = b, a
		}
		return leader.tally.applied.Load() > 0
	}, 10*time.Second, time.Millisecond, "nobody applies events")

	for i := 1; i <= 5; i++ {
		last := f.append(t, fmt.Sprintf("tick-%d", i), ticked{N: i})
		waitFor(t, leader.set, last) // committed by the holder
		start := time.Now()
		waitFor(t, follower.set, last)
		t.Logf("the follower reached %d %s after the holder", last, time.Since(start).Round(time.Microsecond))
	}
	require.Zero(t, follower.tally.applied.Load(), "the follower applied events")
}
