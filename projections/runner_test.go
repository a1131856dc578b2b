package projections_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/readmodeltest"
)

type ticked struct {
	N int `json:"n"`
}

func (ticked) EventType() string { return "Ticked" }

type ignored struct{}

func (ignored) EventType() string { return "Ignored" }

// tally counts Ticked events per stream and sums their n; failOn makes Apply
// fail once for the event with that n, to prove a failed batch is retried,
// not skipped.
type tally struct {
	version int
	failOn  atomic.Int64
	applied atomic.Int64
}

func (p *tally) Name() string         { return "tally" }
func (p *tally) Version() int         { return p.version }
func (p *tally) EventTypes() []string { return []string{"Ticked"} }
func (p *tally) Tables() []string     { return []string{"tally"} }

func (p *tally) Setup(ctx context.Context, tx projections.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table("tally")+` (stream TEXT PRIMARY KEY, events INTEGER NOT NULL, total INTEGER NOT NULL)`)
	return err
}

func (p *tally) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	ev := env.Event.(ticked)
	if p.failOn.CompareAndSwap(int64(ev.N), -1) {
		return errors.New("injected failure")
	}
	p.applied.Add(1)
	t := tx.Table("tally")
	_, err := tx.Exec(ctx, `INSERT INTO `+t+` (stream, events, total) VALUES (?, 1, ?)
		ON CONFLICT (stream) DO UPDATE SET events = `+t+`.events + 1, total = `+t+`.total + excluded.total`, env.Stream, ev.N)
	return err
}

type fixture struct {
	store    *sqlite.Store
	db       *projections.DB
	registry *eventstore.Registry
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	db := readmodeltest.Open(context.Background(), t, filepath.Join(dir, "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	reg := eventstore.NewRegistry()
	reg.Register(ticked{})
	reg.Register(ignored{})
	return fixture{store: store, db: db, registry: reg}
}

func (f fixture) append(t *testing.T, stream string, evs ...eventstore.TypedEvent) uint64 {
	t.Helper()
	var data []eventstore.EventData
	for _, e := range evs {
		d, err := f.registry.Encode(uuid.New(), e, eventstore.Metadata{OccurredAt: time.Now()})
		require.NoError(t, err)
		data = append(data, d)
	}
	res, err := f.store.Append(context.Background(), stream, eventstore.Any, data...)
	require.NoError(t, err)
	return res.Position
}

func (f fixture) totals(t *testing.T) (events, total int) {
	t.Helper()
	err := f.db.QueryRow(`SELECT COALESCE(SUM(events),0), COALESCE(SUM(total),0) FROM tally`).Scan(&events, &total)
	require.NoError(t, err)
	return events, total
}

// startSet runs ps as one set (those sharing the fixture's database run
// together) until the returned stop is called.
func startSet(t *testing.T, f fixture, ps ...projections.Projection) (*projections.Set, context.CancelFunc) {
	t.Helper()
	var runners []*projections.Runner
	for _, p := range ps {
		r, err := projections.NewRunner(f.db, f.store, f.registry, p, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		runners = append(runners, r)
	}
	set := projections.NewSet(f.store, runners...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	return set, func() { cancel(); <-done }
}

// waitFor waits for set to reach pos. The deadline only bounds a hung
// test: a loaded CI machine took over 10 s for the 3,000 events of
// TestTwoRunnersOfOneProjectionApplyEachEventOnce.
func waitFor(t *testing.T, set *projections.Set, pos uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, set.WaitFor(ctx, pos))
}

func TestRunnerAppliesCatchUpAndLiveEventsOnce(t *testing.T) {
	f := newFixture(t)
	want := 0
	for i := 1; i <= 1500; i++ {
		f.append(t, fmt.Sprintf("tick-%d", i%7), ticked{N: i})
		want += i
	}
	f.append(t, "other-1", ignored{})

	set, stop := startSet(t, f, &tally{version: 1})
	head, _ := f.store.HeadPosition(context.Background())
	waitFor(t, set, head)
	assert.Eventually(t, set.Ready, 5*time.Second, 10*time.Millisecond)

	last := f.append(t, "tick-live", ticked{N: 10}, ticked{N: 20})
	waitFor(t, set, last)
	events, total := f.totals(t)
	assert.Equal(t, 1502, events)
	assert.Equal(t, want+30, total)
	lag, _, err := set.Lag(context.Background())
	require.NoError(t, err)
	assert.Zero(t, lag["tally"])
	stop()

	// A restart resumes at the checkpoint: nothing is applied twice.
	p := &tally{version: 1}
	set, stop = startSet(t, f, p)
	defer stop()
	last = f.append(t, "tick-live", ticked{N: 1})
	waitFor(t, set, last)
	events, total = f.totals(t)
	assert.Equal(t, 1503, events)
	assert.Equal(t, want+31, total)
	assert.Equal(t, int64(1), p.applied.Load())
}

func TestRunnerRetriesAFailedBatchWithoutSkipping(t *testing.T) {
	f := newFixture(t)
	p := &tally{version: 1}
	p.failOn.Store(3)
	var last uint64
	for i := 1; i <= 5; i++ {
		last = f.append(t, "tick-a", ticked{N: i})
	}
	set, stop := startSet(t, f, p)
	defer stop()
	waitFor(t, set, last)
	events, total := f.totals(t)
	assert.Equal(t, 5, events)
	assert.Equal(t, 15, total)
	assert.Equal(t, int64(-1), p.failOn.Load(), "the failure was injected")
}

func TestRunnerRebuildsWhenTheVersionChanges(t *testing.T) {
	f := newFixture(t)
	last := f.append(t, "tick-a", ticked{N: 4}, ticked{N: 6})
	set, stop := startSet(t, f, &tally{version: 1})
	waitFor(t, set, last)
	stop()
	// Corrupt the read model; a new version must rebuild it from the log.
	_, err := f.db.Exec(`UPDATE tally SET total = 999`)
	require.NoError(t, err)

	p := &tally{version: 2}
	set, stop = startSet(t, f, p)
	defer stop()
	waitFor(t, set, last)
	events, total := f.totals(t)
	assert.Equal(t, 2, events)
	assert.Equal(t, 10, total)
	assert.Equal(t, int64(2), p.applied.Load())
}

func TestWaitForHonoursTheContext(t *testing.T) {
	f := newFixture(t)
	set, stop := startSet(t, f, &tally{version: 1})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := set.WaitFor(ctx, 1_000_000)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// named is a tally under another name, so two can share a database.
type named struct {
	*tally
	name, table string
}

func (p named) Name() string     { return p.name }
func (p named) Tables() []string { return []string{p.table} }
func (p named) Setup(ctx context.Context, tx projections.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table(p.table)+` (stream TEXT PRIMARY KEY, events INTEGER NOT NULL, total INTEGER NOT NULL)`)
	return err
}
func (p named) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	ev := env.Event.(ticked)
	p.applied.Add(1)
	t := tx.Table(p.table)
	_, err := tx.Exec(ctx, `INSERT INTO `+t+` (stream, events, total) VALUES (?, 1, ?)
		ON CONFLICT (stream) DO UPDATE SET events = `+t+`.events + 1, total = `+t+`.total + excluded.total`, env.Stream, ev.N)
	return err
}

// Projections sharing a database run in one transaction per batch; one that
// is behind (rebuilding after a version change) catches up while the other
// applies nothing twice.
func TestProjectionsSharingADatabaseRunTogether(t *testing.T) {
	f := newFixture(t)
	var last uint64
	for i := 1; i <= 300; i++ {
		last = f.append(t, fmt.Sprintf("tick-%d", i%5), ticked{N: i})
	}
	sum := func(table string) (events, total int) {
		require.NoError(t, f.db.QueryRow(`SELECT COALESCE(SUM(events),0), COALESCE(SUM(total),0) FROM `+table).Scan(&events, &total))
		return
	}
	a := named{tally: &tally{version: 1}, name: "a", table: "tally_a"}
	b := named{tally: &tally{version: 1}, name: "b", table: "tally_b"}
	set, stop := startSet(t, f, a, b)
	waitFor(t, set, last)
	stop()

	a2 := named{tally: &tally{version: 1}, name: "a", table: "tally_a"}
	b2 := named{tally: &tally{version: 2}, name: "b", table: "tally_b"} // rebuilds
	set, stop = startSet(t, f, a2, b2)
	defer stop()
	last = f.append(t, "tick-live", ticked{N: 1000})
	waitFor(t, set, last)
	for _, table := range []string{"tally_a", "tally_b"} {
		events, total := sum(table)
		assert.Equal(t, 301, events, table)
		assert.Equal(t, 300*301/2+1000, total, table)
	}
	assert.Equal(t, int64(1), a2.applied.Load(), "the projection that was up to date applied only the new event")
	assert.Equal(t, int64(301), b2.applied.Load(), "the rebuilt one applied everything once")
}

// Two servers can both run a projection for a moment: one that lost its
// lease (its session dropped) may still finish a batch while the other has
// taken over. On PostgreSQL their batches run at once; each must still
// apply every event exactly once. (SQLite has one writer at a time.)
func TestTwoRunnersOfOneProjectionApplyEachEventOnce(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	f := newFixture(t)
	want := 0
	for i := 1; i <= 3000; i++ {
		f.append(t, fmt.Sprintf("s-%d", i%3), ticked{N: i})
		want += i
	}
	head, err := f.store.HeadPosition(context.Background())
	require.NoError(t, err)
	// The tables exist before both start, as when a second server joins.
	first, err := projections.NewRunner(openPostgres(t, url), f.store, f.registry, &tally{version: 1}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, first.Prepare(context.Background()))
	var sets []*projections.Set
	for range 2 {
		server := fixture{store: f.store, db: openPostgres(t, url), registry: f.registry}
		set, stop := startSet(t, server, &tally{version: 1})
		t.Cleanup(stop)
		sets = append(sets, set)
	}
	for _, set := range sets {
		waitFor(t, set, head)
	}
	events, total := fixture{db: openPostgres(t, url)}.totals(t)
	assert.Equal(t, 3000, events, "each event applied once")
	assert.Equal(t, want, total)
}

func openPostgres(t *testing.T, url string) *projections.DB {
	t.Helper()
	db, err := projections.OpenPostgres(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}
