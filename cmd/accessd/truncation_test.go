package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "modernc.org/sqlite"
)

// TestEventRemovedUnderRunningServer: an event removed from the end of
// events.db by another process right after it was appended (before the
// sealer read it) used to be overwritten by the next append at the same
// position, with nothing to show for it. Now the next command answers 503
// saying the log was truncated, nothing takes the removed position, the
// server logs the positions lost, and a restart refuses to start while
// the read models' checkpoints are past the log's end.
func TestEventRemovedUnderRunningServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildServer(t)
	logs := &syncBuffer{}
	s := &crashServer{bin: bin, dataDir: filepath.Join(t.TempDir(), "data"), key: strings.Repeat("t", 40),
		args: []string{"--seal-every", "5"}, stderr: logs}
	s.start(t)
	stopped := false
	defer func() {
		if !stopped {
			s.kill(t)
		}
	}()

	status, msg := s.createProperty(t, "kept")
	require.Equal(t, http.StatusCreated, status, msg)
	status, msg = s.createProperty(t, "removed")
	require.Equal(t, http.StatusCreated, status, msg)

	path := filepath.Join(s.dataDir, "events.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	var last int64
	require.NoError(t, db.QueryRow(`SELECT MAX(position) FROM events`).Scan(&last))
	_, err = db.Exec(`DELETE FROM events WHERE position = ?`, last)
	require.NoError(t, err)

	for _, name := range []string{"after 1", "after 2"} {
		status, msg = s.createProperty(t, name)
		require.Equal(t, http.StatusServiceUnavailable, status, "%s: %s", name, msg)
		require.Contains(t, msg, "event log truncated", name)
	}
	var now int64
	require.NoError(t, db.QueryRow(`SELECT MAX(position) FROM events`).Scan(&now))
	require.Equal(t, last-1, now, "something was appended over the removed position")
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"lost"`) }, 5*time.Second, 20*time.Millisecond,
		"no error logged naming the lost positions: %s", logs)
	require.Contains(t, logs.String(), `"level":"ERROR","msg":"event log truncated`)
	// Monitoring sees it: /healthz is degraded, naming it.
	resp, err := http.Get(s.base + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `"status":"degraded"`)
	require.Contains(t, string(body), "refuses appends: event log truncated")

	// A clean stop, then a start on the same directory: refused.
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	_ = s.cmd.Wait()
	stopped = true
	require.NoError(t, db.QueryRow(`SELECT MAX(position) FROM events`).Scan(&now))
	require.Equal(t, last-1, now, "the stop appended over the removed position")

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--addr", freeAddr(t), "--data-dir", s.dataDir)
	cmd.Env = append(os.Environ(), "ACCESSD_BOOTSTRAP_KEY="+s.key)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the server started on a log that lost its end: %s", out)
	require.Contains(t, string(out), "event log truncated: the log ends at position")
	require.Contains(t, string(out), "is no longer in it")
}
