package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/projections/readmodeltest"
)

// TestRebuildEqualsLive seeds a data set while the live projections follow
// it (as the server's do), checksums every table of every projection, then
// rebuilds them all side by side, twice, and requires the same checksums
// and the same index names after each swap.
func TestRebuildEqualsLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := newSeeder(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	db := readmodeltest.Open(ctx, t, filepath.Join(dir, readModelsFile))
	defer db.Close()
	registry := s.service.Pipeline().Registry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var runners []*projections.Runner
	for _, p := range all.Projections(registry) {
		r, err := projections.NewRunner(db, s.store, registry, p, log)
		if err != nil {
			t.Fatal(err)
		}
		runners = append(runners, r)
	}
	set := projections.NewSet(s.store, runners...)
	liveCtx, stopLive := context.WithCancel(ctx)
	liveDone := make(chan struct{})
	go func() { defer close(liveDone); set.Run(liveCtx) }()

	if _, err := s.run(ctx, seedSize(2500), 8, func(uint64) {}); err != nil {
		t.Fatal(err)
	}
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	stopLive()
	<-liveDone

	ps := all.Projections(registry)
	live := checksums(ctx, t, db, ps)
	t.Logf("live tables: %+v", live)
	for round := 1; round <= 2; round++ {
		rb := &projections.Rebuild{DB: db, Store: s.store, Registry: registry, Projections: all.Projections(registry)}
		if err := rb.Run(ctx); err != nil {
			t.Fatalf("rebuild %d: %v", round, err)
		}
		rebuilt := checksums(ctx, t, db, ps)
		for name, want := range live {
			if got := rebuilt[name]; got != want {
				t.Errorf("rebuild %d: table %s: live %+v, rebuilt %+v", round, name, want, got)
			}
		}
		cps, err := projections.Checkpoints(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if c := cps[p.Name()]; c.Position != head || c.Version != p.Version() {
				t.Errorf("rebuild %d: checkpoint of %s is %+v, want version %d at %d", round, p.Name(), c, p.Version(), head)
			}
			if c, ok := cps[projections.RebuildCheckpoint(p.Name())]; ok {
				t.Errorf("rebuild %d: rebuild checkpoint left behind: %+v", round, c)
			}
		}
	}
	var nonEmpty int
	for _, c := range live {
		if c.rows > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < 8 {
		t.Errorf("only %d tables hold rows; the seed is not realistic enough: %v", nonEmpty, live)
	}
}

// tableSum is a table's row count, the hash of its rows in order, and its
// index names.
type tableSum struct {
	rows    int
	sum     string
	indexes string
}

// checksums hashes every table of ps: each row's columns, rows ordered by
// every column, so two tables with the same rows hash the same.
func checksums(ctx context.Context, t *testing.T, db *projections.DB, ps []projections.Projection) map[string]tableSum {
	t.Helper()
	out := map[string]tableSum{}
	for _, p := range ps {
		for _, table := range p.Tables() {
			rows, err := db.QueryContext(ctx, `SELECT * FROM `+table)
			if err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			cols, _ := rows.Columns()
			rows.Close()
			order := make([]string, len(cols))
			for i := range cols {
				order[i] = fmt.Sprint(i + 1)
			}
			rows, err = db.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY `+strings.Join(order, ", "))
			if err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			h := sha256.New()
			n := 0
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				for _, v := range vals {
					fmt.Fprintf(&b, "%T:%v\x00", v, v)
				}
				b.WriteByte('\n')
				h.Write(b.Bytes())
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			var names []string
			indexQuery := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`
			if db.Dialect == projections.Postgres {
				indexQuery = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`
			}
			ir, err := db.QueryContext(ctx, indexQuery, table)
			if err != nil {
				t.Fatal(err)
			}
			for ir.Next() {
				var name string
				ir.Scan(&name)
				names = append(names, name)
			}
			ir.Close()
			slices.Sort(names)
			for _, name := range names {
				if strings.Contains(name, projections.RebuildSuffix) {
					t.Errorf("table %s keeps a rebuild index name: %s", table, name)
				}
			}
			out[table] = tableSum{rows: n, sum: hex.EncodeToString(h.Sum(nil))[:16], indexes: strings.Join(names, ",")}
		}
	}
	return out
}

// TestRebuildBesideLive swaps rebuilt tables in while the live runners keep
// applying new events (as a server beside `accessctl projections rebuild`
// does), then checks the live read models against a rebuild from scratch:
// no event was lost or applied twice across the swap.
func TestRebuildBesideLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := newSeeder(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	db := readmodeltest.Open(ctx, t, filepath.Join(dir, readModelsFile))
	defer db.Close()
	registry := s.service.Pipeline().Registry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var runners []*projections.Runner
	for _, p := range all.Projections(registry) {
		r, err := projections.NewRunner(db, s.store, registry, p, log)
		if err != nil {
			t.Fatal(err)
		}
		runners = append(runners, r)
	}
	set := projections.NewSet(s.store, runners...)
	liveCtx, stopLive := context.WithCancel(ctx)
	liveDone := make(chan struct{})
	go func() { defer close(liveDone); set.Run(liveCtx) }()

	if _, err := s.run(ctx, seedSize(1200), 4, func(uint64) {}); err != nil {
		t.Fatal(err)
	}
	// More events arrive while the rebuilds run and swap, twice.
	seeded := make(chan error, 1)
	go func() {
		_, err := s.run(ctx, seedSize(1800), 4, func(uint64) {})
		seeded <- err
	}()
	for i := 0; i < 2; i++ {
		rb := &projections.Rebuild{DB: db, Store: s.store, Registry: registry, Projections: all.Projections(registry)}
		if err := rb.Run(ctx); err != nil {
			t.Fatalf("rebuild beside live: %v", err)
		}
	}
	if err := <-seeded; err != nil {
		t.Fatal(err)
	}
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	stopLive()
	<-liveDone

	ps := all.Projections(registry)
	live := checksums(ctx, t, db, ps)
	rb := &projections.Rebuild{DB: db, Store: s.store, Registry: registry, Projections: ps}
	if err := rb.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for name, want := range checksums(ctx, t, db, ps) {
		if got := live[name]; got != want {
			t.Errorf("table %s: live after swaps %+v, rebuilt from scratch %+v", name, got, want)
		}
	}
}

// A read model named twice is refused before anything is rebuilt, rather
// than failing at the swap with the rebuild's tables left behind.
func TestRebuildRefusesARepeatedName(t *testing.T) {
	f := newFixture(t)
	code, stdout, stderr := accessctl(t, "projections", "rebuild", "keymaps", "keymaps", "--data-dir", f.dir)
	assert.Equal(t, exitUsage, code, "%s%s", stdout, stderr)
	assert.Contains(t, stderr, `"keymaps" named twice`)
	assert.NotContains(t, stdout, "rebuilt")
	_, err := os.Stat(filepath.Join(f.dir, readModelsFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing was opened, let alone rebuilt")

	code, stdout, stderr = accessctl(t, "projections", "rebuild", "keymaps", "--data-dir", f.dir)
	assert.Equal(t, exitOK, code, "%s%s", stdout, stderr)
}

// --all and names exclude each other: given both, the message says so
// rather than asking for one of them; given neither, it asks.
func TestRebuildRefusesAllWithNames(t *testing.T) {
	f := newFixture(t)
	code, stdout, stderr := accessctl(t, "projections", "rebuild", "--all", "keymaps", "--data-dir", f.dir)
	assert.Equal(t, exitUsage, code, "%s%s", stdout, stderr)
	assert.Contains(t, stderr, "give --all or names, not both")
	code, _, stderr = accessctl(t, "projections", "rebuild", "--data-dir", f.dir)
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "name the read models to rebuild, or give --all")
	_, err := os.Stat(filepath.Join(f.dir, readModelsFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing was opened")
}

// seedSize is n events, half under the race detector, which runs these
// tests 5 to 10 times slower; the PostgreSQL pass, without it, seeds n.
func seedSize(n uint64) uint64 {
	if readmodeltest.RaceDetector {
		return n / 2
	}
	return n
}
