package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/cmd/internal/replaymark"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
)

// cancelOnWrite collects what a command writes and cancels its context
// once the output holds a given text: a replay interrupted at that point.
type cancelOnWrite struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	when   string
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.when) {
		w.cancel()
	}
	return n, err
}

// replayState is what a replayed directory answers with: its events and
// the checksums of every read-model table.
func replayState(t *testing.T, dir string) ([]eventstore.RecordedEvent, map[string]tableSum) {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.OpenReadOnly(filepath.Join(dir, eventsFile))
	require.NoError(t, err)
	defer store.Close()
	events, err := store.ReadAll(ctx, 0, 1<<20, eventstore.Filter{})
	require.NoError(t, err)
	db, err := projections.OpenSQLiteReadOnly(ctx, filepath.Join(dir, readModelsFile))
	require.NoError(t, err)
	defer db.Close()
	return events, checksums(ctx, t, db, all.Projections(eventstore.NewRegistry()))
}

// A replay interrupted partway (here: after copying the log, as its
// rebuild starts), and left with read models that would resume from a
// rebuild checkpoint of another log, is finished by running the same
// command again: it starts --out over and ends as a replay never
// interrupted does.
func TestReplayRunAgainAfterAnInterruption(t *testing.T) {
	f := newFixture(t)
	until := strconv.Itoa(1 << 30)
	want := filepath.Join(t.TempDir(), "fresh")
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", until, "--out", want)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	wantEvents, wantTables := replayState(t, want)
	require.NotEmpty(t, wantEvents)

	out := filepath.Join(t.TempDir(), "forensic")
	args := []string{"replay", "--data-dir", f.dir, "--until", until, "--out", out}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	interrupted := &cancelOnWrite{when: "rebuild:", cancel: cancel}
	var partial bytes.Buffer
	code = run(ctx, args, env{stdout: &partial, stderr: interrupted, getenv: func(string) string { return "" }})
	require.NotEqual(t, exitOK, code, "the replay was not interrupted: %s%s", &partial, &interrupted.buf)
	// An interruption the replay sees removes what it wrote.
	require.NoDirExists(t, out)

	// What a crash (which removes nothing) may leave behind: the marker,
	// the log, and read models from another log, with rebuild checkpoints
	// far ahead, which a resumed rebuild would take as done.
	code, stdout, stderr = accessctl(t, args...)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	db, err := projections.OpenSQLite(t.Context(), filepath.Join(out, readModelsFile))
	require.NoError(t, err)
	for _, p := range all.Projections(eventstore.NewRegistry()) {
		_, err := db.ExecContext(t.Context(), `INSERT OR REPLACE INTO projection_checkpoints (name, version, position) VALUES (?, ?, ?)`,
			projections.RebuildCheckpoint(p.Name()), p.Version(), 1<<40)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	code, stdout, stderr = accessctl(t, args...)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	gotEvents, gotTables := replayState(t, out)
	assert.Equal(t, wantEvents, gotEvents)
	assert.Equal(t, wantTables, gotTables)

	// And once more over the finished replay: the same again.
	code, stdout, stderr = accessctl(t, args...)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	gotEvents, gotTables = replayState(t, out)
	assert.Equal(t, wantEvents, gotEvents)
	assert.Equal(t, wantTables, gotTables)
}

// A replay into a directory holding another replay (another source or
// bound) or anything a replay does not write is refused, saying what to
// do, and leaves the directory as it was.
func TestReplayRefusesADirectoryNotItsOwn(t *testing.T) {
	f := newFixture(t)
	replayed := t.TempDir()
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "3", "--out", replayed)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	other := newFixture(t)
	unrelated := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(unrelated, "notes.txt"), []byte("mine"), 0o600))

	for _, c := range []struct {
		name, out, source, until, says string
	}{
		{"another bound", replayed, f.dir, "2", "holds the replay of " + f.dir + " until 3: give another --out"},
		{"another source", replayed, other.dir, "3", "holds the replay of " + f.dir + " until 3"},
		{"a directory of other files", unrelated, f.dir, "3", "is not empty and holds no replay"},
	} {
		before := dirSums(t, c.out)
		code, stdout, stderr := accessctl(t, "replay", "--data-dir", c.source, "--until", c.until, "--out", c.out)
		assert.Equal(t, exitUsage, code, "%s: %s%s", c.name, stdout, stderr)
		assert.Contains(t, stderr, c.says, c.name)
		assert.Equal(t, before, dirSums(t, c.out), "%s: the directory changed", c.name)
	}

	// The same replay, but the directory also holds a file of someone
	// else's: nothing is removed.
	require.NoError(t, os.WriteFile(filepath.Join(replayed, "notes.txt"), []byte("mine"), 0o600))
	before := dirSums(t, replayed)
	code, _, stderr = accessctl(t, "replay", "--data-dir", f.dir, "--until", "3", "--out", replayed)
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "holds notes.txt, which no replay writes")
	assert.Equal(t, before, dirSums(t, replayed))
}

// A replay killed while writing its marker leaves only the marker's
// temporary file, half written: the same replay run again takes the
// directory for empty and finishes.
func TestReplayAfterAKillWhileWritingTheMarker(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(out, replayMarkerTemp), []byte(`{"source": "/da`), 0o600))

	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "3", "--out", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	assert.NoFileExists(t, filepath.Join(out, replayMarkerTemp))
	b, err := os.ReadFile(filepath.Join(out, replayMarkerFile))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"until": "3"`)
}

// An --out inside the data directory (or the data directory itself),
// written directly, through a relative path or through a symbolic link,
// is refused as a usage error naming --out, and nothing is created there.
func TestReplayRefusesAnOutInsideTheDataDir(t *testing.T) {
	f := newFixture(t)
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(f.dir, link))
	before := dirSums(t, f.dir)
	for _, out := range []string{
		filepath.Join(f.dir, "sub"),
		filepath.Join(f.dir, "sub", "deeper"),
		filepath.Join(f.dir, "sub", "..", "other"),
		filepath.Join(link, "sub"),
		link,
	} {
		code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "3", "--out", out)
		assert.Equal(t, exitUsage, code, "%s: %s%s", out, stdout, stderr)
		assert.Contains(t, stderr, "--out", out)
		assert.Equal(t, before, dirSums(t, f.dir), "%s: the data directory changed", out)
	}
	// A sibling whose name only begins like the data directory's is fine.
	out := f.dir + "-replay"
	t.Cleanup(func() { os.RemoveAll(out) })
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "3", "--out", out)
	assert.Equal(t, exitOK, code, "%s%s", stdout, stderr)
}

// A replay that fails (here: its source events.db is no database) exits 1
// and leaves nothing of its own: no marker, no empty events.db, and not
// the directory it created; an --out that existed is left empty, as it was.
func TestReplayFailedLeavesNoReplay(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, eventsFile), bytes.Repeat([]byte("not a database "), 512), 0o600))

	out := filepath.Join(t.TempDir(), "forensic")
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", src, "--until", "3", "--out", out)
	assert.Equal(t, exitFailed, code, "%s%s", stdout, stderr)
	assert.NoDirExists(t, out)

	existing := t.TempDir()
	code, stdout, stderr = accessctl(t, "replay", "--data-dir", src, "--until", "3", "--out", existing)
	assert.Equal(t, exitFailed, code, "%s%s", stdout, stderr)
	entries, err := os.ReadDir(existing)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// markerDuring reads the marker of out once the replay's output holds a
// given text, as a kill -9 at that point would leave it.
type markerDuring struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	when string
	out  string
	seen *replayMarker
	err  error
}

func (w *markerDuring) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.seen == nil && w.err == nil && strings.Contains(w.buf.String(), w.when) {
		m, ok, rerr := replaymark.Read(w.out)
		if !ok && rerr == nil {
			rerr = os.ErrNotExist
		}
		w.seen, w.err = &m, rerr
	}
	return n, err
}

// A replay is marked complete last: killed during its rebuild, it leaves
// a marker that says it did not finish (which accessd --read-only
// refuses); run again over a finished replay, it marks the directory
// unfinished before removing anything; finished, it is complete again.
func TestReplayMarksItselfCompleteLast(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "forensic")
	args := []string{"replay", "--data-dir", f.dir, "--until", "3", "--out", out}
	for range 2 {
		during := &markerDuring{when: "rebuild:", out: out}
		code := run(t.Context(), args, env{stdout: io.Discard, stderr: during, getenv: func(string) string { return "" }})
		require.Equal(t, exitOK, code, "%s", &during.buf)
		require.NoError(t, during.err)
		require.NotNil(t, during.seen, "no rebuild progress seen: %s", &during.buf)
		assert.False(t, during.seen.Finished(), "the marker said complete during the rebuild")
		m, ok, err := replaymark.Read(out)
		require.NoError(t, err)
		require.True(t, ok)
		assert.True(t, m.Finished(), "a finished replay is not marked complete")
		assert.NoError(t, replaymark.CheckComplete(out))
		assert.NoFileExists(t, filepath.Join(out, replayMarkerTemp))
	}

	// A marker left unfinished (the replay killed) is refused by
	// CheckComplete, naming the directory and the command to run again.
	require.NoError(t, replaymark.Write(out, replayMarker{Source: f.dir, Until: "3"}))
	err := replaymark.CheckComplete(out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), out)
	assert.Contains(t, err.Error(), "accessctl replay --data-dir "+f.dir+" --until 3 --out "+out)
	code, stdout, stderr := accessctl(t, args...)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	assert.NoError(t, replaymark.CheckComplete(out))
}

// A replay copy is evidence: the commands that append refuse it (exit 1,
// naming replay.json) and leave it as it was; those that only read work.
func TestAppendingCommandsRefuseAReplay(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "replay")
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "1000000", "--out", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	before := dirSums(t, out)
	for _, args := range [][]string{
		{"keys", "create", "--data-dir", out, "--account", f.accountID.String(), "--permission", "owner"},
		{"seed", "--events", "10", "--data-dir", out},
		{"webhooks", "replay", "--all", "--data-dir", out},
	} {
		code, stdout, stderr := accessctl(t, args...)
		require.Equal(t, exitFailed, code, "%v: %s%s", args, stdout, stderr)
		assert.Contains(t, stderr, replayMarkerFile, "%v", args)
		assert.Empty(t, stdout, "%v", args)
	}
	assert.Equal(t, before, dirSums(t, out), "the replay is left as it was")
	code, stdout, stderr = accessctl(t, "verify", "--data-dir", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	requireListAndStatus(t, out, "head position")
}
