package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/postgres"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections"
)

// scaledServer is one accessd process of a scale-out deployment.
type scaledServer struct {
	crashServer
}

func startScaled(t *testing.T, bin, dataDir, key, eventStore, readModels string, extra ...string) *scaledServer {
	t.Helper()
	s := &scaledServer{crashServer{bin: bin, dataDir: dataDir, key: key}}
	addr := freeAddr(t)
	s.cmd = exec.Command(bin, append([]string{"--addr", addr, "--data-dir", dataDir, "--log-level", "warn",
		"--eventstore", eventStore, "--readmodels", readModels}, extra...)...)
	s.cmd.Env = append(os.Environ(), "ACCESSD_BOOTSTRAP_KEY="+key)
	s.cmd.Stderr = io.Discard
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
	})
	s.base = "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond, "server did not become ready")
	return s
}

// startScaledPair starts two servers on one log and one set of read
// models. They share their keys (the data directory's secrets), as a
// deployment copies them to every node.
func startScaledPair(t *testing.T, bin, key, eventStore, readModels string) (a, b *scaledServer) {
	t.Helper()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a = startScaled(t, bin, dirA, key, eventStore, readModels)
	require.NoError(t, os.MkdirAll(dirB, 0o700))
	for _, f := range []string{"command.key", "server-signing.key"} {
		raw, err := os.ReadFile(filepath.Join(dirA, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dirB, f), raw, 0o600))
	}
	return a, startScaled(t, bin, dirB, key, eventStore, readModels)
}

// holds reports whether the server holds the lease name, from its metrics.
func (s *scaledServer) holds(t *testing.T, name string) bool {
	t.Helper()
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	want := fmt.Sprintf(`accessd_lease_held{lease=%q} 1`, name)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == want {
			return true
		}
	}
	return false
}

// TestLeaseHolderKilledOtherTakesOver: two servers share a PostgreSQL log
// and PostgreSQL read models. The one holding the leases is killed with
// SIGKILL while clients write through both; the other takes the leases
// over within 10 s, every answered command is in its read models, and the
// read models equal a fresh rebuild: no event applied twice or skipped.
func TestLeaseHolderKilledOtherTakesOver(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
	bin := buildServer(t)
	key := strings.Repeat("t", 40)

	a, b := startScaledPair(t, bin, key, eventStore, readModels)

	leader, survivor := a, b
	require.Eventually(t, func() bool {
		switch {
		case a.holds(t, "projections"):
			leader, survivor = a, b
			return true
		case b.holds(t, "projections"):
			leader, survivor = b, a
			return true
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "nobody holds the projections lease")
	require.False(t, survivor.holds(t, "projections"), "both servers hold the projections lease")

	// Clients write through both servers; the leader dies mid-stream.
	var mu sync.Mutex
	var answered []*sent
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w, s := range []*scaledServer{leader, survivor, survivor} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				c := &sent{key: fmt.Sprintf("w%d-%d", w, i), method: "POST", path: "/properties",
					body: map[string]any{"displayName": fmt.Sprintf("P %d/%d", w, i)}}
				status, data := s.send(ctx, c)
				if status >= 200 && status < 300 {
					c.answered, c.id = true, idOf(data)
					mu.Lock()
					answered = append(answered, c)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	killed := time.Now()
	leader.kill(t)
	require.Eventually(t, func() bool { return survivor.holds(t, "projections") }, 10*time.Second, 50*time.Millisecond,
		"the survivor did not take the projections lease over within 10 s")
	t.Logf("projections lease taken over %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	require.Eventually(t, func() bool { return survivor.holds(t, "forwarder") }, 10*time.Second, 50*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // writes continue under the new holder
	cancel()
	wg.Wait()
	require.NotEmpty(t, answered)

	// Every answered property is readable through the survivor.
	for _, c := range answered {
		require.Equal(t, http.StatusOK, survivor.get(t, "/properties/"+c.id), "answered property %s is missing", c.id)
	}
	waitCaughtUp(t, &survivor.crashServer)
	require.NoError(t, survivor.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, survivor.cmd.Wait())

	// The read models equal a fresh rebuild from the log.
	store, err := postgres.Open(t.Context(), eventStore)
	require.NoError(t, err)
	defer store.Close()
	live, err := projections.OpenPostgres(t.Context(), readModels)
	require.NoError(t, err)
	defer live.Close()
	fresh, err := projections.OpenPostgres(t.Context(), servicetest.PostgresSchema(t))
	require.NoError(t, err)
	defer fresh.Close()
	requireEqualsRebuild(t, store, live, fresh)
}
