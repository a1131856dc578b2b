package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// A lock's public key identifies it in the key protocol: a second lock
// with a key another lock holds, in any account, is refused with 409 and
// the error envelope, and nothing is stored.
func TestProvisionLockRefusesAPublicKeyInUse(t *testing.T) {
	h := newHarness(t)
	pub, enc := lockKeys(t)
	_, enc2 := lockKeys(t)
	first := h.do("POST", "/locks", rootKey, map[string]any{"displayName": "Front door", "publicKey": pub, "encryptionPublicKey": enc})
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	firstID := decodeLock(t, first).LockID

	tenant := h.newAccount()
	for _, key := range []string{rootKey, tenant} {
		head := h.lsHead()
		r := h.do("POST", "/locks", key, map[string]any{"displayName": "Copy", "publicKey": pub, "encryptionPublicKey": enc2})
		assert.Equal(t, http.StatusConflict, r.Status, r.Error)
		assert.False(t, r.Success)
		assert.Contains(t, r.Error, "publicKey")
		assert.Equal(t, head, h.lsHead(), "nothing stored")
	}
	_, ids := h.lockIDs(rootKey, "")
	assert.Equal(t, []string{firstID}, ids)
	_, ids = h.lockIDs(tenant, "")
	assert.Empty(t, ids)
}

// Provisionings of one key at once, as on several API nodes: exactly one
// lock gets it.
func TestProvisionLockOneKeyAtOnce(t *testing.T) {
	h := newHarness(t)
	pub, enc := lockKeys(t)
	tenant := h.newAccount()
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := rootKey
			if i%2 == 1 {
				key = tenant
			}
			body := `{"displayName":"door","publicKey":"` + pub + `","encryptionPublicKey":"` + enc + `"}`
			req, err := http.NewRequest("POST", h.srv.URL+"/locks", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("x-api-key", key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := h.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", s)
		}
	}
	assert.Equal(t, 1, created, "%v", statuses)
	_, a := h.lockIDs(rootKey, "")
	_, b := h.lockIDs(tenant, "")
	assert.Len(t, append(a, b...), 1)
}

// A request retried with its Idempotency-Key completes, the claim it made
// being its own; the key is free again once its lock is deprovisioned or
// released from its account, so the same hardware can be provisioned again.
func TestLockPublicKeyRetriedAndFreed(t *testing.T) {
	h := newHarness(t)
	pub, enc := lockKeys(t)
	body := map[string]any{"displayName": "Front door", "publicKey": pub, "encryptionPublicKey": enc}
	first := h.doKeyed("POST", "/locks", rootKey, "provision-1", body)
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	again := h.doKeyed("POST", "/locks", rootKey, "provision-1", body)
	require.Equal(t, http.StatusCreated, again.Status, again.Error)
	id := decodeLock(t, first).LockID
	assert.Equal(t, id, decodeLock(t, again).LockID)
	assert.Equal(t, http.StatusConflict, h.doKeyed("POST", "/locks", rootKey, "provision-2", body).Status)

	// Deprovisioned: the maker provisions the same hardware again.
	require.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+id, rootKey, nil).Status)
	second := h.do("POST", "/locks", rootKey, body)
	require.Equal(t, http.StatusCreated, second.Status, second.Error)
	secondID := decodeLock(t, second).LockID
	assert.NotEqual(t, id, secondID)

	// Released from the account: its next owner provisions it.
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+secondID+"/uninstall?uninstallMode=owner", rootKey, nil).Status)
	tenant := h.newAccount()
	third := h.do("POST", "/locks", tenant, body)
	require.Equal(t, http.StatusCreated, third.Status, third.Error)
	assert.Equal(t, http.StatusConflict, h.do("POST", "/locks", rootKey, body).Status)
}

// PUT /locks/{lockId} replaces every writable field, purchaseDate too:
// validated as POST validates it, recorded as an event, shown in the lock.
func TestUpdateLockPurchaseDate(t *testing.T) {
	h := newHarness(t)
	pub, enc := lockKeys(t)
	r := h.do("POST", "/locks", rootKey, map[string]any{"displayName": "Front door", "publicKey": pub, "encryptionPublicKey": enc})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	id := decodeLock(t, r).LockID
	assert.Nil(t, decodeLock(t, r).PurchaseDate)

	r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Front door", "purchaseDate": "2023-05-02T10:00:00Z"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	l := decodeLock(t, r)
	require.NotNil(t, l.PurchaseDate)
	assert.Equal(t, "2023-05-02T10:00:00Z", l.PurchaseDate.Format(time.RFC3339))
	got := decodeLock(t, h.do("GET", "/locks/"+id, rootKey, nil))
	require.NotNil(t, got.PurchaseDate)
	assert.Equal(t, "2023-05-02T10:00:00Z", got.PurchaseDate.Format(time.RFC3339))
	recs, err := h.store.ReadStream(context.Background(), "lock-"+id, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 1})
	require.NoError(t, err)
	assert.Equal(t, "LockPurchaseDateChanged", recs[0].Type)

	// Validated as POST validates it; nothing changes.
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	for _, bad := range []any{"yesterday", future, 5} {
		head := h.lsHead()
		r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Renamed", "purchaseDate": bad})
		assert.Equal(t, http.StatusBadRequest, r.Status, "%v", bad)
		assert.Contains(t, r.Error, "purchaseDate", "%v", bad)
		assert.Equal(t, head, h.lsHead())
	}

	// The whole object: no purchaseDate is no purchase date.
	r = h.do("PUT", "/locks/"+id, rootKey, map[string]any{"displayName": "Back door"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	l = decodeLock(t, r)
	assert.Equal(t, "Back door", l.DisplayName)
	assert.Nil(t, l.PurchaseDate)
}
