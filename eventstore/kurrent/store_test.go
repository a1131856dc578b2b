package kurrent

import (
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/kurrent/kurrenttest"
	"github.com/accessd/accessd/eventstore/storetest"
)

// realServerEnv names the variable that points the suite at a real server.
const realServerEnv = "ACCESSD_TEST_KURRENT_URL"

// TestConformance runs the suite against a fresh in-process server per
// store (see startServer). The crash test is skipped (no NewLocation):
// durability is the server's own.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Name: "kurrent (in-process server)",
		Open: func(t testing.TB) eventstore.Store {
			t.Helper()
			s, err := Open(t.Context(), startServer(t).URL())
			require.NoError(t, err)
			return s
		},
	})
}

// startServer starts an in-process server for the rest of t. Its $all holds
// system events, as a real server's does; when t ends, it fails t if it sent
// any to a subscription: the store's subscriptions must have the server
// leave them out rather than receive them all and drop them.
func startServer(t testing.TB) *kurrenttest.Server {
	t.Helper()
	srv, err := kurrenttest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	t.Cleanup(func() {
		assert.Zero(t, srv.SystemEventsSent(), "system events the server sent to subscriptions")
	})
	return srv
}

// openOnNewServer opens a store on a server of its own (startServer), both
// for the rest of t.
func openOnNewServer(t *testing.T) (*kurrenttest.Server, *Store) {
	t.Helper()
	srv := startServer(t)
	s, err := Open(t.Context(), srv.URL())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return srv, s
}

// TestConformanceSharedServer runs the suite with every store on one
// in-process server, each isolated by its own stream prefix: the way it
// runs against a real server, checked where it can always run.
func TestConformanceSharedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the suite already ran against in-process servers; skipped here is its run on one shared server with stream prefixes")
	}
	storetest.Run(t, sharedBackend("kurrent (one in-process server, stream prefixes)", startServer(t).URL()))
}

// TestConformanceRealServer runs the suite against the server at
// ACCESSD_TEST_KURRENT_URL, each store isolated by its own stream prefix.
func TestConformanceRealServer(t *testing.T) {
	url := os.Getenv(realServerEnv)
	if url == "" {
		t.Skipf("%s is not set: the suite ran against the in-process server only; "+
			"set it (e.g. esdb://127.0.0.1:2113?tls=false) to run it against a real EventStoreDB/KurrentDB", realServerEnv)
	}
	storetest.Run(t, sharedBackend("kurrent (real server)", url))
}

// sharedBackend opens stores that share the server at url. The suite
// expects each store to start empty, so each gets a stream prefix of its
// own and sees only its own events.
func sharedBackend(name, url string) storetest.Backend {
	return storetest.Backend{
		Name: name,
		Open: func(t testing.TB) eventstore.Store {
			t.Helper()
			prefix := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + "-"
			s, err := Open(t.Context(), url, WithStreamPrefix(prefix))
			require.NoError(t, err)
			return s
		},
	}
}
