package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/accessd/accessd/eventstore"
)

// fillStream appends n events to stream with Any, 25 at a time, and
// returns them with the positions they were stored at.
func fillStream(t *testing.T, s *Store, stream string, n int) ([]eventstore.EventData, []uint64) {
	t.Helper()
	evs := make([]eventstore.EventData, 0, n)
	pos := make([]uint64, 0, n)
	for len(evs) < n {
		chunk := make([]eventstore.EventData, min(25, n-len(evs)))
		for i := range chunk {
			chunk[i] = event("AccessLogged", len(evs)+i)
		}
		res := mustAppend(t, s, stream, eventstore.Any, chunk...)
		for i := range chunk {
			pos = append(pos, res.Position-uint64(len(chunk)-1-i))
		}
		evs = append(evs, chunk...)
	}
	return evs, pos
}

// requireRetries checks, on a stream holding evs at pos, that re-appending
// stored ids with Any or StreamExists is a no-op reporting them, that stored
// ids out of order are a conflict, and that a new id is stored once.
func requireRetries(t *testing.T, s *Store, stream string, evs []eventstore.EventData, pos []uint64) {
	t.Helper()
	ctx := context.Background()
	n := len(evs)
	for _, r := range [][2]int{{0, 1}, {7, 10}, {n / 2, n/2 + 1}, {n - 3, n}} {
		for _, exp := range []eventstore.ExpectedRevision{eventstore.Any, eventstore.StreamExists} {
			res, err := s.Append(ctx, stream, exp, evs[r[0]:r[1]]...)
			want := eventstore.AppendResult{NextExpectedRevision: uint64(r[1] - 1), Position: pos[r[1]-1]}
			if err != nil || res != want {
				t.Fatalf("retry of revisions %d…%d at %s: %+v, %v; want %+v", r[0], r[1]-1, exp, res, err, want)
			}
		}
	}
	_, err := s.Append(ctx, stream, eventstore.Any, evs[5], evs[7])
	var wev *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wev) || wev.Actual != int64(n-1) {
		t.Fatalf("stored ids out of order: %v, want a conflict at %d", err, n-1)
	}
	fresh := event("AccessLogged", n)
	res := mustAppend(t, s, stream, eventstore.Any, fresh)
	if res.NextExpectedRevision != uint64(n) {
		t.Fatalf("new id stored at revision %d, want %d", res.NextExpectedRevision, n)
	}
	again := mustAppend(t, s, stream, eventstore.Any, fresh)
	if again != res {
		t.Fatalf("retry of the new id: %+v, want %+v", again, res)
	}
	got, err := s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != fresh.ID || got[0].Revision != uint64(n) || got[1].ID != evs[n-1].ID {
		t.Fatalf("stream ends with %+v", got)
	}
}

func TestAnyIdempotentAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	evs, pos := fillStream(t, s, "access-1", 3000)
	fillStream(t, s, "access-2", 50)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.ids.streams) != 0 {
		t.Fatalf("a reopened store starts with %d streams cached", len(s.ids.streams))
	}
	requireRetries(t, s, "access-1", evs, pos)
}

func TestAnyIdempotentAfterEviction(t *testing.T) {
	s := openTemp(t, withMaxCachedIDs(100))
	a, apos := fillStream(t, s, "access-a", 60)
	b, bpos := fillStream(t, s, "access-b", 60)
	// The last fill's check loaded access-b, which pushed access-a out.
	if _, ok := s.ids.streams["access-a"]; ok {
		t.Fatalf("access-a still cached: %d revisions for a bound of 100", s.ids.size)
	}
	requireRetries(t, s, "access-a", a, apos)
	if _, ok := s.ids.streams["access-b"]; ok {
		t.Fatal("access-b still cached after access-a came back")
	}
	requireRetries(t, s, "access-b", b, bpos)
	if s.ids.size > 100 {
		t.Fatalf("cache holds %d revisions for a bound of 100", s.ids.size)
	}
}

func TestAnyIdempotentStreamLongerThanCache(t *testing.T) {
	s := openTemp(t, withMaxCachedIDs(100))
	evs, pos := fillStream(t, s, "access-1", 250)
	requireRetries(t, s, "access-1", evs, pos)
	if _, ok := s.ids.streams["access-1"]; ok || s.ids.size != 0 {
		t.Fatalf("a stream over the bound is cached: %d revisions", s.ids.size)
	}
}

// TestAnyRetryInSameBatch runs one batch whose later requests retry the
// earlier ones, so that the checks must see the batch's own writes besides
// the committed revisions in the cache. It calls the writer's commitBatch
// directly: the writer goroutine is idle between appends.
func TestAnyRetryInSameBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	old, oldPos := fillStream(t, s, "access-1", 20)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	a, b, c := event("A", 1), event("B", 2), event("C", 3)
	req := func(exp eventstore.ExpectedRevision, evs ...eventstore.EventData) *appendRequest {
		return &appendRequest{ctx: ctx, stream: "access-1", expected: exp, events: evs}
	}
	reps := s.commitBatch([]*appendRequest{
		req(eventstore.Exact(19), a, b),     // revisions 20, 21 at positions 21, 22
		req(eventstore.Any, a, b),           // no-op
		req(eventstore.StreamExists, b),     // no-op
		req(eventstore.Any, old[3], old[4]), // no-op, from the cache loaded now
		req(eventstore.Any, b, a),           // conflict
		req(eventstore.Any, c),              // revision 22 at position 23
		req(eventstore.Any, c),              // no-op
	}, nil)
	want := []appendReply{
		{result: eventstore.AppendResult{NextExpectedRevision: 21, Position: 22}, stored: 2},
		{result: eventstore.AppendResult{NextExpectedRevision: 21, Position: 22}},
		{result: eventstore.AppendResult{NextExpectedRevision: 21, Position: 22}},
		{result: eventstore.AppendResult{NextExpectedRevision: 4, Position: oldPos[4]}},
		{err: &eventstore.WrongExpectedVersionError{Stream: "access-1", Expected: eventstore.Any, Actual: 21}},
		{result: eventstore.AppendResult{NextExpectedRevision: 22, Position: 23}, stored: 1},
		{result: eventstore.AppendResult{NextExpectedRevision: 22, Position: 23}},
	}
	for i, rep := range reps {
		if rep.result != want[i].result || rep.stored != want[i].stored || fmt.Sprint(rep.err) != fmt.Sprint(want[i].err) {
			t.Errorf("request %d: %+v stored %d err %v; want %+v stored %d err %v", i, rep.result, rep.stored, rep.err, want[i].result, want[i].stored, want[i].err)
		}
	}
	// The cache took in the committed batch: a retry is a no-op.
	if e := s.ids.streams["access-1"]; e == nil || e.last != 22 {
		t.Fatalf("cache entry after the batch: %+v", e)
	}
	if res := mustAppend(t, s, "access-1", eventstore.Any, b, c); res != (eventstore.AppendResult{NextExpectedRevision: 22, Position: 23}) {
		t.Fatalf("retry after the batch: %+v", res)
	}
	if evs, _ := s.ReadStream(ctx, "access-1", eventstore.ReadStreamOptions{}); len(evs) != 23 {
		t.Fatalf("stream holds %d events, want 23", len(evs))
	}
}

// TestOpenSchemaV1 opens a file written by schema version 1, with its
// (stream, id) index, as this build's first open of it would find it.
func TestOpenSchemaV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := event("LockProvisioned", 1), event("AccessLogged", 2)
	for _, q := range []string{
		`CREATE TABLE events (
			position    INTEGER PRIMARY KEY,
			stream      TEXT    NOT NULL,
			revision    INTEGER NOT NULL,
			id          BLOB    NOT NULL,
			type        TEXT    NOT NULL,
			data        BLOB,
			metadata    BLOB,
			recorded_at INTEGER NOT NULL,
			UNIQUE (stream, revision)
		)`,
		`CREATE INDEX events_stream_id ON events (stream, id)`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for i, ev := range []eventstore.EventData{a, b} {
		if _, err := db.Exec(`INSERT INTO events VALUES (?, 'lock-1', ?, ?, ?, ?, ?, 1)`, i+1, i, ev.ID[:], ev.Type, []byte(ev.Data), []byte(ev.Metadata)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatalf("open a version 1 file: %v", err)
	}
	defer s.Close()
	var version, indexes int
	if err := s.wdb.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := s.wdb.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'events_stream_id'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if version != schemaVersion || indexes != 0 {
		t.Fatalf("after open: version %d, %d events_stream_id index", version, indexes)
	}
	if res := mustAppend(t, s, "lock-1", eventstore.Any, b); res != (eventstore.AppendResult{NextExpectedRevision: 1, Position: 2}) {
		t.Fatalf("retry of a stored event: %+v", res)
	}
	c := event("AccessLogged", 3)
	if res := mustAppend(t, s, "lock-1", eventstore.Any, c); res != (eventstore.AppendResult{NextExpectedRevision: 2, Position: 3}) {
		t.Fatalf("new event: %+v", res)
	}
	evs, err := s.ReadStream(context.Background(), "lock-1", eventstore.ReadStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].ID != a.ID || evs[1].ID != b.ID || evs[2].ID != c.ID || string(evs[1].Data) != string(b.Data) {
		t.Fatalf("stream after open: %+v", evs)
	}
}

func TestIDCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newIDCache(2*(10+entryCost) + 5)
	fill := func(stream string, n int) {
		e := c.get(stream)
		for i := range n {
			c.add(e, int64(i), event("A", i).ID)
		}
	}
	fill("a", 10)
	fill("b", 10)
	c.get("a") // a is now the most recently used
	fill("c", 10)
	c.evict()
	if _, ok := c.streams["b"]; ok || c.streams["a"] == nil || c.streams["c"] == nil {
		t.Fatalf("after eviction: %v", c.streams)
	}
	if c.size != 2*(10+entryCost) {
		t.Fatalf("size %d, want %d", c.size, 2*(10+entryCost))
	}
	// Writes that do not follow an entry's last revision are left out.
	c.committed([]idWrite{{stream: "a", revision: 11, id: event("A", 11).ID}, {stream: "c", revision: 10, id: event("A", 10).ID}})
	if c.streams["a"].last != 9 || c.streams["c"].last != 10 {
		t.Fatalf("after commit: a up to %d, c up to %d", c.streams["a"].last, c.streams["c"].last)
	}
}
