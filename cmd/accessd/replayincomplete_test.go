package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/cmd/internal/replaymark"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
)

// A directory holding a replay that did not finish (accessctl replay
// killed during its rebuild: the marker is there, not marked complete)
// is not served: accessd --read-only refuses to start, naming the
// directory and the replay to run again, and touches nothing there.
func TestReadOnlyRefusesAnUnfinishedReplay(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "data")
	require.NoError(t, replaymark.Write(dir, replaymark.Marker{Source: src, Until: "27000"}))
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	require.NoError(t, store.Close())
	// Read models as a rebuild cut short leaves them: here, no tables.
	db, err := projections.OpenSQLite(t.Context(), filepath.Join(dir, "readmodels.db"))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	before := dirChecksums(t, dir)

	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--read-only"}, func(string) string { return "" })
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	logs := &syncBuffer{}
	err = run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	require.Error(t, err, "served an unfinished replay: %s", logs.String())
	assert.NotContains(t, logs.String(), "accessd listening")
	assert.Contains(t, err.Error(), dir+" holds a replay that did not finish")
	assert.Contains(t, err.Error(), "accessctl replay --data-dir "+src+" --until 27000 --out "+dir)
	assert.Equal(t, before, dirChecksums(t, dir))

	// Finished, the same directory is served.
	require.NoError(t, replaymark.Write(dir, replaymark.Marker{Source: src, Until: "27000"}.Done()))
	assert.NoError(t, replaymark.CheckComplete(dir))
}

// Read models whose tables are missing (never built, or a copy cut
// short) on a read-only server answer 503 with the reason, not 500
// "internal error", for every authenticated request.
func TestReadOnlyMissingReadModelsAre503(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	require.NoError(t, store.Close())
	db, err := projections.OpenSQLite(t.Context(), filepath.Join(dir, "readmodels.db"))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.FileExists(t, filepath.Join(dir, "readmodels.db"))

	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--read-only"}, func(string) string { return "" })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("server did not stop")
		}
	}()
	var base string
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "accessd listening" {
				base = "http://" + m["addr"].(string)
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server stopped: %v\n%s", err, logs.String())
		default:
		}
		return base != ""
	}, 30*time.Second, 10*time.Millisecond)
	for _, path := range []string{"/account", "/properties", "/events", "/locks"} {
		status, body := request(t, "GET", base+path, strings.Repeat("k", 40), nil, nil)
		assert.Equal(t, http.StatusServiceUnavailable, status, "%s: %s", path, body)
		assert.Contains(t, string(body), "read models missing", path)
	}
}
