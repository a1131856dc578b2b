package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/integration"
)

// dirSums hashes every file of dir by its name.
func dirSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, path)
		sums[rel] = hex.EncodeToString(sum[:])
		return nil
	}))
	return sums
}

// requireListAndStatus runs `projections list` and `status` on dir, both
// succeeding with want in their output.
func requireListAndStatus(t *testing.T, dir, want string) {
	t.Helper()
	for _, cmd := range []string{"list", "status"} {
		code, stdout, stderr := accessctl(t, "projections", cmd, "--data-dir", dir)
		require.Equal(t, exitOK, code, "projections %s: %s%s", cmd, stdout, stderr)
		assert.Contains(t, stdout, want, "projections %s", cmd)
	}
}

// `projections list` and `status` only read: they change no file of the
// data directory (a replayed one is evidence), create no read models where
// there are none, and work on a directory they cannot write.
func TestProjectionsListAndStatusWriteNothing(t *testing.T) {
	f := newFixture(t)
	before := dirSums(t, f.dir)
	requireListAndStatus(t, f.dir, "no read models yet")
	assert.Equal(t, before, dirSums(t, f.dir), "list and status without read models changed the directory")
	_, err := os.Stat(filepath.Join(f.dir, readModelsFile))
	assert.ErrorIs(t, err, fs.ErrNotExist, "list and status created the read models")

	code, stdout, stderr := accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	before = dirSums(t, f.dir)
	require.Contains(t, before, readModelsFile)
	requireListAndStatus(t, f.dir, "keymaps")
	assert.Equal(t, before, dirSums(t, f.dir), "list and status changed the directory")

	if !makeReadOnly(t, f.dir) {
		return
	}
	requireListAndStatus(t, f.dir, "keymaps")
	assert.Equal(t, before, dirSums(t, f.dir))
}

// The reading commands neither create integration.db (the forwarder's
// checkpoint and the webhook deliveries, which a server makes) nor write
// to one that is there: list, status, export, verify and a replay's
// source read, and move nothing out of the read models.
func TestReadingCommandsLeaveIntegrationAlone(t *testing.T) {
	f := newFixture(t)
	code, stdout, stderr := accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	run := func() {
		t.Helper()
		requireListAndStatus(t, f.dir, "keymaps")
		requireExport(t, f.dir, f.propertyID, filepath.Join(t.TempDir(), "out.json"))
		accessctl(t, "verify", "--data-dir", f.dir) // an unsealed log may fail verification: only its writes count here
		code, stdout, stderr := accessctl(t, "replay", "--data-dir", f.dir, "--until", "1000000", "--out", t.TempDir())
		require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	}
	before := dirSums(t, f.dir)
	run()
	assert.Equal(t, before, dirSums(t, f.dir))
	assert.NotContains(t, dirSums(t, f.dir), integration.File, "a reading command created integration.db")

	// A data directory of an earlier version: the checkpoint in the read
	// models stays there (only a server or webhooks replay moves it).
	rm, err := projections.OpenSQLite(t.Context(), filepath.Join(f.dir, readModelsFile))
	require.NoError(t, err)
	require.NoError(t, bus.SetupCheckpoints(t.Context(), rm))
	_, err = rm.ExecContext(t.Context(), `INSERT INTO `+bus.CheckpointTable+` (name, position) VALUES ('bus', 2)`)
	require.NoError(t, err)
	require.NoError(t, rm.Close())
	before = dirSums(t, f.dir)
	run()
	assert.Equal(t, before, dirSums(t, f.dir))

	// With integration.db there, as a server leaves it.
	db, _, err := integration.Open(t.Context(), filepath.Join(f.dir, integration.File), nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	before = dirSums(t, f.dir)
	run()
	assert.Equal(t, before, dirSums(t, f.dir))
	if makeReadOnly(t, f.dir) {
		run()
		assert.Equal(t, before, dirSums(t, f.dir))
	}
}

// makeReadOnly takes the write permissions off dir and its files until the
// test ends, as a read-only mount would. It reports false, doing nothing,
// when running as root, who writes through them.
func makeReadOnly(t *testing.T, dir string) bool {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Log("running as root, which writes through chmod a-w: the read-only directory part is skipped")
		return false
	}
	var modes []func()
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		modes = append(modes, func() { os.Chmod(path, info.Mode().Perm()) })
		return os.Chmod(path, info.Mode().Perm()&^0o222)
	}))
	t.Cleanup(func() {
		for _, restore := range modes {
			restore()
		}
	})
	return true
}

// Beside a server in the middle of a write (here: holding the write locks
// of both databases, as a long swap does) list and status answer at once
// instead of waiting for the lock and failing with "database is locked".
func TestProjectionsStatusBesideAWriter(t *testing.T) {
	f := newFixture(t)
	code, stdout, stderr := accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	holdWriteLocks(t, f.dir, eventsFile, readModelsFile)
	start := time.Now()
	requireListAndStatus(t, f.dir, "keymaps")
	assert.Less(t, time.Since(start), 5*time.Second, "list and status waited for the writer")
}

// holdWriteLocks takes the write locks of the database files of dir (the
// log, the read models) until the test ends, as a server in the middle of
// a write does.
func holdWriteLocks(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, file := range files {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, file)+"?_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		tx, err := db.BeginTx(t.Context(), nil)
		require.NoError(t, err)
		t.Cleanup(func() { tx.Rollback() })
		_, err = tx.Exec(`CREATE TABLE held_by_the_writer (x)`)
		require.NoError(t, err, file)
	}
}

// On PostgreSQL read models that were never built, list and status create
// no table either.
func TestProjectionsListCreatesNoPostgresTable(t *testing.T) {
	f := newFixture(t)
	readModels := servicetest.PostgresSchema(t)
	for _, cmd := range []string{"list", "status"} {
		code, stdout, stderr := accessctl(t, "projections", cmd, "--data-dir", f.dir, "--readmodels", readModels)
		require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
		assert.Contains(t, stdout, "no read models yet")
	}
	assertNoTables(t, readModels, "list and status created tables")
}

// On a PostgreSQL schema without a log, the commands that only read create
// no table: they fail saying there is no log there, as they do on a data
// directory without events.db.
func TestReadingCommandsCreateNoPostgresLog(t *testing.T) {
	f := newFixture(t)
	eventStore := servicetest.PostgresSchema(t)
	for _, args := range [][]string{
		{"projections", "list"},
		{"projections", "status"},
		{"verify"},
		{"export", "--property", f.propertyID.String(), "--out", filepath.Join(t.TempDir(), "out.json")},
	} {
		code, stdout, stderr := accessctl(t, append(args, "--data-dir", f.dir, "--eventstore", eventStore)...)
		assert.Equal(t, exitFailed, code, "%v: %s%s", args, stdout, stderr)
		assert.Contains(t, stderr, "no event log in schema", args)
	}
	assertNoTables(t, eventStore, "the reading commands created tables")
}

// assertNoTables checks that the PostgreSQL schema url names holds no
// table.
func assertNoTables(t *testing.T, url, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	db, err := projections.OpenPostgres(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	var tables int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables))
	assert.Zero(t, tables, msg)
}

// A rebuild checkpoint left by another version of a read model is not
// progress: status says the next rebuild starts over instead of showing
// how far along it is.
func TestProjectionsStatusOfARebuildOfAnotherVersion(t *testing.T) {
	f := newFixture(t)
	code, stdout, stderr := accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	db, err := projections.OpenSQLite(t.Context(), filepath.Join(f.dir, readModelsFile))
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `INSERT INTO projection_checkpoints (name, version, position) VALUES (?, ?, ?)`,
		projections.RebuildCheckpoint("keymaps"), 999, 2)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	code, stdout, stderr = accessctl(t, "projections", "status", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	var line string
	for l := range strings.Lines(stdout) {
		if strings.HasPrefix(l, "keymaps ") {
			line = l
		}
	}
	assert.Contains(t, line, "v999 at 2, left by another version: the next rebuild starts over")
}
