package kurrent

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/kurrent/kurrenttest"
)

func TestOpenUnreachable(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	s, err := Open(t.Context(), "esdb://"+addr+"?tls=false")
	require.Error(t, err, "Open must fail when no server answers")
	require.Nil(t, s)
	require.Contains(t, err.Error(), "kurrent: connect to esdb://"+addr, "the error names the server: %q", err)
}

// TestOpenNoAnswer: a server that accepts connections but never answers
// fails Open within its time limit, naming the server, although the
// client's discovery ignores the context (it gives up after about 47 s).
func TestOpenNoAnswer(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = lis.Close() })
	go func() {
		var held []net.Conn // never read from, never answered, closed at the end
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	addr := lis.Addr().String()

	start := time.Now()
	s, err := Open(t.Context(), "esdb://"+addr+"?tls=false")
	took := time.Since(start)
	require.Error(t, err, "Open must fail when the server never answers")
	require.Nil(t, s)
	require.Contains(t, err.Error(), "kurrent: connect to esdb://"+addr, "the error names the server: %q", err)
	require.Less(t, took, probeTimeout+2*time.Second, "Open took %s", took)
}

func TestOpenBadURL(t *testing.T) {
	for _, url := range []string{
		"postgres://127.0.0.1:5432/db",
		"127.0.0.1:2113",
		"esdb://admin:secret@[::1",
	} {
		_, err := Open(t.Context(), url)
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "secret", "the error leaks the password: %q", err)
	}
}

func TestOpenKurrentDBScheme(t *testing.T) {
	url := kurrenttest.Start(t)
	s, err := Open(t.Context(), "kurrentdb://"+strings.TrimPrefix(url, "esdb://"))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Append(t.Context(), "lock-1", eventstore.NoStream, eventstore.EventData{
		ID: uuid.New(), Type: "LockProvisioned", Data: []byte(`{}`),
	})
	require.NoError(t, err)
}
