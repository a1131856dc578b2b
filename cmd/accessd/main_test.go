package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
)

func TestParseConfig(t *testing.T) {
	env := map[string]string{"ACCESSD_ADDR": "0.0.0.0:9000", "ACCESSD_DATA_DIR": "/env"}
	getenv := func(k string) string { return env[k] }

	c, err := parseConfig(nil, getenv)
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:9000", c.Addr, "environment fallback")
	assert.Equal(t, "/env", c.DataDir)

	c, err = parseConfig([]string{"--addr", "127.0.0.1:1", "--data-dir", "/flag"}, getenv)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", c.Addr, "the flag wins")
	assert.Equal(t, "/flag", c.DataDir)

	c, err = parseConfig(nil, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", c.Addr)
	assert.Equal(t, "./data", c.DataDir)

	for _, args := range [][]string{{"--log-level", "loud"}, {"--shutdown-timeout", "-1s"}, {"extra"}, {"--data-dir", ""}} {
		_, err := parseConfig(args, func(string) string { return "" })
		assert.Error(t, err, args)
	}
	_, err = parseConfig(nil, func(k string) string {
		if k == "ACCESSD_BOOTSTRAP_KEY" {
			return "short"
		}
		return ""
	})
	assert.ErrorContains(t, err, "ACCESSD_BOOTSTRAP_KEY")
}

// A file where the data directory should be stops the server naming
// --data-dir, with and without --read-only, before anything opens a file
// in it (it used to fail on replay.json, naming no setting).
func TestDataDirThatIsAFileRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildServer(t)
	file := filepath.Join(t.TempDir(), "somefile")
	require.NoError(t, os.WriteFile(file, []byte("a file\n"), 0o600))
	for _, args := range [][]string{nil, {"--read-only"}} {
		out := refusesToStart(t, bin, file, strings.Repeat("f", 40), args...)
		assert.Contains(t, out, "--data-dir "+file+": not a directory", args)
		assert.NotContains(t, out, "replay.json", args)
	}
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "a file\n", string(raw))

	_, err = parseConfig([]string{"--data-dir", filepath.Join(file, "data")}, func(string) string { return "" })
	assert.ErrorContains(t, err, "--data-dir", "a path under a file")
}

// ACCESSD_READ_ONLY reads as the flag does, and a value that is neither
// true nor false stops the server naming the variable: =1 or =yes used to
// be read as false, serving a replayed directory writable.
func TestParseConfigReadOnlyVariable(t *testing.T) {
	get := func(v string) func(string) string {
		return func(k string) string {
			if k == "ACCESSD_READ_ONLY" {
				return v
			}
			return ""
		}
	}
	for v, want := range map[string]bool{"": false, "true": true, "1": true, "TRUE": true, "false": false, "0": false} {
		c, err := parseConfig(nil, get(v))
		require.NoError(t, err, "ACCESSD_READ_ONLY=%q", v)
		assert.Equal(t, want, c.ReadOnly, "ACCESSD_READ_ONLY=%q", v)
	}
	for _, v := range []string{"yes", "on", "enabled"} {
		_, err := parseConfig(nil, get(v))
		assert.ErrorContains(t, err, "ACCESSD_READ_ONLY", "ACCESSD_READ_ONLY=%q", v)
	}
	c, err := parseConfig([]string{"--read-only=false"}, get("yes"))
	require.NoError(t, err, "the flag wins")
	assert.False(t, c.ReadOnly)
}

// TestServerStartsServesAndShutsDownCleanly runs the real binary on a fresh
// data directory, as `make run` does.
func TestServerStartsServesAndShutsDownCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildServer(t)

	addr := freeAddr(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	key := strings.Repeat("k", 40)
	cmd := exec.Command(bin, "--addr", addr, "--data-dir", dataDir)
	cmd.Env = append(os.Environ(), "ACCESSD_BOOTSTRAP_KEY="+key)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()

	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond)

	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.JSONEq(t, `{"success":true,"data":{"status":"ok"}}`, string(body))

	req, _ := http.NewRequest("GET", base+"/account", nil)
	req.Header.Set("x-api-key", key)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the bootstrap key works")
	// A change after the start-up seal, so the stop seals again.
	req, _ = http.NewRequest("PUT", base+"/account", strings.NewReader(`{"displayName":"Renamed"}`))
	req.Header.Set("x-api-key", key)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "renamed the account")

	// The bootstrap's events went through the read-model writer, which
	// says where its time went.
	metrics := scrape(t, base)
	for _, name := range []string{`accessd_projection_apply_seconds_total{projection="entities"}`, "accessd_readmodel_commit_seconds_total"} {
		assert.Greater(t, metrics[name], 0.0, name)
	}
	assert.Contains(t, metrics, "accessd_readmodel_write_wait_seconds_total")
	// Nothing but the writer commits to the read models: the forwarder's
	// checkpoints and the webhook deliveries go through it too.
	assert.Contains(t, metrics, "accessd_readmodel_foreign_commits_total")
	assert.Zero(t, metrics["accessd_readmodel_foreign_commits_total"])
	assert.Contains(t, metrics, "accessd_forwarder_skipped_events_total")
	assert.Contains(t, metrics, "accessd_forwarder_failures_total")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "exit status 0 after SIGTERM")
	var lines []string
	for l := range logs {
		lines = append(lines, l)
	}
	last := map[string]any{}
	require.NotEmpty(t, lines)
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last), "logs are JSON")
	assert.Equal(t, "accessd stopped cleanly", last["msg"])
	for _, f := range []string{"events.db", "readmodels.db", "command.key", "server-signing.key"} {
		_, err := os.Stat(filepath.Join(dataDir, f))
		assert.NoError(t, err, f)
	}
	info, err := os.Stat(dataDir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "the data directory holds keys, hashes and sealed data: its owner's only")
	requireProjectedToHead(t, dataDir)
}

// requireProjectedToHead checks that a server stopped cleanly left every
// read model at the head of the log, its stop-time seal included.
func requireProjectedToHead(t *testing.T, dataDir string) {
	t.Helper()
	store, err := sqlite.OpenReadOnly(filepath.Join(dataDir, "events.db"))
	require.NoError(t, err)
	defer store.Close()
	head, err := store.HeadPosition(t.Context())
	require.NoError(t, err)
	last, err := store.ReadAll(t.Context(), head-1, 1, eventstore.Filter{})
	require.NoError(t, err)
	require.Len(t, last, 1)
	assert.Equal(t, seals.Sealed{}.EventType(), last[0].Type, "the log ends with the stop-time seal")
	db, err := projections.OpenSQLiteReadOnly(t.Context(), filepath.Join(dataDir, "readmodels.db"))
	require.NoError(t, err)
	defer db.Close()
	cps, err := projections.Checkpoints(t.Context(), db)
	require.NoError(t, err)
	for _, p := range all.Projections(eventstore.NewRegistry()) {
		assert.Equal(t, head, cps[p.Name()].Position, "%s at the head after a clean stop", p.Name())
	}
}

// scrape reads the server's metrics, by name with labels, as numbers.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return fmt.Sprint(ln.Addr())
}

func TestProjectionNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range projectionsFor(commands.NewRegistry()) {
		assert.False(t, seen[p.Name()], "%s listed twice", p.Name())
		seen[p.Name()] = true
	}
}
