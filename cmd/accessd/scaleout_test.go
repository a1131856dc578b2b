package main

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/kurrent/kurrenttest"
	"github.com/accessd/accessd/eventstore/servicetest"
)

// TestServerOnScaleOutBackends runs the real binary on each scale-out
// combination the settings allow and checks a write is read back.
func TestServerOnScaleOutBackends(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildServer(t)

	cases := []struct {
		name                        string
		eventStore, readModels, bus func(t testing.TB) string
	}{
		{"kurrent+postgres+nats",
			func(t testing.TB) string { return strings.Replace(kurrenttest.Start(t), "esdb://", "kurrentdb://", 1) },
			servicetest.PostgresSchema, servicetest.NATSURL},
		{"postgres+sqlite+gochannel",
			servicetest.PostgresSchema,
			func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "rm.db") },
			func(testing.TB) string { return "gochannel" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := strings.Repeat("s", 40)
			s := startScaled(t, bin, filepath.Join(t.TempDir(), "data"), key, tc.eventStore(t), tc.readModels(t), "--bus", tc.bus(t))
			status, data := s.send(t.Context(), &sent{key: "p", method: "POST", path: "/properties", body: map[string]any{"displayName": "Scaled"}})
			require.Equal(t, http.StatusCreated, status, data)
			require.Equal(t, http.StatusOK, s.get(t, "/properties/"+idOf(data)))
		})
	}
}

// TestUnreachableBackendFailsAtStart: a server named in a setting that does
// not answer stops the start, and the message names the setting.
func TestUnreachableBackendFailsAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildServer(t)
	for _, args := range [][]string{
		{"--eventstore", "postgres://postgres:secret@127.0.0.1:1/x?connect_timeout=2"},
		{"--eventstore", "esdb://127.0.0.1:1?tls=false"},
		{"--readmodels", "postgres://postgres@127.0.0.1:1/x?connect_timeout=2"},
		{"--bus", "nats://127.0.0.1:1"},
	} {
		cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)...)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%v started against an unreachable server", args)
		require.Contains(t, string(out), args[0], "the error names the setting")
		require.NotContains(t, string(out), "secret", "the password leaked")
	}
}
