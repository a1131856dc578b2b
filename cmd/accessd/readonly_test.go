package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer collects a server's log while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// roServer is a crashServer whose process is waited for in the
// background, so a test can see it exit at start.
type roServer struct {
	crashServer
	exited chan struct{} // closed when the process has exited
}

// startLogged starts the server like crashServer.start, keeping its log
// (warn and above) in the returned buffer.
func (s *roServer) startLogged(t *testing.T) *syncBuffer {
	t.Helper()
	addr := freeAddr(t)
	logs := &syncBuffer{}
	s.cmd = exec.Command(s.bin, "--addr", addr, "--data-dir", s.dataDir, "--log-level", "warn")
	s.cmd.Env = append(os.Environ(), "ACCESSD_BOOTSTRAP_KEY="+s.key)
	s.cmd.Stderr = logs
	require.NoError(t, s.cmd.Start())
	s.base = "http://" + addr
	exited := make(chan struct{})
	s.exited = exited // the goroutine owns Wait: stop waits on exited
	go func() { _ = s.cmd.Wait(); close(exited) }()
	ok := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("server exited at start: %s", logs)
		default:
		}
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok = true
				break
			}
		}
	}
	require.True(t, ok, "server did not become ready: %s", logs)
	return logs
}

// stop ends a server started with startLogged: SIGTERM, or SIGKILL.
func (s *roServer) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(sig))
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
	if sig == syscall.SIGTERM {
		require.True(t, s.cmd.ProcessState.Success(), "server did not stop cleanly: %v", s.cmd.ProcessState)
	}
}

// do sends one request and returns its status and raw body.
func (s *roServer) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	return request(t, method, s.base+path, s.key, body, nil)
}

// created sends a command and returns the id field of its 201 answer.
func (s *roServer) created(t *testing.T, path string, body map[string]any, idField string) string {
	t.Helper()
	status, raw := s.do(t, "POST", path, body)
	require.Equal(t, http.StatusCreated, status, "POST %s: %s", path, raw)
	var env struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(raw, &env))
	id, _ := env.Data[idField].(string)
	require.NotEmpty(t, id, "POST %s: no %s in %s", path, idField, raw)
	return id
}

// readOnlyFixture is what a writable server stored before the directory
// went read-only: ids to read and the answers of the reads.
type readOnlyFixture struct {
	property, user, lock, booking string
	answers                       map[string][]byte
}

// reads are the GETs a read-only server must answer as before.
func (f *readOnlyFixture) reads() []string {
	return []string{
		"/properties?pageSize=50",
		"/properties/" + f.property,
		"/users/" + f.user + "/groups",
		"/locks",
		"/locks/" + f.lock,
		"/locks/" + f.lock + "/keymap",
		"/locks/" + f.lock + "/logs",
		"/users/" + f.user + "/logs",
		"/properties/" + f.property + "/logs",
		"/audit/locks/" + f.lock + "/history",
		"/audit/users/" + f.user + "/history",
		"/audit/properties/" + f.property + "/history",
		"/timeline/activity",
		"/users/" + f.user,                     // with its private fields
		"/bookings/" + f.booking + "/check-in", // with its guest's details
	}
}

// fillForReadOnly stores a few properties, a user with personal data, a
// lock and a booking with a guest, and records the answers of the reads.
func fillForReadOnly(t *testing.T, s *roServer) *readOnlyFixture {
	t.Helper()
	f := &readOnlyFixture{answers: map[string][]byte{}}
	for i := range 5 {
		f.property = s.created(t, "/properties", map[string]any{"displayName": fmt.Sprintf("Read-only %d", i)}, "propertyId")
	}
	f.user = s.created(t, "/users", map[string]any{"displayName": "Reader", "private": map[string]any{
		"firstName": "Rita", "lastName": "Reader", "email": "rita.reader@example.com", "phoneNumber": "+34 600 000 001"}}, "userId")
	area := s.created(t, "/properties/"+f.property+"/areas", map[string]any{"displayName": "Flat 1A", "areaType": "resident"}, "areaId")
	start := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second) // nothing in it moves while the test runs
	f.booking = s.created(t, "/properties/"+f.property+"/bookings", map[string]any{"areaId": area,
		"guest":         map[string]any{"displayName": "Gina Guest", "email": "gina.guest@example.com"},
		"startDateTime": start.Format(time.RFC3339), "endDateTime": start.Add(48 * time.Hour).Format(time.RFC3339)}, "bookingId")
	status, body := s.do(t, "POST", "/bookings/"+f.booking+"/guests", map[string]any{
		"displayName": "Gus Guest", "documentType": "passport", "documentNumber": "X7654321", "nationality": "ES", "birthDate": "1990-04-01"})
	require.Equal(t, http.StatusCreated, status, "register a guest: %s", body)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	f.lock = s.created(t, "/locks", map[string]any{"displayName": "Front door",
		"publicKey": base64.StdEncoding.EncodeToString(pub), "encryptionPublicKey": base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())}, "lockId")
	waitCaughtUp(t, &s.crashServer)
	for _, path := range f.reads() {
		status, body := s.do(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, status, "GET %s: %s", path, body)
		f.answers[path] = body
	}
	// The reads show the personal data: equal answers while read-only
	// prove it was opened there.
	require.Contains(t, string(f.answers["/users/"+f.user]), "rita.reader@example.com")
	require.Contains(t, string(f.answers["/bookings/"+f.booking+"/check-in"]), "X7654321")
	require.Contains(t, string(f.answers["/bookings/"+f.booking+"/check-in"]), "Gina Guest")
	require.Contains(t, string(f.answers["/bookings/"+f.booking+"/check-in"]), "gina.guest@example.com")
	return f
}

// requireReadsAsBefore checks that every read answers 200 with the body
// the writable server gave.
func requireReadsAsBefore(t *testing.T, s *roServer, f *readOnlyFixture) {
	t.Helper()
	for _, path := range f.reads() {
		status, body := s.do(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, status, "GET %s: %s", path, body)
		require.Equal(t, string(f.answers[path]), string(body), "GET %s changed", path)
	}
}

// requireChangesRefused checks that commands answer 503 with an error
// naming the read-only data directory.
func requireChangesRefused(t *testing.T, s *roServer, f *readOnlyFixture) {
	t.Helper()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/properties", map[string]any{"displayName": "refused"}},
		{"PUT", "/properties/" + f.property, map[string]any{"displayName": "refused"}},
		{"DELETE", "/users/" + f.user, nil},
		{"POST", "/bookings/" + f.booking + "/guests", map[string]any{"displayName": "refused"}},
	} {
		status, body := s.do(t, c.method, c.path, c.body)
		require.Equal(t, http.StatusServiceUnavailable, status, "%s %s: %s", c.method, c.path, body)
		var env struct {
			Success *bool  `json:"success"`
			Error   string `json:"error"`
		}
		require.NoError(t, json.Unmarshal(body, &env), "%s", body)
		require.NotNil(t, env.Success)
		require.False(t, *env.Success)
		require.Contains(t, env.Error, "read-only filesystem", "%s %s", c.method, c.path)
		require.Contains(t, env.Error, s.dataDir, "%s %s: the error does not name the directory", c.method, c.path)
	}
}

// requireReadOnlyReported checks /healthz and the log name the cause.
func requireReadOnlyReported(t *testing.T, s *roServer, logs *syncBuffer) {
	t.Helper()
	status, body := s.do(t, "GET", "/healthz", nil)
	require.Equal(t, http.StatusOK, status)
	var health struct {
		Data struct {
			Status, ReadOnly string
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &health))
	require.Equal(t, "ok", health.Data.Status)
	require.Contains(t, health.Data.ReadOnly, s.dataDir, "/healthz: %s", body)
	require.Contains(t, logs.String(), `"level":"WARN","msg":"data directory is read-only`, "no warning in the log")
	require.Contains(t, logs.String(), s.dataDir+" is on a read-only filesystem")
}

// requireNoErrorLogged checks that a read-only server logged no error:
// nothing tried to write and failed.
func requireNoErrorLogged(t *testing.T, logs *syncBuffer) {
	t.Helper()
	t.Logf("read-only server's log:\n%s", logs)
	require.NotContains(t, logs.String(), `"level":"ERROR"`)
}

// dirChecksums is the sha256 of every file under dir, by name.
func dirChecksums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, path)
		sums[rel] = hex.EncodeToString(sum[:])
		return nil
	}))
	return sums
}

// remount switches the tmpfs at dir between ro and rw.
func remount(t *testing.T, dir, mode string) {
	t.Helper()
	out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput()
	require.NoError(t, err, "remount %s %s: %s", mode, dir, out)
}

// TestReadOnlyDataDir: a server started on a data directory that is on a
// read-only filesystem serves reads as before, refuses every change with
// 503 naming the directory, says so in /healthz and its log, and changes
// no file; once the filesystem is writable again a restart takes commands.
func TestReadOnlyDataDir(t *testing.T) {
	s, disk, f := startFilled(t, strings.Repeat("r", 40), syscall.SIGTERM)
	before := dirChecksums(t, s.dataDir)
	require.Contains(t, before, "events.db")
	require.NotContains(t, before, "events.db-wal", "a clean stop leaves no WAL")

	requireServesReadOnly(t, s, disk, f, before)
	requireRecoversWritable(t, s, disk, f, "After read-only")
}

// TestReadOnlyAfterCrash: after a SIGKILL the -wal files hold the last
// commits; on a read-only filesystem the server reads them through the
// -shm files the killed server left, so nothing committed is missing, and
// refuses to start without them rather than miss commits.
func TestReadOnlyAfterCrash(t *testing.T) {
	s, disk, f := startFilled(t, strings.Repeat("k", 40), syscall.SIGKILL)
	before := dirChecksums(t, s.dataDir)
	require.Contains(t, before, "events.db-wal", "the killed server left no WAL to read")
	for _, name := range []string{"events.db-wal", "readmodels.db-wal", "personal-keys.db-wal"} {
		info, err := os.Stat(filepath.Join(s.dataDir, name))
		require.NoError(t, err)
		t.Logf("%s: %d bytes", name, info.Size())
	}

	// Without the -shm file the WAL cannot be read read-only: the start
	// fails, naming the file and what to do.
	shm := filepath.Join(s.dataDir, "events.db-shm")
	require.NoError(t, os.Rename(shm, shm+".aside"))
	remount(t, disk, "ro")
	out, err := exec.Command(s.bin, "--addr", freeAddr(t), "--data-dir", s.dataDir).CombinedOutput()
	require.Error(t, err, "started without %s", shm)
	require.Contains(t, string(out), filepath.Join(s.dataDir, "events.db-wal"))
	require.Contains(t, string(out), "start accessd once")
	remount(t, disk, "rw")
	require.NoError(t, os.Rename(shm+".aside", shm))

	requireServesReadOnly(t, s, disk, f, before)
	requireRecoversWritable(t, s, disk, f, "After the crash")
}

// startFilled starts the server on a small tmpfs, fills it with data for
// the read-only checks, and stops it with sig. It returns the server, the
// tmpfs and what was written.
func startFilled(t *testing.T, key string, sig syscall.Signal) (*roServer, string, *readOnlyFixture) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	disk := smallDisk(t, 64<<20)
	s := &roServer{crashServer: crashServer{bin: buildServer(t), dataDir: filepath.Join(disk, "data"), key: key}}
	s.startLogged(t)
	t.Cleanup(s.killIfRunning)
	f := fillForReadOnly(t, s)
	s.stop(t, sig)
	return s, disk, f
}

// requireServesReadOnly remounts disk read-only, starts the server, and
// checks it reports read-only, refuses every change, serves the reads as
// before, logs no error and changes no file (before: the checksums).
func requireServesReadOnly(t *testing.T, s *roServer, disk string, f *readOnlyFixture, before map[string]string) {
	t.Helper()
	remount(t, disk, "ro")
	logs := s.startLogged(t)
	requireReadOnlyReported(t, s, logs)
	requireChangesRefused(t, s, f)
	requireReadsAsBefore(t, s, f)
	s.stop(t, syscall.SIGTERM)
	requireNoErrorLogged(t, logs)
	require.Equal(t, before, dirChecksums(t, s.dataDir), "files changed while read-only")
}

// requireRecoversWritable remounts disk writable, restarts the server, and
// checks the reads, a command, and the read models against a rebuild.
func requireRecoversWritable(t *testing.T, s *roServer, disk string, f *readOnlyFixture, property string) {
	t.Helper()
	remount(t, disk, "rw")
	logs := s.startLogged(t)
	require.NotContains(t, logs.String(), "read-only")
	requireReadsAsBefore(t, s, f)
	s.created(t, "/properties", map[string]any{"displayName": property}, "propertyId")
	waitCaughtUp(t, &s.crashServer)
	s.stop(t, syscall.SIGTERM)
	requireReadModelsEqualRebuild(t, s.dataDir)
}

// killIfRunning kills a server a failed test left running.
func (s *roServer) killIfRunning() {
	if s.cmd == nil || s.exited == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// TestReadOnlyHandler: reads pass, /healthz carries the reason, every
// other method is refused with 503 and the reason in the envelope.
func TestReadOnlyHandler(t *testing.T) {
	reached := 0
	h := readOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached++ }), "read-only: data directory /d is on a read-only filesystem")
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/healthz", http.StatusOK, `{"success":true,"data":{"status":"ok","readOnly":"read-only: data directory /d is on a read-only filesystem"}}` + "\n"},
		{"GET", "/locks", http.StatusOK, ""},
		{"HEAD", "/locks", http.StatusOK, ""},
		{"POST", "/properties", http.StatusServiceUnavailable, `{"success":false,"error":"read-only: data directory /d is on a read-only filesystem"}` + "\n"},
		{"DELETE", "/users/x", http.StatusServiceUnavailable, `{"success":false,"error":"read-only: data directory /d is on a read-only filesystem"}` + "\n"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		require.Equal(t, c.status, rec.Code, "%s %s", c.method, c.path)
		require.Equal(t, c.body, rec.Body.String(), "%s %s", c.method, c.path)
	}
	require.Equal(t, 2, reached, "reads reach the API")
}

// TestStorageDirs lists the data directory and those of SQLite files
// placed elsewhere, once each.
func TestStorageDirs(t *testing.T) {
	cfg, err := parseConfig([]string{"--data-dir", "/d", "--eventstore", "sqlite:/elsewhere/events.db"}, func(string) string { return "" })
	require.NoError(t, err)
	require.Equal(t, []string{"/d", "/elsewhere"}, storageDirs(cfg))
	cfg, err = parseConfig([]string{"--data-dir", "/d", "--readmodels", "postgres://db/x"}, func(string) string { return "" })
	require.NoError(t, err)
	require.Equal(t, []string{"/d"}, storageDirs(cfg))
}
