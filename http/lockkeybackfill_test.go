package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
)

// provisionOldLock provisions a lock of the root account as the code
// before key claims did: LockProvisioned appended, no claim of its key.
func (h *harness) provisionOldLock(publicKey string) string {
	h.t.Helper()
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	_, enc := lockKeys(h.t)
	id := uuid.New()
	agg := commands.Aggregate[lock.State]{Category: lock.Category, Evolve: lock.Evolve}
	_, err := commands.Run(ctx, h.service.Pipeline(), agg, id, "ProvisionLock", lock.Provision{
		LockID: id, AccountID: account, DisplayName: "old lock", PublicKey: publicKey, EncryptionPublicKey: enc, APIKeyID: uuid.New(),
	})
	require.NoError(h.t, err)
	return id.String()
}

// runLockKeyBackfill runs the lock key backfill, returning its log lines.
func (h *harness) runLockKeyBackfill() []map[string]any {
	h.t.Helper()
	var buf bytes.Buffer
	b, err := commands.NewLockKeyBackfill(h.service, slog.New(slog.NewJSONHandler(&buf, nil)))
	require.NoError(h.t, err)
	_, err = b.Backfill(context.Background())
	require.NoError(h.t, err)
	var lines []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		require.NoError(h.t, dec.Decode(&m))
		lines = append(lines, m)
	}
	return lines
}

// Locks provisioned before public keys were claimed get their claims from
// the backfill: POST /locks with an old lock's key is then a 409 naming
// publicKey; of two old locks sharing a key the first keeps it and the
// pair is a warning; a second run appends nothing; deprovisioning an old
// lock frees its key.
func TestLockKeyBackfillClosesTheGapOfOldLocks(t *testing.T) {
	h := newHarness(t)
	pub, _ := lockKeys(t)
	shared, _ := lockKeys(t)
	old := h.provisionOldLock(pub)
	first := h.provisionOldLock(shared)
	twin := h.provisionOldLock(shared)
	h.settle()

	lines := h.runLockKeyBackfill()
	var warned []map[string]any
	for _, l := range lines {
		if l["level"] == "WARN" {
			warned = append(warned, l)
		}
	}
	require.Len(t, warned, 1, "%v", lines)
	assert.Equal(t, first, warned[0]["lockId"])
	assert.Equal(t, twin, warned[0]["otherLockId"])

	_, enc := lockKeys(t)
	for _, key := range []string{pub, shared} {
		head := h.lsHead()
		r := h.do("POST", "/locks", rootKey, map[string]any{"displayName": "Copy", "publicKey": key, "encryptionPublicKey": enc})
		assert.Equal(t, http.StatusConflict, r.Status, r.Error)
		assert.Contains(t, r.Error, "publicKey")
		assert.Equal(t, head, h.lsHead(), "nothing stored")
	}

	head := h.lsHead()
	h.runLockKeyBackfill()
	assert.Equal(t, head, h.lsHead(), "a second run appends nothing")

	// The first keeps the shared key: deprovisioning the twin leaves it
	// claimed; deprovisioning the first frees it. So with the old lock.
	require.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+twin, rootKey, nil).Status)
	assert.Equal(t, http.StatusConflict, h.do("POST", "/locks", rootKey, map[string]any{"displayName": "Copy", "publicKey": shared, "encryptionPublicKey": enc}).Status)
	for _, id := range []string{first, old} {
		require.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+id, rootKey, nil).Status)
	}
	for _, key := range []string{pub, shared} {
		r := h.do("POST", "/locks", rootKey, map[string]any{"displayName": "Again", "publicKey": key, "encryptionPublicKey": enc})
		assert.Equal(t, http.StatusCreated, r.Status, r.Error)
	}
}
