package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReadOnlyFlagChangesNothing: accessd --read-only on a data directory
// a server left (as replay leaves one) answers reads and refuses changes
// like a read-only mount: it changes no file, and runs no projections,
// forwarder or webhook delivery, so no receiver hears an event again.
func TestReadOnlyFlagChangesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	var delivered atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { delivered.Add(1) }))
	defer receiver.Close()
	t.Setenv("ACCESSD_WEBHOOKS_ALLOW_PRIVATE", "true")
	s := &crashServer{bin: buildServer(t), dataDir: filepath.Join(t.TempDir(), "data"), key: strings.Repeat("o", 40)}
	s.start(t)
	status, data := s.send(t.Context(), &sent{key: "hook", method: "POST", path: "/accounts/webhooks",
		body: map[string]any{"url": receiver.URL, "eventTypes": []string{"PropertyCreated"}}})
	require.Equal(t, http.StatusCreated, status, data)
	hookID, _ := data["webhookId"].(string)
	require.NotEmpty(t, hookID, data)
	status, data = s.send(t.Context(), &sent{key: "p1", method: "POST", path: "/properties", body: map[string]any{"displayName": "Seen once"}})
	require.Equal(t, http.StatusCreated, status, data)
	require.Eventually(t, func() bool { return delivered.Load() == 1 }, 20*time.Second, 20*time.Millisecond)
	stopCleanly(t, s)
	before := dirChecksums(t, s.dataDir)

	t.Setenv("ACCESSD_READ_ONLY", "true")
	s.start(t)
	require.Equal(t, http.StatusOK, s.get(t, "/properties"))
	status, _ = s.send(t.Context(), &sent{key: "p2", method: "POST", path: "/properties", body: map[string]any{"displayName": "Refused"}})
	require.Equal(t, http.StatusServiceUnavailable, status)
	// It reads the deliveries from integration.db.
	deliveries := readOnlyDeliveries(t, s, hookID)
	require.Len(t, deliveries, 1)
	// Nor does it re-deliver an event: PUT /events/{eventId}/process is
	// refused like every change, and publishes nothing.
	eventID, _ := deliveries[0].(map[string]any)["eventId"].(string)
	require.NotEmpty(t, eventID, deliveries)
	status, data = s.send(t.Context(), &sent{key: "r1", method: "PUT", path: "/events/" + eventID + "/process"})
	require.Equal(t, http.StatusServiceUnavailable, status, data)
	require.Contains(t, data["error"], "read-only server")
	// A forwarder or a delivery, had one run, would have republished the
	// log by now: an idle server forwards within milliseconds.
	time.Sleep(2 * time.Second)
	stopCleanly(t, s)
	require.EqualValues(t, 1, delivered.Load(), "the read-only server delivered a webhook again")
	require.Equal(t, before, dirChecksums(t, s.dataDir), "the read-only server changed its data directory")
	require.Contains(t, before, "integration.db")

	// A data directory of an earlier version keeps the deliveries in
	// readmodels.db: a read-only server reads them there and moves
	// nothing, creating no integration.db.
	toLegacyLayout(t, s.dataDir)
	before = dirChecksums(t, s.dataDir)
	s.start(t)
	deliveries = readOnlyDeliveries(t, s, hookID)
	stopCleanly(t, s)
	require.Len(t, deliveries, 1, "the read-only server lost the deliveries of an earlier version")
	require.Equal(t, before, dirChecksums(t, s.dataDir), "the read-only server changed an earlier version's data directory")
	require.NoFileExists(t, filepath.Join(s.dataDir, "integration.db"))
	require.EqualValues(t, 1, delivered.Load(), "the read-only server delivered a webhook again")

	// A directory that is not there is not made: there is nothing to serve.
	missing := filepath.Join(t.TempDir(), "missing")
	out, err := exec.Command(s.bin, "--addr", freeAddr(t), "--data-dir", missing).CombinedOutput()
	require.Error(t, err, "started on a missing directory: %s", out)
	require.NoDirExists(t, missing)
}

// stopCleanly stops a server with SIGTERM and waits for a clean exit.
func stopCleanly(t *testing.T, s *crashServer) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "server did not stop cleanly")
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Fatal("server did not stop")
	}
}

// A directory without the server's keys (a replay of a directory no server
// ran on, say accessctl seed's) is served read-only without writing them:
// the keys of such a run are made in memory and forgotten.
func TestReadOnlyFlagWritesNoKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	s := &crashServer{bin: buildServer(t), dataDir: filepath.Join(t.TempDir(), "data"), key: strings.Repeat("o", 40)}
	s.start(t)
	status, data := s.send(t.Context(), &sent{key: "p1", method: "POST", path: "/properties", body: map[string]any{"displayName": "Seen"}})
	require.Equal(t, http.StatusCreated, status, data)
	stopCleanly(t, s)
	for _, key := range []string{"server-signing.key", "command.key"} {
		require.NoError(t, os.Remove(filepath.Join(s.dataDir, key)))
	}
	before := dirChecksums(t, s.dataDir)

	t.Setenv("ACCESSD_READ_ONLY", "true")
	s.start(t)
	require.Equal(t, http.StatusOK, s.get(t, "/properties"))
	require.Equal(t, http.StatusOK, s.get(t, "/keys/server"))
	stopCleanly(t, s)
	require.Equal(t, before, dirChecksums(t, s.dataDir), "the read-only server changed its data directory")
}

// readOnlyDeliveries lists a webhook's deliveries through the API.
func readOnlyDeliveries(t *testing.T, s *crashServer, hookID string) []any {
	t.Helper()
	status, raw := request(t, "GET", s.base+"/accounts/webhooks/"+hookID+"/deliveries", s.key, nil, nil)
	require.Equal(t, http.StatusOK, status, "%s", raw)
	var env struct {
		Data struct {
			Deliveries []any `json:"deliveries"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(raw, &env), "%s", raw)
	return env.Data.Deliveries
}
