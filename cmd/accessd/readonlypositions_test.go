package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
)

// startInProcess runs the server of args in this process until the
// returned stop, and returns its log (debug and above) and base URL.
func startInProcess(t *testing.T, args []string, getenv func(string) string) (logs *syncBuffer, base string, stop func()) {
	t.Helper()
	cfg, err := parseConfig(append([]string{"--addr", "127.0.0.1:0"}, args...), getenv)
	require.NoError(t, err)
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("server did not stop")
		}
	}
	t.Cleanup(stop)
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "accessd listening" {
				base = "http://" + m["addr"].(string)
			}
		}
		return base != ""
	}, 30*time.Second, 10*time.Millisecond, "server did not start: %s", logs)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond, "server did not become ready")
	return logs, base, stop
}

// projectionGauges reads accessd_projection_position and _lag_events of
// every projection, and the head, from /metrics.
func projectionGauges(t *testing.T, base string) (position, lag map[string]uint64, head uint64) {
	t.Helper()
	status, body := request(t, "GET", base+"/metrics", "", nil, nil)
	require.Equal(t, http.StatusOK, status)
	position, lag = map[string]uint64{}, map[string]uint64{}
	re := regexp.MustCompile(`(?m)^(accessd_projection_position|accessd_projection_lag_events)\{projection="([^"]+)"\} (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(string(body), -1) {
		v, err := strconv.ParseFloat(m[3], 64)
		require.NoError(t, err)
		if m[1] == "accessd_projection_position" {
			position[m[2]] = uint64(v)
		} else {
			lag[m[2]] = uint64(v)
		}
	}
	h := regexp.MustCompile(`(?m)^accessd_eventstore_head_position (\S+)$`).FindStringSubmatch(string(body))
	require.NotNil(t, h, "no head in /metrics")
	v, err := strconv.ParseFloat(h[1], 64)
	require.NoError(t, err)
	return position, lag, uint64(v)
}

const behindWarning = "read models are behind the event log"

// A read-only server shows the checkpoints its read models hold: caught
// up, /metrics reports each projection at the head with lag 0 and no
// warning is logged; one read model truly behind is reported behind, by
// as much as it is, and only it.
func TestReadOnlyShowsStoredCheckpoints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	key := strings.Repeat("m", 40)
	boot := func(k string) string {
		if k == "ACCESSD_BOOTSTRAP_KEY" {
			return key
		}
		return ""
	}
	_, base, stop := startInProcess(t, []string{"--data-dir", dir}, boot)
	for i := range 3 {
		status, body := request(t, "POST", base+"/properties", key, map[string]any{"displayName": "P" + strconv.Itoa(i)}, nil)
		require.Equal(t, http.StatusCreated, status, "%s", body)
	}
	require.Eventually(t, func() bool { // every read model caught up
		_, lag, _ := projectionGauges(t, base)
		for _, l := range lag {
			if l != 0 {
				return false
			}
		}
		return len(lag) > 0
	}, 20*time.Second, 20*time.Millisecond)
	stop()

	none := func(string) string { return "" }
	logs, base, stop := startInProcess(t, []string{"--data-dir", dir, "--read-only"}, none)
	position, lag, head := projectionGauges(t, base)
	require.NotZero(t, head)
	require.NotEmpty(t, position)
	for name, p := range position {
		assert.Equal(t, head, p, "position of %s", name)
		assert.Zero(t, lag[name], "lag of %s", name)
	}
	time.Sleep(2500 * time.Millisecond) // warnIfBehind looks after 2 s
	assert.NotContains(t, logs.String(), behindWarning)
	stop()

	// One read model set back by 2 events: behind, and said so.
	db, err := projections.OpenSQLite(t.Context(), filepath.Join(dir, "readmodels.db"))
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `UPDATE projection_checkpoints SET position = position - 2 WHERE name = 'entities'`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	logs, base, _ = startInProcess(t, []string{"--data-dir", dir, "--read-only"}, none)
	position, lag, head = projectionGauges(t, base)
	for name, p := range position {
		if name == "entities" {
			assert.Equal(t, head-2, p)
			assert.EqualValues(t, 2, lag[name])
		} else {
			assert.Equal(t, head, p, "position of %s", name)
			assert.Zero(t, lag[name], "lag of %s", name)
		}
	}
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), behindWarning) }, 10*time.Second, 20*time.Millisecond)
	var warning struct {
		Lag  map[string]uint64 `json:"lag"`
		Head uint64            `json:"head"`
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, behindWarning) {
			require.NoError(t, json.Unmarshal([]byte(line), &warning), line)
		}
	}
	assert.Equal(t, head, warning.Head)
	assert.EqualValues(t, 2, warning.Lag["entities"])
	assert.Zero(t, warning.Lag["memberships"])
}
