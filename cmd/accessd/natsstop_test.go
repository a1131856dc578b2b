package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections/bus"
)

// A clean stop of a server on NATS logs no warning: closing its own
// connections is not a disconnect to alert on, and "accessd stopped
// cleanly" stays the last line (it used to be followed by one
// "NATS disconnected" warning per connection, err null).
func TestCleanStopOnNATSLogsNoDisconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	server := servicetest.NATSURL(t)
	ns := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	t.Cleanup(func() {
		if nc, err := nats.Connect(server); err == nil {
			defer nc.Close()
			if js, err := nc.JetStream(); err == nil {
				_ = js.DeleteStream(bus.DefaultStream + "_" + strings.ToUpper(ns))
				_ = js.DeleteStream(bus.DefaultStream + "_" + strings.ToUpper(ns) + bus.InternalStreamSuffix)
			}
		}
	})
	var stderr bytes.Buffer
	s := &crashServer{bin: buildServer(t), dataDir: filepath.Join(t.TempDir(), "data"), key: strings.Repeat("n", 40),
		args:   []string{"--bus", server + "?" + bus.NamespaceParam + "=" + ns, "--log-level", "info"},
		stderr: &stderr}
	s.start(t)
	status, data := s.send(t.Context(), &sent{key: "p1", method: "POST", path: "/properties", body: map[string]any{"displayName": "On NATS"}})
	require.Equal(t, http.StatusCreated, status, data)
	stopCleanly(t, s) // the log is all copied once the process is waited for

	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, l := range lines {
		var entry struct{ Level, Msg string }
		require.NoError(t, json.Unmarshal([]byte(l), &entry), "logs are JSON: %s", l)
		require.False(t, entry.Level == "WARN" && strings.Contains(entry.Msg, "NATS"), "a clean stop warned: %s", l)
	}
	var last struct{ Msg string }
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last))
	require.Equal(t, "accessd stopped cleanly", last.Msg, "the last line:\n%s", stderr.String())
}
