package httpapi_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lsSyncKeyed sends a sync body with the lock's key, the given signature
// header (none when "") and an Idempotency-Key.
func (h *harness) lsSyncKeyed(l lsLock, idem, sig string, body []byte) reply {
	h.t.Helper()
	headers := map[string]string{"Idempotency-Key": idem}
	if sig != "" {
		headers["x-lock-signature"] = sig
	}
	return h.lsSend("PUT", "/locks/"+l.ID+"/sync", l.APIKey, headers, body)
}

// lsSyncBody is a sync body dated now by the server's clock, the lock
// holding key map version held.
func (h *harness) lsSyncBody(held int, logs ...map[string]any) []byte {
	h.t.Helper()
	body := map[string]any{"syncDate": h.clock.Now().UTC().Format(time.RFC3339), "currentFirmwareVersion": "1.0.0",
		"currentKeyMapVersion": held, "accessLogs": logs}
	raw, err := json.Marshal(body)
	require.NoError(h.t, err)
	return raw
}

func lsSign(l lsLock, body []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(l.sign, body))
}

// A sync retried with its Idempotency-Key answers what the first did:
// the same entries accepted and the key map sealed to the lock, on a lock
// whose key map is at version 1 and on one with none (version 0).
func TestLockSyncRetriedWithItsKeyAnswersAsTheFirst(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	bare := h.lsProvision(rootKey, "No map")
	for _, c := range []struct {
		name    string
		lock    lsLock
		version int
	}{{"key map version 0", bare, 0}, {"key map version 1", s.lock, 1}} {
		name := c.name
		logID := uuid.NewString()
		body := h.lsSyncBody(0, lsEntry(c.lock.ID, s.phone, logID, time.Now(), "granted"))
		idem := "sync-" + c.lock.ID
		for i, what := range []string{"first", "retry"} {
			r := h.lsSyncKeyed(c.lock, idem, lsSign(c.lock, body), body)
			require.Equal(t, http.StatusOK, r.Status, "%s, %s: %s", name, what, r.Error)
			h.verifySigned(r)
			var out lsSyncOut
			require.NoError(t, json.Unmarshal(r.Data, &out))
			assert.Equal(t, []string{logID}, out.AcceptedAccessLogIDs, "%s, %s: an entry sent again is accepted again", name, what)
			assert.Equal(t, c.version, out.KeyMapVersion, "%s, %s", name, what)
			if c.version == 0 {
				assert.Nil(t, out.EncryptedKeyMapEntries, "%s, %s: the lock holds the version", name, what)
				continue
			}
			require.NotNil(t, out.EncryptedKeyMapEntries, "%s, %s: the lock holds another version", name, what)
			var entries []map[string]any
			require.NoError(t, json.Unmarshal(c.lock.open(t, *out.EncryptedKeyMapEntries), &entries), "%s, %s", name, what)
			assert.Len(t, entries, 1, "%s, attempt %d", name, i)
		}
	}
}

// A retry is authenticated and checked as a first request: without the
// lock's signature it is a 401, and a body replayed later than 15 minutes
// after its syncDate is stale (422) even with the first one's key.
func TestLockSyncRetryIsCheckedAsTheFirst(t *testing.T) {
	h := newHarness(t)
	l := h.lsProvision(rootKey, "Door")
	body := h.lsSyncBody(0)
	sig := lsSign(l, body)
	first := h.lsSyncKeyed(l, "sync-checked", sig, body)
	require.Equal(t, http.StatusOK, first.Status, first.Error)

	other := h.lsProvision(rootKey, "Other door")
	for name, bad := range map[string]string{
		"no signature":          "",
		"a garbage signature":   "not base64!",
		"another lock's":        lsSign(other, body),
		"another body's":        lsSign(l, []byte(strings.Replace(string(body), "1.0.0", "1.0.1", 1))),
		"a truncated signature": sig[:40],
	} {
		r := h.lsSyncKeyed(l, "sync-checked", bad, body)
		assert.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", name, r.Error)
		assert.False(t, r.Success, name)
		assert.Nil(t, r.Signatures, "%s: no answer signed by the server", name)
	}

	h.clock.Advance(16 * time.Minute)
	r := h.lsSyncKeyed(l, "sync-checked", sig, body)
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
	assert.Contains(t, r.Error, "15 minutes")
	r = h.lsSyncKeyed(l, "sync-checked", "not base64!", body)
	assert.Equal(t, http.StatusUnauthorized, r.Status, r.Error)
}
