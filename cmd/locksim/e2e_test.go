package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer builds the real accessd binary and runs it on a fresh data
// directory with a bootstrap owner key; it answers the base URL and the
// key. The server stops with the test.
func startServer(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "accessd")
	build := exec.Command("go", "build", "-o", bin, "github.com/accessd/accessd/cmd/accessd")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	key := strings.Repeat("k", 40)
	logPath := filepath.Join(dir, "accessd.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin, "--addr", addr, "--data-dir", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "ACCESSD_BOOTSTRAP_KEY="+key)
	cmd.Stderr = logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			logs, _ := os.ReadFile(logPath)
			t.Logf("accessd logs:\n%s", logs)
		}
	})

	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "accessd did not become ready")
	return base, key
}

// sim runs simulator commands in this process.
type sim struct {
	t   *testing.T
	ctx context.Context
	e   env
}

// run runs a command that must succeed and returns what it printed.
func (s sim) run(args ...string) []byte {
	s.t.Helper()
	out, err := s.try(args...)
	require.NoError(s.t, err, "locksim %s", strings.Join(args, " "))
	return out
}

// try runs a command and returns what it printed and its error.
func (s sim) try(args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	e := s.e
	e.stdout, e.stderr = &stdout, &stderr
	err := execute(s.ctx, e, args)
	if stderr.Len() > 0 {
		s.t.Logf("locksim %s: %s", args[1], stderr.String())
	}
	return stdout.Bytes(), err
}

// decode decodes printed JSON into a T.
func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v), "%s", raw)
	return v
}

// call calls the API with the owner key; the answer must be 2xx.
func call(t *testing.T, ctx context.Context, c client, method, path string, body any) json.RawMessage {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(t, err)
	}
	a, err := c.send(ctx, method, path, raw, nil)
	require.NoError(t, err)
	return a.Data
}

// field reads a top-level string field.
func field(t *testing.T, data json.RawMessage, name string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	s, _ := m[name].(string)
	require.NotEmpty(t, s, "no %s in %s", name, data)
	return s
}

// logEntry is an access-log entry of GET /locks/{lockId}/logs.
type logEntry struct {
	LockAccessLogID        string    `json:"lockAccessLogId"`
	LockID                 string    `json:"lockId"`
	UserID                 string    `json:"userId"`
	UserDeviceID           string    `json:"userDeviceId"`
	AccessKeyID            string    `json:"accessKeyId"`
	AccessDate             time.Time `json:"accessDate"`
	RecordedAt             time.Time `json:"recordedAt"`
	Result                 string    `json:"result"`
	DenyReason             string    `json:"denyReason"`
	DeviceSignatureFailure bool      `json:"deviceSignatureFailure"`
	StaleCredential        bool      `json:"staleCredential"`
	KeyMapVersion          int       `json:"keyMapVersion"`
}

// TestGrantOpenRevokeStaleOpenDeny drives a lock and a phone against the
// real server: the lock opens for the granted phone, still opens after the
// revocation until it syncs (and the server flags that attempt stale),
// then denies; the logs show all three with both clocks.
func TestGrantOpenRevokeStaleOpenDeny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	base, ownerKey := startServer(t)
	ctx := t.Context()
	httpClient := &http.Client{Timeout: 30 * time.Second}
	s := sim{t: t, ctx: ctx, e: env{now: time.Now, http: httpClient}}
	api := client{http: httpClient, base: base, apiKey: ownerKey}
	dir := t.TempDir()
	lockFile, phoneFile := filepath.Join(dir, "lock.json"), filepath.Join(dir, "phone.json")

	// The owner makes a property, an area and a user.
	property := field(t, call(t, ctx, api, "POST", "/properties", map[string]any{"displayName": "Casa Azul", "timezone": "Europe/Madrid"}), "propertyId")
	area := field(t, call(t, ctx, api, "POST", "/properties/"+property+"/areas", map[string]any{"displayName": "Room 101", "areaType": "resident"}), "areaId")
	user := field(t, call(t, ctx, api, "POST", "/users", map[string]any{"displayName": "Ana", "userPermissions": []any{}}), "userId")
	meKey := field(t, call(t, ctx, api, "POST", "/accounts/keys", map[string]any{"displayName": "Ana's phone",
		"apiPermissions": []map[string]string{{"permission": "me", "userId": user}}}), "apiKey")

	// The lock provisions itself and is installed; the phone provisions
	// itself with a key acting for the user.
	provisioned := decode[map[string]string](t, s.run("lock", "provision", "--url", base, "--key", ownerKey, "--state", lockFile, "--name", "Room 101 door"))
	lockID := provisioned["lockId"]
	require.NotEmpty(t, lockID)
	info, err := os.Stat(lockFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the state holds private keys")
	call(t, ctx, api, "PUT", "/properties/"+property+"/areas/"+area+"/install/"+lockID, nil)
	phone := decode[map[string]string](t, s.run("phone", "provision", "--url", base, "--key", meKey, "--user", user, "--state", phoneFile))
	require.NotEmpty(t, phone["accessKeyId"])

	// Before the grant the lock's map is empty and the phone lists no door.
	out := decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile))
	assert.Equal(t, 0, out.KeyMapEntries)
	_, err = s.try("phone", "credential", "--state", phoneFile, "--lock", lockID)
	require.ErrorContains(t, err, "not in the phone's access map")

	// Grant: the user joins the area's own group.
	group := field(t, call(t, ctx, api, "GET", "/properties/"+property+"/areas/"+area, nil), "areaUserGroupId")
	call(t, ctx, api, "POST", "/properties/"+property+"/groups/"+group+"/users/"+user, nil)

	out = decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile))
	assert.True(t, out.KeyMapUpdated)
	assert.Equal(t, uint64(1), out.KeyMapVersion)
	require.Equal(t, 1, out.KeyMapEntries)
	st, err := loadLock(lockFile)
	require.NoError(t, err)
	assert.Equal(t, phone["accessKeyId"], st.KeyMap[0].AccessKeyID.String(), "the phone's key is in the lock's map")
	synced := decode[map[string]any](t, s.run("phone", "sync", "--state", phoneFile))
	assert.Equal(t, []any{lockID}, synced["lockIds"], "the phone lists the door")

	// Open: granted.
	nextMillisecond()
	first := s.open(lockFile, phoneFile, lockID, dir, "first")
	assert.Equal(t, "granted", first.Result, "%+v", first)
	assert.Equal(t, user, first.UserID)
	assert.Equal(t, group, first.UserGroupID)

	// Revoke. The lock has not synced: it still opens for the phone, which
	// has not synced either.
	call(t, ctx, api, "DELETE", "/properties/"+property+"/groups/"+group+"/users/"+user, nil)
	nextMillisecond()
	stale := s.open(lockFile, phoneFile, lockID, dir, "stale")
	assert.Equal(t, "granted", stale.Result, "the lock still holds the old map")

	// The lock syncs: both entries go up and are accepted; the new map is
	// empty.
	out = decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile))
	assert.Equal(t, 2, out.SentAccessLogs)
	assert.ElementsMatch(t, []string{first.LockAccessLogID, stale.LockAccessLogID}, out.AcceptedAccessLogIDs)
	assert.Equal(t, 0, out.PendingAccessLogs)
	assert.True(t, out.KeyMapUpdated)
	assert.Equal(t, uint64(2), out.KeyMapVersion)
	assert.Equal(t, 0, out.KeyMapEntries)

	// The phone learns it too and no longer offers the door; forced, its
	// credential is denied.
	synced = decode[map[string]any](t, s.run("phone", "sync", "--state", phoneFile))
	assert.Empty(t, synced["lockIds"])
	_, err = s.try("phone", "credential", "--state", phoneFile, "--lock", lockID)
	require.ErrorContains(t, err, "not in the phone's access map")
	denied := s.open(lockFile, phoneFile, lockID, dir, "denied", "--force")
	assert.Equal(t, "denied", denied.Result)
	assert.Equal(t, denyUnknownCredential, denied.DenyReason)

	out = decode[lockSyncReport](t, s.run("lock", "sync", "--state", lockFile))
	assert.Equal(t, []string{denied.LockAccessLogID}, out.AcceptedAccessLogIDs)
	assert.False(t, out.KeyMapUpdated)

	// The logs: newest first, each with the lock's clock and the server's.
	var page struct {
		AccessLogs []logEntry `json:"accessLogs"`
	}
	require.NoError(t, json.Unmarshal(call(t, ctx, api, "GET", "/locks/"+lockID+"/logs", nil), &page))
	require.Len(t, page.AccessLogs, 3)
	for i, want := range []struct {
		d     decision
		stale bool
	}{{denied, false}, {stale, true}, {first, false}} {
		got := page.AccessLogs[i]
		assert.Equal(t, want.d.LockAccessLogID, got.LockAccessLogID, "entry %d", i)
		assert.Equal(t, want.d.Result, got.Result, "entry %d", i)
		assert.Equal(t, want.d.DenyReason, got.DenyReason, "entry %d", i)
		assert.Equal(t, want.stale, got.StaleCredential, "entry %d: staleCredential", i)
		assert.False(t, got.DeviceSignatureFailure, "entry %d: the phone signed it", i)
		assert.Equal(t, lockID, got.LockID)
		assert.Equal(t, user, got.UserID, "entry %d", i)
		assert.Equal(t, phone["userDeviceId"], got.UserDeviceID, "entry %d", i)
		assert.Equal(t, phone["accessKeyId"], got.AccessKeyID, "entry %d", i)
		accessDate, err := time.Parse(time.RFC3339, want.d.AccessDate)
		require.NoError(t, err)
		assert.True(t, accessDate.Equal(got.AccessDate), "entry %d: accessDate %s, logged %s", i, got.AccessDate, want.d.AccessDate)
		assert.False(t, got.RecordedAt.Before(got.AccessDate), "entry %d: recorded at %s, before it happened at %s", i, got.RecordedAt, got.AccessDate)
	}
	assert.Equal(t, []int{2, 2, 1}, []int{page.AccessLogs[0].KeyMapVersion, page.AccessLogs[1].KeyMapVersion, page.AccessLogs[2].KeyMapVersion},
		"the key map in force at each accessDate")
	assert.True(t, page.AccessLogs[1].RecordedAt.Before(page.AccessLogs[0].RecordedAt), "the server learned of the denial at a later sync")

	// A server that answers under another key than the pinned one is
	// refused, and the lock keeps what it had.
	st, err = loadLock(lockFile)
	require.NoError(t, err)
	st.Server.KeyID = "0000000000000000"
	require.NoError(t, saveState(lockFile, st))
	_, err = s.try("lock", "sync", "--state", lockFile)
	require.ErrorContains(t, err, "not by the pinned key")
}

// open has the phone sign a credential for the lock and presents it.
func (s sim) open(lockFile, phoneFile, lockID, dir, name string, extra ...string) decision {
	s.t.Helper()
	cred := s.run(append([]string{"phone", "credential", "--state", phoneFile, "--lock", lockID}, extra...)...)
	credFile := filepath.Join(dir, fmt.Sprintf("cred-%s.json", name))
	require.NoError(s.t, os.WriteFile(credFile, cred, 0o600))
	return decode[decision](s.t, s.run("lock", "open", "--state", lockFile, "--credential", credFile))
}

// nextMillisecond waits until the lock's clock, which counts milliseconds,
// has passed the instant just recorded: an opening logged in the same
// millisecond as a grant or revocation is judged by the key map before
// it, and this test runs fast enough to land there.
func nextMillisecond() { time.Sleep(2 * time.Millisecond) }
