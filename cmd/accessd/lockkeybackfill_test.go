package main

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
)

func backfillTestKeys(t *testing.T) (signing, encryption string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
}

// The server claims the keys of the locks an older version provisioned
// without claims, in the background at its first start, records that it
// did, and skips it at the next start.
func TestServerBackfillsLockKeysOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server twice")
	}
	dataDir := t.TempDir()
	key := strings.Repeat("k", 40)

	// The log as the code before key claims left it.
	store, err := sqlite.Open(filepath.Join(dataDir, "events.db"))
	require.NoError(t, err)
	p, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	account := uuid.New()
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	oldKey, _ := backfillTestKeys(t)
	var ids []uuid.UUID
	for _, pub := range []string{oldKey, oldKey} {
		_, enc := backfillTestKeys(t)
		id := uuid.New()
		_, err := commands.Run(ctx, p, commands.Aggregate[lock.State]{Category: lock.Category, Evolve: lock.Evolve}, id, "ProvisionLock",
			lock.Provision{LockID: id, AccountID: account, DisplayName: "old", PublicKey: pub, EncryptionPublicKey: enc, APIKeyID: uuid.New()})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NoError(t, store.Close())

	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", dataDir}, func(k string) string {
		if k == "ACCESSD_BOOTSTRAP_KEY" {
			return key
		}
		return ""
	})
	require.NoError(t, err)
	start := func() (logs *syncBuffer, base string, stop func()) {
		logs = &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "accessd listening") }, 30*time.Second, 10*time.Millisecond)
		for _, line := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "accessd listening" {
				base = "http://" + m["addr"].(string)
			}
		}
		require.Eventually(t, func() bool {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 30*time.Second, 10*time.Millisecond, "server did not become ready")
		return logs, base, func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Fatal("server did not stop")
			}
		}
	}
	post := func(base, pub string) int {
		_, enc := backfillTestKeys(t)
		status, _ := request(t, "POST", base+"/locks", key, map[string]any{"displayName": "new", "publicKey": pub, "encryptionPublicKey": enc}, nil)
		return status
	}

	logs, base, stop := start()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "lock key backfill: recorded as completed") },
		30*time.Second, 10*time.Millisecond, "%s", logs)
	assert.Contains(t, logs.String(), `"locksScanned":2`)
	assert.Contains(t, logs.String(), `"claimsMade":1`)
	assert.Contains(t, logs.String(), `"level":"WARN","msg":"lock key backfill: two live locks share a public key`)
	assert.Contains(t, logs.String(), `"lockId":"`+ids[0].String()+`"`)
	assert.Contains(t, logs.String(), `"otherLockId":"`+ids[1].String()+`"`)
	assert.Equal(t, http.StatusConflict, post(base, oldKey))
	stop()

	readDB, err := projections.OpenSQLite(context.Background(), filepath.Join(dataDir, "readmodels.db"))
	require.NoError(t, err)
	done, err := backfillMarkers{readDB}.Completed(context.Background(), commands.LockKeyBackfillName)
	require.NoError(t, readDB.Close())
	require.NoError(t, err)
	assert.True(t, done)

	logs, base, stop = start()
	defer stop()
	fresh, _ := backfillTestKeys(t)
	assert.Equal(t, http.StatusCreated, post(base, fresh))
	time.Sleep(500 * time.Millisecond)
	assert.NotContains(t, logs.String(), "lock key backfill", "the second start skips the backfill")
	assert.Equal(t, http.StatusConflict, post(base, oldKey))
}

// A claim the backfill makes at start belongs to the lock's account: a
// webhook of that account subscribed to LockKeyClaimed receives it, though
// no API key of the account caused it.
func TestBackfilledLockKeyClaimReachesTheLocksWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server twice")
	}
	got := make(chan string, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- string(body)
	}))
	defer receiver.Close()

	dataDir := t.TempDir()
	key := strings.Repeat("h", 40)
	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", dataDir, "--webhooks-allow-private"}, func(k string) string {
		if k == "ACCESSD_BOOTSTRAP_KEY" {
			return key
		}
		return ""
	})
	require.NoError(t, err)
	start := func() (base string, stop func()) {
		logs := &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "lock key backfill: recorded as completed") },
			30*time.Second, 10*time.Millisecond, "%s", logs)
		for _, line := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "accessd listening" {
				base = "http://" + m["addr"].(string)
			}
		}
		return base, func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Fatal("server did not stop")
			}
		}
	}

	// First start: the bootstrap account registers its webhook.
	base, stop := start()
	webhook := map[string]any{"url": receiver.URL, "eventTypes": []string{"LockKeyClaimed"}}
	require.Eventually(t, func() bool { // once the bootstrap key is projected
		status, _ := request(t, "POST", base+"/accounts/webhooks", key, webhook, nil)
		return status == http.StatusCreated
	}, 30*time.Second, 20*time.Millisecond, "the webhook was not registered")
	stop()

	// A lock of that account, as the code before key claims provisioned
	// it, and the backfill not yet run on this data set.
	store, err := sqlite.Open(filepath.Join(dataDir, "events.db"))
	require.NoError(t, err)
	created, err := store.ReadAll(context.Background(), 0, 1, eventstore.Filter{EventTypes: []string{"AccountCreated"}})
	require.NoError(t, err)
	require.Len(t, created, 1)
	account, err := uuid.Parse(strings.TrimPrefix(created[0].Stream, "account-"))
	require.NoError(t, err)
	p, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	pub, enc := backfillTestKeys(t)
	lockID := uuid.New()
	_, err = commands.Run(ctx, p, commands.Aggregate[lock.State]{Category: lock.Category, Evolve: lock.Evolve}, lockID, "ProvisionLock",
		lock.Provision{LockID: lockID, AccountID: account, DisplayName: "old", PublicKey: pub, EncryptionPublicKey: enc, APIKeyID: uuid.New()})
	require.NoError(t, err)
	require.NoError(t, store.Close())
	readDB, err := projections.OpenSQLite(context.Background(), filepath.Join(dataDir, "readmodels.db"))
	require.NoError(t, err)
	_, err = readDB.ExecContext(context.Background(), `DELETE FROM `+backfillsTable)
	require.NoError(t, err)
	require.NoError(t, readDB.Close())

	// Second start: the backfill claims the lock's key.
	_, stop = start()
	defer stop()
	select {
	case d := <-got:
		assert.Contains(t, d, `"LockKeyClaimed"`)
		assert.Contains(t, d, lockID.String())
	case <-time.After(20 * time.Second):
		t.Fatal("the backfilled claim reached no webhook of the lock's account")
	}
}
