package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
)

// pgProxy forwards TCP connections to PostgreSQL until cut: then it drops
// every open connection and closes each new one at once, as a stopped
// server would look to its clients, until restored.
type pgProxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string
	down   bool
	conns  map[net.Conn]bool
}

func startPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *pgProxy) serve(c net.Conn) {
	p.mu.Lock()
	down, target := p.down, p.target
	p.mu.Unlock()
	if down {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close(); c.Close() }()
	io.Copy(c, up)
	c.Close()
	up.Close()
}

func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *pgProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// through returns u with its host replaced by the proxy's address.
func (p *pgProxy) through(t *testing.T, u string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	p.mu.Lock()
	p.target = parsed.Host
	p.mu.Unlock()
	parsed.Host = p.ln.Addr().String()
	return parsed.String()
}

// TestPostgresOutageAnswers503AndRecovers: a PostgreSQL that stops
// answering (a proxy in front of it drops every connection) makes commands
// answer 503 in the envelope, never 500 and never a hang; reads answer 503
// with the read models on it and keep working with them on SQLite; /readyz
// (503 only when the read models are down) and /healthz name what is down;
// once it answers again the server recovers by itself.
func TestPostgresOutageAnswers503AndRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildServer(t)
	for _, tc := range []struct {
		name             string
		sqliteReadModels bool
	}{{"log and read models on PostgreSQL", false}, {"log on PostgreSQL, read models on SQLite", true}} {
		t.Run(tc.name, func(t *testing.T) { postgresOutage(t, bin, tc.sqliteReadModels) })
	}
}

func postgresOutage(t *testing.T, bin string, sqliteReadModels bool) {
	proxy := startPGProxy(t, "")
	eventStore := proxy.through(t, servicetest.PostgresSchema(t))
	readModels := "sqlite:" + filepath.Join(t.TempDir(), "rm.db")
	if !sqliteReadModels {
		readModels = proxy.through(t, servicetest.PostgresSchema(t))
	}
	key := strings.Repeat("o", 40)
	s := &roServer{crashServer: crashServer{bin: bin, dataDir: filepath.Join(t.TempDir(), "data"), key: key}}
	addr := freeAddr(t)
	s.cmd = exec.Command(bin, "--addr", addr, "--data-dir", s.dataDir, "--log-level", "warn",
		"--eventstore", eventStore, "--readmodels", readModels, "--bus", "gochannel")
	s.cmd.Env = append(os.Environ(), "ACCESSD_BOOTSTRAP_KEY="+key)
	logs := &syncBuffer{}
	s.cmd.Stderr = logs
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	s.base = "http://" + addr
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last /readyz: %s", last)
		}
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		last = string(b)
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond, "server did not become ready")
	create := func(name string) string {
		t.Helper()
		status, data := s.send(t.Context(), &sent{key: "k-" + name, method: "POST", path: "/properties", body: map[string]any{"displayName": name}})
		require.Equal(t, http.StatusCreated, status, data)
		return idOf(data)
	}
	before := create("Before")

	proxy.cut()
	for i := range 10 {
		for _, req := range []struct{ method, path string }{
			{"POST", "/properties"}, {"GET", "/properties"}, {"GET", "/properties/" + before},
		} {
			start := time.Now()
			status, body := s.do(t, req.method, req.path, map[string]any{"displayName": "During"})
			require.Less(t, time.Since(start), 10*time.Second, "%s %s took too long", req.method, req.path)
			if sqliteReadModels && req.method == "GET" {
				require.Equal(t, http.StatusOK, status, "try %d: %s %s: reads on SQLite stopped: %s", i, req.method, req.path, body)
				continue
			}
			require.Equal(t, http.StatusServiceUnavailable, status, "try %d: %s %s: %s", i, req.method, req.path, body)
			require.Contains(t, string(body), `"success":false`)
		}
	}
	status, body := s.do(t, "GET", "/readyz", nil)
	require.Contains(t, string(body), "event store (--eventstore) unavailable")
	if sqliteReadModels {
		// Reads still serve: the server stays ready, and says what is down.
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), `"status":"degraded"`)
	} else {
		require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
		require.Contains(t, string(body), "read models (--readmodels) unavailable")
	}
	status, body = s.do(t, "GET", "/healthz", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var health struct {
		Data struct{ Status, Unavailable string }
	}
	require.NoError(t, json.Unmarshal(body, &health))
	require.Equal(t, "degraded", health.Data.Status, "%s", body)
	require.Contains(t, health.Data.Unavailable, "event store")

	proxy.restore()
	require.Eventually(t, func() bool {
		status, body := s.do(t, "GET", "/readyz", nil)
		return status == http.StatusOK && strings.Contains(string(body), `"status":"ready"`)
	}, 30*time.Second, 100*time.Millisecond, "not ready again")
	// A pooled connection that the outage cut, idle under a second, is
	// found dead only when used: that request answers 503, the next one
	// opens a new connection. Never a 500.
	var after string
	require.Eventually(t, func() bool {
		status, data := s.send(t.Context(), &sent{key: "k-After", method: "POST", path: "/properties", body: map[string]any{"displayName": "After"}})
		require.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable}, status, data)
		after = idOf(data)
		return status == http.StatusCreated
	}, 30*time.Second, 100*time.Millisecond, "commands did not recover")
	require.Equal(t, http.StatusOK, s.get(t, "/properties/"+before))
	require.Equal(t, http.StatusOK, s.get(t, "/properties/"+after))
	status, body = s.do(t, "GET", "/healthz", nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `"status":"ok"`)
}
