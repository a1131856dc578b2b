package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The server bounds every part of a request.
func TestServerTimeoutsAreSet(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler), serverTimeouts)
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		assert.Positive(t, d, name)
	}
	assert.LessOrEqual(t, srv.ReadHeaderTimeout, 30*time.Second, "a client has seconds, not minutes, to send its headers")
}

// slowClientIsCut starts the server with short timeouts, sends what
// start writes and then nothing more, and reports whether the server
// closed the connection; the client's own deadline (generous: it only
// keeps a broken server from hanging the test) must not be what ends the
// wait.
func slowClientIsCut(t *testing.T, to timeouts, start string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})
	srv := newHTTPServer(handler, slog.New(slog.DiscardHandler), to)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, start)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
	_, err = io.ReadAll(conn) // the server's 408 or nothing, then the close
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the slow connection open")
	}
}

// A client that never finishes its headers is cut off at
// ReadHeaderTimeout.
func TestSlowHeadersAreCutOff(t *testing.T) {
	short := timeouts{readHeader: 50 * time.Millisecond, read: time.Hour, write: time.Hour, idle: time.Hour}
	slowClientIsCut(t, short, "POST /x HTTP/1.1\r\nHost: accessd\r\nX-Slow: ")
}

// A client that never finishes its body is cut off at ReadTimeout.
func TestSlowBodiesAreCutOff(t *testing.T) {
	short := timeouts{readHeader: time.Hour, read: 50 * time.Millisecond, write: time.Hour, idle: time.Hour}
	slowClientIsCut(t, short, "POST /x HTTP/1.1\r\nHost: accessd\r\nContent-Length: 1000\r\n\r\n{\"a\":")
}
