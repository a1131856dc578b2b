package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/integration"
	"github.com/accessd/accessd/projections/webhooks"
)

// Every key and secret a replay copies is readable by the owner only, as
// the server keeps them, whatever the umask, and also where --out (a
// replay run again) already held a world-readable file of the same name.
func TestReplayWritesKeysOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, under which VACUUM INTO makes 0644
	t.Cleanup(func() { syscall.Umask(old) })
	f := newFixture(t)
	_, err := loadOrCreateSecret(f.dir, serverKeyFile, 32)
	require.NoError(t, err)
	pk, err := personaldata.Open(filepath.Join(f.dir, personalKeysFile))
	require.NoError(t, err)
	_, err = pk.Seal(t.Context(), uuid.New(), []byte("Ana"))
	require.NoError(t, err)
	require.NoError(t, pk.Close())
	require.NoError(t, os.Chmod(filepath.Join(f.dir, personalKeysFile), 0o600))

	out := t.TempDir()
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", strconv.Itoa(1<<30), "--out", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	require.NoError(t, os.Chmod(filepath.Join(out, serverKeyFile), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(out, serverKeyFile), []byte("stale"), 0o644))
	code, stdout, stderr = accessctl(t, "replay", "--data-dir", f.dir, "--until", strconv.Itoa(1<<30), "--out", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	for _, name := range []string{serverKeyFile, commandKeyFile, personalKeysFile} {
		st, err := os.Stat(filepath.Join(out, name))
		require.NoError(t, err, name)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
		want, err := os.ReadFile(filepath.Join(f.dir, name))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		if name == personalKeysFile {
			assert.NotEmpty(t, got, name)
		} else {
			assert.Equal(t, want, got, name)
		}
	}
}

// A replayed directory holds the (empty) webhook deliveries table in its
// integration.db, as a server's data directory does: the read-only server
// that serves it cannot create the table, and without it answered every
// webhook route 404 ("webhooks are not enabled") although the webhooks
// read model was replayed. The copy has published and delivered nothing:
// no checkpoint, no delivery of the source is carried over, and the
// source's integration.db is left as it was.
func TestReplayMakesTheWebhookDeliveriesTable(t *testing.T) {
	f := newFixture(t)
	src, _, err := integration.Open(t.Context(), filepath.Join(f.dir, integration.File), nil)
	require.NoError(t, err)
	_, err = src.ExecContext(t.Context(), `INSERT INTO `+bus.CheckpointTable+` (name, position) VALUES ('bus', 3)`)
	require.NoError(t, err)
	require.NoError(t, src.Close())
	before := dirSums(t, f.dir)

	out := t.TempDir()
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", strconv.Itoa(1<<30), "--out", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	assert.Equal(t, before, dirSums(t, f.dir), "the replay changed its source")
	info, err := os.Stat(filepath.Join(out, integration.File))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	db, err := projections.OpenSQLiteReadOnly(t.Context(), filepath.Join(out, integration.File))
	require.NoError(t, err)
	defer db.Close()
	for _, table := range []string{webhooks.DeliveriesTable, bus.CheckpointTable} {
		var n int
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n))
		assert.Zero(t, n, table)
	}
	// What the read-only server does with it: reads, creating nothing.
	require.NoError(t, webhooks.SetupDeliveries(t.Context(), db))
	rm, err := projections.OpenSQLiteReadOnly(t.Context(), filepath.Join(out, readModelsFile))
	require.NoError(t, err)
	defer rm.Close()
	var n int
	require.NoError(t, rm.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE name IN (?, ?)`,
		webhooks.DeliveriesTable, bus.CheckpointTable).Scan(&n))
	assert.Zero(t, n, "the replayed read models hold integration tables")
}

// An instant past the year 2262 or before 1678 has no Unix time in
// nanoseconds: one after the last event keeps the whole log, one before the
// first keeps none, as any other instant does (they used to wrap around
// and keep the opposite).
func TestReplayUntilAFarInstant(t *testing.T) {
	f := newFixture(t)
	store, err := sqlite.Open(filepath.Join(f.dir, eventsFile))
	require.NoError(t, err)
	head, err := store.HeadPosition(t.Context())
	require.NoError(t, err)
	require.NoError(t, store.Close())
	require.NotZero(t, head)
	for until, want := range map[string]uint64{
		"2300-01-01T00:00:00Z": head,
		"9999-12-31T23:59:59Z": head,
		"1600-01-01T00:00:00Z": 0,
		"0001-01-01T00:00:00Z": 0,
	} {
		out := t.TempDir()
		code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", until, "--out", out)
		require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
		assert.Contains(t, stdout, "as of position "+strconv.FormatUint(want, 10)+" ", until)
	}
}

// A replay reads its source without writing: an evidence copy on a
// read-only filesystem replays, and no source file changes.
func TestReplayFromAReadOnlySource(t *testing.T) {
	f := newFixture(t)
	pk, err := personaldata.Open(filepath.Join(f.dir, personalKeysFile))
	require.NoError(t, err)
	_, err = pk.Seal(t.Context(), uuid.New(), []byte("Ana"))
	require.NoError(t, err)
	require.NoError(t, pk.Close())
	before := dirSums(t, f.dir)
	readOnly := makeReadOnly(t, f.dir)

	out := t.TempDir()
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", strconv.Itoa(1<<30), "--out", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	assert.Equal(t, before, dirSums(t, f.dir), "the replay changed its source (read-only: %v)", readOnly)
	got, err := os.ReadFile(filepath.Join(out, personalKeysFile))
	require.NoError(t, err)
	assert.NotEmpty(t, got)
}

// A replay into (and from) directories whose names hold '#' and '?'
// writes its files there, not at the path cut short where a URL's
// fragment or query would begin.
func TestReplayPathsWithURLCharacters(t *testing.T) {
	f := newFixture(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "case#1?v=2")
	code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "3", "--out", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	events, _ := replayState(t, out)
	require.Len(t, events, 3)
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, entries, 1, "files outside --out: %v", entries)
}

// --until is read as the API reads an instant: an offset past 23:59 (Go
// takes +24:00 as the day before), a comma before the fraction and a tenth
// fractional digit exit 2 naming --until with the API's message, and a
// lower-case t and z replay as their upper-case form does.
func TestReplayReadsUntilAsTheAPI(t *testing.T) {
	f := newFixture(t)
	for raw, message := range map[string]string{
		"2026-11-25T12:00:00+24:00":       "--until: must be an RFC 3339 instant",
		"2026-11-25T12:00:00,5Z":          "--until: must be an RFC 3339 instant",
		"2026-11-25T12:00:00.1234567891Z": "--until: has more than 9 fractional digits",
		"9999-12-31T19:00:00-05:00":       "--until: is out of range",
		"tomorrow":                        "--until: must be an RFC 3339 instant",
	} {
		out := filepath.Join(t.TempDir(), "replay")
		code, _, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", raw, "--out", out)
		assert.Equal(t, exitUsage, code, "%s: %s", raw, stderr)
		assert.Contains(t, stderr, message, raw)
		_, err := os.Stat(out)
		assert.ErrorIs(t, err, os.ErrNotExist, raw)
	}

	upper, lower := filepath.Join(t.TempDir(), "upper"), filepath.Join(t.TempDir(), "lower")
	code, want, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "2300-01-01T00:00:00Z", "--out", upper)
	require.Equal(t, exitOK, code, "%s", stderr)
	code, got, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "2300-01-01t00:00:00z", "--out", lower)
	require.Equal(t, exitOK, code, "%s", stderr)
	assert.Equal(t, strings.ReplaceAll(want, upper, lower), got)
}
