package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ownConnServer serves h and counts the connections clients open to it.
func ownConnServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32, *client) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(srv.URL+"/", "owner-key", 1).withOwnConn()
	t.Cleanup(c.close)
	return srv, &conns, c
}

func TestOwnConnContentLengthAnswersReuseTheConnection(t *testing.T) {
	_, conns, c := ownConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"path":"`+r.URL.RequestURI()+`"}}`)
	})
	ctx := context.Background()
	for range 3 {
		data, err := c.do(ctx, "GET", "/locks/l1?at=2026-01-01T00%3A00%3A00Z", nil)
		require.NoError(t, err)
		assert.JSONEq(t, `{"path":"/locks/l1?at=2026-01-01T00%3A00%3A00Z"}`, string(data))
		require.NoError(t, c.call(ctx, "GET", "/locks/l2", nil)) // discarded, connection kept
	}
	assert.EqualValues(t, 1, conns.Load())
}

func TestOwnConnChunkedAnswers(t *testing.T) {
	part := strings.Repeat("x", 5000)
	_, conns, c := ownConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":"`+part)
		w.(http.Flusher).Flush() // no Content-Length: the answer is chunked
		io.WriteString(w, part+`"}`)
	})
	ctx := context.Background()
	for range 2 {
		data, err := c.do(ctx, "GET", "/events", nil)
		require.NoError(t, err)
		assert.Equal(t, `"`+part+part+`"`, string(data))
		require.NoError(t, c.call(ctx, "GET", "/events", nil))
	}
	assert.EqualValues(t, 1, conns.Load(), "the trailer read, the connection is reused")
}

func TestOwnConnRedialsAfterConnectionClose(t *testing.T) {
	_, conns, c := ownConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, `{"data":1}`)
	})
	ctx := context.Background()
	for range 3 {
		data, err := c.do(ctx, "GET", "/readyz", nil)
		require.NoError(t, err)
		assert.Equal(t, "1", string(data))
	}
	assert.EqualValues(t, 3, conns.Load())
}

func TestOwnConnNon2xxIsAnAPIError(t *testing.T) {
	_, _, c := ownConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"error":"already a member"}`)
	})
	ctx := context.Background()
	for _, keep := range []bool{false, true} {
		_, err := c.send(ctx, "POST", "/groups/g/users/u", nil, keep)
		var apiErr *apiError
		require.True(t, errors.As(err, &apiErr), "%v", err)
		assert.Equal(t, &apiError{Method: "POST", Path: "/groups/g/users/u", Status: 409, Message: "already a member"}, apiErr)
	}
}

func TestOwnConnResendsAfterTheServerClosedAnIdleConnection(t *testing.T) {
	srv, conns, c := ownConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":true}`)
	})
	ctx := context.Background()
	require.NoError(t, c.call(ctx, "GET", "/locks/l1", nil))
	srv.CloseClientConnections()
	require.NoError(t, c.call(ctx, "GET", "/locks/l1", nil))
	assert.EqualValues(t, 2, conns.Load())
}

func TestOwnConnSendsBodyAndHeaders(t *testing.T) {
	type seen struct {
		Method, URI, Host, Key, Signature, ContentType string
		Length                                         int64
		Body                                           string
	}
	got := make(chan seen, 2)
	srv, _, c := ownConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, r.Header.Get("x-api-key"), r.Header.Get("x-lock-signature"), r.Header.Get("Content-Type"), r.ContentLength, string(b)}
		io.WriteString(w, `{"data":{"keyMapVersion":3}}`)
	})
	host := strings.TrimPrefix(srv.URL, "http://")
	body := map[string]any{"name": "Front door", "note": strings.Repeat("é", 3000)}
	want, err := json.Marshal(body)
	require.NoError(t, err)

	answer, err := c.sendAs(context.Background(), "lock-key", map[string]string{"x-lock-signature": "c2ln"}, "PUT", "/locks/l1/sync", body, true)
	require.NoError(t, err)
	assert.JSONEq(t, `{"data":{"keyMapVersion":3}}`, string(answer))
	assert.Equal(t, seen{"PUT", "/locks/l1/sync", host, "lock-key", "c2ln", "application/json", int64(len(want)), string(want)}, <-got)

	require.NoError(t, c.call(context.Background(), "POST", "/groups/g/users/u", nil))
	assert.Equal(t, seen{"POST", "/groups/g/users/u", host, "owner-key", "", "", 0, ""}, <-got)
}

func TestOwnConnEndsWithTheContext(t *testing.T) {
	release := make(chan struct{})
	_, _, c := ownConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.call(ctx, "GET", "/slow", nil)
	assert.ErrorContains(t, err, context.DeadlineExceeded.Error())
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestOwnConnRefusesHTTPS(t *testing.T) {
	c := newClient("https://example.invalid", "k", 1).withOwnConn()
	err := c.call(context.Background(), "GET", "/readyz", nil)
	assert.ErrorContains(t, err, `scheme "https"`)
}

// The round trip itself allocates nothing once the connection is up; the
// server is a raw socket loop so that its allocations do not count.
func TestOwnConnRoundTripAllocations(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"data\":{\"id\":\"l1\"}}")
		buf := make([]byte, 4096)
		for {
			n, err := nc.Read(buf) // one small request per read, on loopback
			if err != nil {
				return
			}
			if !bytes.HasSuffix(buf[:n], []byte("\r\n\r\n")) {
				t.Errorf("partial request: %q", buf[:n])
				return
			}
			nc.Write(answer)
		}
	}()
	c := newClient("http://"+ln.Addr().String(), "owner-key", 1).withOwnConn()
	t.Cleanup(c.close)
	ctx := context.Background()
	require.NoError(t, c.call(ctx, "GET", "/locks/l1", nil))
	allocs := testing.AllocsPerRun(100, func() {
		if err := c.call(ctx, "GET", "/locks/l1", nil); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
