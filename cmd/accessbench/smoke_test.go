package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScenariosAgainstTheRealServer builds and runs accessd on a fresh data
// directory, as scripts/bench-load.sh does, and runs every scenario briefly
// at a low concurrency: each must run without a single failed request.
func TestScenariosAgainstTheRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := filepath.Join(t.TempDir(), "accessd")
	build := exec.Command("go", "build", "-o", bin, "../accessd")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	addr := freeAddr(t)
	key := strings.Repeat("b", 40)
	var logs bytes.Buffer
	server := exec.Command(bin, "--addr", addr, "--data-dir", filepath.Join(t.TempDir(), "data"), "--log-level", "warn")
	server.Env = append(os.Environ(), "ACCESSD_BOOTSTRAP_KEY="+key)
	server.Stderr = &logs
	require.NoError(t, server.Start())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			server.Process.Kill()
			server.Wait()
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond)

	for _, scenario := range scenarios {
		t.Run(scenario, func(t *testing.T) {
			cfg, err := parseConfig([]string{
				"--url", "http://" + addr, "--scenario", scenario, "--concurrency", "4", "--duration", "1s",
				"--seed-properties", "2", "--seed-locks", "6", "--seed-users", "3",
				"--out", filepath.Join(t.TempDir(), scenario+".json"),
			}, func(k string) string {
				if k == "ACCESSD_BOOTSTRAP_KEY" {
					return key
				}
				return ""
			})
			require.NoError(t, err)
			var out bytes.Buffer
			rep, err := run(context.Background(), cfg, &out)
			require.NoError(t, err, out.String())
			t.Log("\n" + out.String())
			assert.Zero(t, rep.Errors, "%v", rep.FirstErrors)
			rows := map[string]opStats{}
			for _, g := range append(slices.Clone(rep.Operations), rep.Groups...) {
				rows[g.Name] = g
			}
			want := []string{groupTotal}
			switch scenario {
			case "reads":
			case "pages":
				want = append(want, opLockLogs, opListEvents)
			case "visibility":
				want = append(want, groupWrites, opVisible, opGetKeyMap, opAddMember, opRemoveMember)
			case "mix":
				// Every step of the mix, reads and lock syncs included.
				want = append(want, groupWrites, opGetLock, opGetKeyMap, opLockLogs, opListMembers, opAuditAccess, opSyncLock)
			default:
				want = append(want, groupWrites)
			}
			for _, name := range want {
				assert.Positive(t, rows[name].Count, name)
				assert.Positive(t, rows[name].OpsPerSec, name)
				assert.Positive(t, rows[name].P99Ms, name)
			}
			_, err = os.Stat(cfg.Out)
			assert.NoError(t, err, "the JSON results")
			chart, err := os.ReadFile(svgPathFor(cfg.Out))
			require.NoError(t, err, "the SVG chart")
			text := parseSVG(t, chart)
			for _, s := range rep.Operations {
				assert.Contains(t, text, s.Name, "the chart's rows")
			}
			assert.Contains(t, out.String(), svgPathFor(cfg.Out))
		})
	}

	require.NoError(t, server.Process.Signal(syscall.SIGTERM))
	err := server.Wait()
	stopped = true
	assert.NoError(t, err, "accessd exits 0 at SIGTERM; logs:\n%s", logs.String())
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return fmt.Sprint(ln.Addr())
}
