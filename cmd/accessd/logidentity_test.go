package main

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/sqlite"
)

// refusesToStart runs the server and returns its output, failing the test
// if it does not exit with an error within 30 s (a server that starts
// serves until killed).
func refusesToStart(t *testing.T, bin, dataDir, key string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--addr", freeAddr(t), "--data-dir", dataDir, "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "ACCESSD_BOOTSTRAP_KEY="+key)
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "the server started: %s", out)
	require.Error(t, err, "the server exited cleanly: %s", out)
	return string(out)
}

func copyKeys(t *testing.T, from, to string, files ...string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(to, 0o700))
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(from, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, f), raw, 0o600))
	}
}

// TestSharedReadModelsOfAnotherLogOrKeyRefused: a second server given the
// read models of a first one but another event log (its data directory's
// default SQLite log) refuses to start, naming --eventstore and
// --readmodels, and appends nothing to its log; one on the same log but
// with another command key, or another signing key, refuses naming its
// key file. The first server serves on.
func TestSharedReadModelsOfAnotherLogOrKeyRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildServer(t)
	key := strings.Repeat("i", 40)

	t.Run("another log", func(t *testing.T) {
		readModels := servicetest.PostgresSchema(t)
		dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
		a := startScaled(t, bin, dirA, key, "sqlite:"+filepath.Join(dirA, "events.db"), readModels)
		status, data := a.send(t.Context(), &sent{key: "p", method: "POST", path: "/properties", body: map[string]any{"displayName": "A"}})
		require.Equal(t, http.StatusCreated, status, data)

		// Same keys, so only the log differs.
		copyKeys(t, dirA, dirB, "command.key", "server-signing.key")
		out := refusesToStart(t, bin, dirB, key, "--readmodels", readModels)
		require.Contains(t, out, "another event log")
		require.Contains(t, out, "--eventstore sqlite:"+filepath.Join(dirB, "events.db"))
		require.Contains(t, out, "--readmodels")

		// Refused before the bootstrap's appends: nothing to retry or
		// duplicate.
		s, err := sqlite.OpenReadOnly(filepath.Join(dirB, "events.db"))
		require.NoError(t, err)
		head, err := s.HeadPosition(t.Context())
		require.NoError(t, err)
		s.Close()
		require.Zero(t, head, "the refused server appended to its log")

		require.Equal(t, http.StatusOK, a.get(t, "/properties/"+idOf(data)))
	})

	t.Run("another command key", func(t *testing.T) {
		eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
		dirA, dirC := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "c")
		a := startScaled(t, bin, dirA, key, eventStore, readModels)
		// The signing key is shared, the command key is not: dirC makes
		// its own.
		copyKeys(t, dirA, dirC, "server-signing.key")
		out := refusesToStart(t, bin, dirC, key, "--eventstore", eventStore, "--readmodels", readModels)
		require.Contains(t, out, "another command key")
		require.Contains(t, out, filepath.Join(dirC, "command.key"))
		require.Equal(t, http.StatusOK, a.get(t, "/properties"))

		// With the shared key it starts.
		copyKeys(t, dirA, dirC, "command.key")
		startScaled(t, bin, dirC, key, eventStore, readModels)
	})

	t.Run("another signing key", func(t *testing.T) {
		eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
		dirA, dirS := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "s")
		a := startScaled(t, bin, dirA, key, eventStore, readModels)
		// The command key is shared, the signing key is not: a lock or
		// phone would find this server's answers signed by a key it was
		// never given.
		copyKeys(t, dirA, dirS, "command.key")
		out := refusesToStart(t, bin, dirS, key, "--eventstore", eventStore, "--readmodels", readModels)
		require.Contains(t, out, "another signing key")
		require.Contains(t, out, filepath.Join(dirS, "server-signing.key"))
		require.Equal(t, http.StatusOK, a.get(t, "/properties"))

		copyKeys(t, dirA, dirS, "server-signing.key")
		startScaled(t, bin, dirS, key, eventStore, readModels)
	})
}

// TestDataDirectoryFromBeforeLogIdentities: a data directory whose log and
// read models were written by a build that recorded no identities starts,
// serves what it held, and records its log's identity in the read models.
// Its read models with the log removed (an empty log) are refused.
func TestDataDirectoryFromBeforeLogIdentities(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	s := &crashServer{bin: buildServer(t), dataDir: dir, key: strings.Repeat("o", 40)}
	s.start(t)
	status, data := s.send(t.Context(), &sent{key: "p", method: "POST", path: "/properties", body: map[string]any{"displayName": "Old"}})
	require.Equal(t, http.StatusCreated, status, data)
	id := idOf(data)
	s.kill(t)

	exec := func(file, stmt string) {
		t.Helper()
		db, err := sql.Open("sqlite", filepath.Join(dir, file))
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec(stmt)
		require.NoError(t, err)
	}
	exec("events.db", `DROP TABLE log_identity`)
	exec("readmodels.db", `DROP TABLE readmodel_origin`)

	s.start(t)
	require.Equal(t, http.StatusOK, s.get(t, "/properties/"+id))
	s.kill(t)

	query := func(file, q string) string {
		t.Helper()
		db, err := sql.Open("sqlite", filepath.Join(dir, file))
		require.NoError(t, err)
		defer db.Close()
		var v string
		require.NoError(t, db.QueryRow(q).Scan(&v))
		return v
	}
	logID := query("events.db", `SELECT id FROM log_identity`)
	require.NotEmpty(t, logID)
	require.Equal(t, logID, query("readmodels.db", `SELECT value FROM readmodel_origin WHERE name = 'eventlog'`))

	// The log gone, with or without an identity recorded: refused.
	for _, f := range []string{"events.db", "events.db-wal", "events.db-shm"} {
		require.NoError(t, os.RemoveAll(filepath.Join(dir, f)))
	}
	out := refusesToStart(t, s.bin, dir, s.key)
	require.Contains(t, out, "another event log")
	for _, f := range []string{"events.db", "events.db-wal", "events.db-shm"} {
		require.NoError(t, os.RemoveAll(filepath.Join(dir, f)))
	}
	exec("readmodels.db", `DROP TABLE readmodel_origin`)
	out = refusesToStart(t, s.bin, dir, s.key)
	require.Contains(t, out, "another event log")
	require.Contains(t, out, "--eventstore")
	require.Contains(t, out, "--readmodels")
}
