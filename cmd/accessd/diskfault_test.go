package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/sqlite"
)

// smallDisk mounts a tmpfs of size bytes for one test: a disk that fills
// up. Mounting needs root; outside CI a
// machine without it skips with a message, CI fails.
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("cannot mount a tmpfs (needs root): %v: %s", err, out)
		if servicetest.InCI() {
			t.Fatalf("CI=true: %s", msg)
		}
		t.Skipf("skipped outside CI: %s", msg)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the disk is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "filling: %v", err)
			return path
		}
	}
}

// propertyCreate sends one createProperty and returns its status and error.
func (s *crashServer) createProperty(t *testing.T, name string) (int, string) {
	t.Helper()
	c := &sent{key: "", method: "POST", path: "/properties", body: map[string]any{"displayName": name}}
	c.key = "k-" + strings.ReplaceAll(name, " ", "-")
	status, data := s.send(t.Context(), c)
	msg, _ := data["error"].(string)
	return status, msg
}

func (s *crashServer) get(t *testing.T, path string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.base+path, nil)
	req.Header.Set("x-api-key", s.key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// storageFault drives commands into a storage fault: every answer is 2xx
// or 503 (never 500), and 503s come; reads keep answering 200.
func storageFault(t *testing.T, s *crashServer, tag string) {
	t.Helper()
	unavailable := 0
	for i := 0; i < 200 && unavailable < 3; i++ {
		status, msg := s.createProperty(t, fmt.Sprintf("%s %d", tag, i))
		require.Contains(t, []int{http.StatusCreated, http.StatusOK, http.StatusServiceUnavailable}, status, "%s: %s", tag, msg)
		if status == http.StatusServiceUnavailable {
			unavailable++
			if unavailable == 1 {
				t.Logf("%s: 503 %q", tag, msg)
			}
			require.Contains(t, msg, "full", "%s: the 503 does not say why", tag)
		}
	}
	require.Equal(t, 3, unavailable, "%s: commands kept succeeding", tag)
	require.Equal(t, http.StatusOK, s.get(t, "/properties?pageSize=5"), "%s: reads stopped", tag)
	require.Equal(t, http.StatusOK, s.get(t, "/healthz"))
}

// health is /healthz's status and what it names unavailable.
func (s *crashServer) health(t *testing.T) (status, unavailable string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.base+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Status      string `json:"status"`
			Unavailable string `json:"unavailable"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	return env.Data.Status, env.Data.Unavailable
}

// recovered waits until commands succeed again.
func recovered(t *testing.T, s *crashServer, tag string) {
	t.Helper()
	i := 0
	require.Eventually(t, func() bool {
		i++
		status, _ := s.createProperty(t, fmt.Sprintf("%s recovered %d", tag, i))
		return status == http.StatusCreated || status == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "%s: commands did not recover", tag)
}

// TestDiskFull: when the data directory's disk fills up, commands answer
// 503 with a clear error while reads keep working; when space returns the
// server recovers by itself, and nothing stored is lost or corrupted.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	disk := smallDisk(t, 48<<20)
	bin := buildServer(t)
	s := &crashServer{bin: bin, dataDir: filepath.Join(disk, "data"), key: strings.Repeat("d", 40)}
	s.start(t)
	defer func() {
		if s.cmd.ProcessState == nil {
			s.kill(t)
		}
	}()
	for i := range 20 {
		status, msg := s.createProperty(t, fmt.Sprintf("before %d", i))
		require.Equal(t, http.StatusCreated, status, msg)
	}

	filler := fill(t, disk)
	storageFault(t, s, "full")
	status, unavailable := s.health(t)
	require.Equal(t, "degraded", status, "/healthz while the disk is full")
	require.Contains(t, unavailable, "the disk of "+s.dataDir+" is full")
	require.NoError(t, os.Remove(filler))
	recovered(t, s, "full")
	status, unavailable = s.health(t)
	require.Equal(t, "ok", status, "/healthz once space is freed: %s", unavailable)

	waitCaughtUp(t, s)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, s.cmd.Wait())

	store, err := sqlite.Open(filepath.Join(s.dataDir, "events.db"))
	require.NoError(t, err)
	recs, err := store.ReadAll(context.Background(), 0, 100000, eventstore.Filter{StreamPrefixes: []string{"property-"}})
	require.NoError(t, err)
	store.Close()
	names := map[string]bool{}
	for _, r := range recs {
		names[string(r.Data)] = true
	}
	for i := range 20 {
		found := false
		for data := range names {
			if strings.Contains(data, fmt.Sprintf(`"before %d"`, i)) {
				found = true
			}
		}
		require.True(t, found, "property %d created before the faults is gone", i)
	}
	requireReadModelsEqualRebuild(t, s.dataDir)
}
