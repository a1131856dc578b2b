package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/box"

	"github.com/accessd/accessd/eventstore"
)

// lsLock is a lock that keeps its private keys, as a real lock does.
type lsLock struct {
	ID, APIKey string
	sign       ed25519.PrivateKey
	boxPub     *[32]byte
	boxPriv    *[32]byte
}

// lsProvision provisions a lock whose keys it made itself.
func (h *harness) lsProvision(key, name string) lsLock {
	h.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(h.t, err)
	boxPub, boxPriv, err := box.GenerateKey(rand.Reader)
	require.NoError(h.t, err)
	r := h.do("POST", "/locks", key, map[string]any{"displayName": name,
		"publicKey": base64.StdEncoding.EncodeToString(pub), "encryptionPublicKey": base64.StdEncoding.EncodeToString(boxPub[:])})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	l := decodeLock(h.t, r)
	return lsLock{ID: l.LockID, APIKey: l.Private.APIKey, sign: priv, boxPub: boxPub, boxPriv: boxPriv}
}

// lsDevice is a phone that keeps its signing key.
type lsDevice struct {
	deviceOut
	sign ed25519.PrivateKey
}

// lsProvisionDevice provisions a phone of the user whose keys it made.
func (h *harness) lsProvisionDevice(key, userID string) lsDevice {
	h.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(h.t, err)
	encPub, _, err := box.GenerateKey(rand.Reader)
	require.NoError(h.t, err)
	r := h.do("POST", "/users/"+userID+"/devices", key,
		deviceBody("phone", base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(encPub[:])))
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return lsDevice{deviceOut: decodeDevice(h.t, r), sign: priv}
}

// lsSend sends a raw body with extra headers.
func (h *harness) lsSend(method, path, key string, headers map[string]string, body []byte) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	out := reply{Status: resp.StatusCode, Header: resp.Header}
	if len(raw) > 0 {
		require.NoError(h.t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	require.Less(h.t, resp.StatusCode, 500, "%s %s answered %d: %s", method, path, resp.StatusCode, raw)
	return out
}

// lsSyncRaw sends body with the lock's own key and the lock's signature.
func (h *harness) lsSyncRaw(l lsLock, body []byte) reply {
	h.t.Helper()
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(l.sign, body))
	return h.lsSend("PUT", "/locks/"+l.ID+"/sync", l.APIKey, map[string]string{"x-lock-signature": sig}, body)
}

// lsSyncOut is the sync answer as the tests read it.
type lsSyncOut struct {
	SyncDate                time.Time `json:"syncDate"`
	KeyMapVersion           int       `json:"keyMapVersion"`
	EncryptedKeyMapEntries  *string   `json:"encryptedKeyMapEntries"`
	RequiredFirmwareVersion *string   `json:"requiredFirmwareVersion"`
	AcceptedAccessLogIDs    []string  `json:"acceptedAccessLogIds"`
}

// lsSync syncs the lock, which says it holds key map version held; it
// checks the server's signature of the answer.
func (h *harness) lsSync(l lsLock, held int, logs ...map[string]any) lsSyncOut {
	h.t.Helper()
	body := map[string]any{"syncDate": time.Now().UTC().Format(time.RFC3339), "currentFirmwareVersion": "1.0.0", "currentKeyMapVersion": held}
	if logs != nil {
		body["accessLogs"] = logs
	}
	raw, err := json.Marshal(body)
	require.NoError(h.t, err)
	r := h.lsSyncRaw(l, raw)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	require.Contains(h.t, string(r.Data), `"acceptedAccessLogIds":[`, "acceptedAccessLogIds is always there")
	var out lsSyncOut
	require.NoError(h.t, json.Unmarshal(r.Data, &out))
	return out
}

// open opens a sealed key map with the lock's X25519 private key.
func (l lsLock) open(t *testing.T, sealed string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(sealed)
	require.NoError(t, err)
	plain, ok := box.OpenAnonymous(nil, raw, l.boxPub, l.boxPriv)
	require.True(t, ok, "the key map is not sealed to the lock's key")
	return plain
}

// lsEntry is an access-log entry the lock records when the device presents
// itself; the device signs lockId|lockAccessLogId|accessDate.
func lsEntry(lockID string, d lsDevice, logID string, at time.Time, result string) map[string]any {
	date := at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	e := map[string]any{"lockAccessLogId": logID, "accessDate": date, "accessKeyId": d.AccessKeyID, "userDeviceId": d.UserDeviceID,
		"result": result, "deviceSignature": base64.StdEncoding.EncodeToString(ed25519.Sign(d.sign, []byte(lockID+"|"+logID+"|"+date)))}
	if result == "denied" {
		e["denyReason"] = "outside schedule"
	}
	return e
}

// lsScene is a property with an area, a real lock installed there, and a
// user with a real phone in the area's group: the lock's key map has one
// entry, at version 1.
type lsScene struct {
	property, area, group, user string
	lock                        lsLock
	phone                       lsDevice
}

func (h *harness) lsScene(key string) lsScene {
	h.t.Helper()
	s := lsScene{property: h.lockProperty(key)}
	s.area = h.mkArea(key, s.property, "Room 101", "")
	s.lock = h.lsProvision(key, "Room 101 door")
	require.Equal(h.t, http.StatusOK, h.do("PUT", installPath(s.property, s.area, s.lock.ID), key, nil).Status)
	s.user = h.grpUser(key, "Guest")
	s.phone = h.lsProvisionDevice(key, s.user)
	s.group = h.viewArea(key, s.property, s.area).AreaUserGroupID
	h.grpAdd(key, s.property, s.group, s.user)
	require.Equal(h.t, 1, h.keyMap(key, s.lock.ID).KeyMapVersion)
	return s
}

func (h *harness) lsHead() uint64 {
	h.t.Helper()
	pos, err := h.store.HeadPosition(context.Background())
	require.NoError(h.t, err)
	return pos
}

func TestLockSyncSealsTheKeyMapUntilConfirmed(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	idle := h.lsProvision(rootKey, "Idle door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(s.property, h.mkArea(rootKey, s.property, "Store", ""), idle.ID), rootKey, nil).Status)

	_, lagging := h.lockIDs(rootKey, "?propertyId="+s.property+"&outOfSync=true")
	assert.Equal(t, []string{s.lock.ID}, lagging, "the lock holds version 0 of 1; the idle one 0 of 0")

	before := time.Now().UTC().Add(-time.Second)
	out := h.lsSync(s.lock, 0)
	assert.Equal(t, 1, out.KeyMapVersion)
	assert.Empty(t, out.AcceptedAccessLogIDs)
	assert.Nil(t, out.RequiredFirmwareVersion, "no firmware is assigned")
	assert.WithinDuration(t, time.Now(), out.SyncDate, time.Minute, "the server's clock")
	require.NotNil(t, out.EncryptedKeyMapEntries, "the lock holds another version")
	var entries []map[string]any
	require.NoError(t, json.Unmarshal(s.lock.open(t, *out.EncryptedKeyMapEntries), &entries))
	require.Len(t, entries, 1)
	assert.Equal(t, s.phone.AccessKeyID, entries[0]["accessKeyId"])
	assert.Equal(t, s.phone.PublicKey, entries[0]["publicKey"])
	assert.Equal(t, s.user, entries[0]["userId"])
	plain, err := json.Marshal(h.keyMap(rootKey, s.lock.ID).KeyMapEntries)
	require.NoError(t, err)
	var want []map[string]any
	require.NoError(t, json.Unmarshal(plain, &want))
	assert.Equal(t, want, entries, "the sealed map is the plain one")

	// The lock output shows what it confirmed and when it last synced.
	l := h.do("GET", "/locks/"+s.lock.ID, rootKey, nil)
	var priv struct {
		Private struct {
			KeyMapVersion          int        `json:"keyMapVersion"`
			CurrentKeyMapVersion   int        `json:"currentKeyMapVersion"`
			CurrentFirmwareVersion string     `json:"currentFirmwareVersion"`
			LastKnownSyncDate      *time.Time `json:"lastKnownSyncDate"`
		} `json:"private"`
	}
	require.NoError(t, json.Unmarshal(l.Data, &priv))
	assert.Equal(t, 1, priv.Private.KeyMapVersion)
	assert.Equal(t, 0, priv.Private.CurrentKeyMapVersion)
	assert.Equal(t, "1.0.0", priv.Private.CurrentFirmwareVersion)
	require.NotNil(t, priv.Private.LastKnownSyncDate)
	assert.True(t, priv.Private.LastKnownSyncDate.After(before))

	// It installs the map and confirms version 1: nothing more to send.
	out = h.lsSync(s.lock, 1)
	assert.Equal(t, 1, out.KeyMapVersion)
	assert.Nil(t, out.EncryptedKeyMapEntries)
	require.NoError(t, json.Unmarshal(h.do("GET", "/locks/"+s.lock.ID, rootKey, nil).Data, &priv))
	assert.Equal(t, 1, priv.Private.CurrentKeyMapVersion)
	_, lagging = h.lockIDs(rootKey, "?propertyId="+s.property+"&outOfSync=true")
	assert.Empty(t, lagging)

	// Syncing again with nothing changed keeps nothing new.
	head := h.lsHead()
	out = h.lsSync(s.lock, 1)
	assert.Nil(t, out.EncryptedKeyMapEntries)
	assert.Equal(t, head, h.lsHead(), "an unchanged sync within the heartbeat appends nothing")

	// A change of the map makes it lag again, listed with its last sync.
	require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(s.property, s.group, s.user), rootKey, nil).Status)
	r := h.do("GET", "/locks?propertyId="+s.property+"&outOfSync=true", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Locks []struct {
			LockID  string `json:"lockId"`
			Private struct {
				KeyMapVersion        int        `json:"keyMapVersion"`
				CurrentKeyMapVersion int        `json:"currentKeyMapVersion"`
				LastKnownSyncDate    *time.Time `json:"lastKnownSyncDate"`
			} `json:"private"`
		} `json:"locks"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &page))
	require.Len(t, page.Locks, 1)
	assert.Equal(t, s.lock.ID, page.Locks[0].LockID)
	assert.Equal(t, 2, page.Locks[0].Private.KeyMapVersion)
	assert.Equal(t, 1, page.Locks[0].Private.CurrentKeyMapVersion)
	assert.NotNil(t, page.Locks[0].Private.LastKnownSyncDate)
	out = h.lsSync(s.lock, 1)
	require.NotNil(t, out.EncryptedKeyMapEntries)
	assert.JSONEq(t, `[]`, string(s.lock.open(t, *out.EncryptedKeyMapEntries)))

	// outOfSync takes true or false only; the lock list stays the caller's.
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/locks?outOfSync=yes", rootKey, nil).Status)
	status, all := h.lockIDs(rootKey, "?outOfSync=true")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{s.lock.ID}, all)
	status, none := h.lockIDs(h.newAccount(), "?outOfSync=true")
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, none)
}

func TestLockSyncRefusesWhatTheLockDidNotSign(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	other := h.lsProvision(rootKey, "Other door")
	body := []byte(`{"syncDate":"` + time.Now().UTC().Format(time.RFC3339) + `","currentFirmwareVersion":"1.0.0","currentKeyMapVersion":0,"accessLogs":[` +
		mustJSON(t, lsEntry(s.lock.ID, s.phone, "7a449a59-a391-420d-b4a5-6e67e36da39d", time.Now(), "granted")) + `]}`)
	path := "/locks/" + s.lock.ID + "/sync"
	sign := func(k ed25519.PrivateKey, b []byte) map[string]string {
		return map[string]string{"x-lock-signature": base64.StdEncoding.EncodeToString(ed25519.Sign(k, b))}
	}
	head := h.lsHead()
	for name, c := range map[string]struct {
		key     string
		headers map[string]string
		body    []byte
		status  int
	}{
		"no signature":                   {s.lock.APIKey, nil, body, http.StatusUnauthorized},
		"another key's signature":        {s.lock.APIKey, sign(other.sign, body), body, http.StatusUnauthorized},
		"a signature of another body":    {s.lock.APIKey, sign(s.lock.sign, body), bytes.Replace(body, []byte(`"currentKeyMapVersion":0`), []byte(`"currentKeyMapVersion":1`), 1), http.StatusUnauthorized},
		"a signature that is not base64": {s.lock.APIKey, map[string]string{"x-lock-signature": "not base64!"}, body, http.StatusUnauthorized},
		"a truncated signature":          {s.lock.APIKey, map[string]string{"x-lock-signature": sign(s.lock.sign, body)["x-lock-signature"][:40]}, body, http.StatusUnauthorized},
		"another lock's key":             {other.APIKey, sign(s.lock.sign, body), body, http.StatusForbidden},
		"the owner's key":                {rootKey, sign(s.lock.sign, body), body, http.StatusForbidden},
		"no key":                         {"", sign(s.lock.sign, body), body, http.StatusUnauthorized},
	} {
		r := h.lsSend("PUT", path, c.key, c.headers, c.body)
		assert.Equal(t, c.status, r.Status, "%s: %s", name, r.Error)
		assert.False(t, r.Success, name)
	}
	assert.Equal(t, head, h.lsHead(), "nothing from a refused body is kept")
	_, err := h.store.ReadStream(context.Background(), "accesslog-"+s.lock.ID, eventstore.ReadStreamOptions{Max: 1})
	assert.ErrorIs(t, err, eventstore.ErrStreamNotFound, "no access log was kept")

	// A lock's key syncs no other lock, even one that does not exist.
	assert.Equal(t, http.StatusForbidden, h.lsSend("PUT", "/locks/7a449a59-a391-420d-b4a5-6e67e36da39d/sync", s.lock.APIKey, sign(s.lock.sign, body), body).Status)
	assert.Equal(t, http.StatusBadRequest, h.lsSend("PUT", "/locks/nope/sync", s.lock.APIKey, sign(s.lock.sign, body), body).Status)

	// Signed but malformed bodies: 400 naming the field, nothing kept.
	for field, bad := range map[string]string{
		"syncDate":                      `{"syncDate":"yesterday","currentKeyMapVersion":0}`,
		"currentKeyMapVersion":          `{"syncDate":"2024-03-01T12:00:00Z"}`,
		"colour":                        `{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0,"colour":"red"}`,
		"currentFirmwareVersion":        `{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0,"currentFirmwareVersion":"1.0 beta"}`,
		"accessLogs[0].result":          `{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0,"accessLogs":[{"lockAccessLogId":"7a449a59-a391-420d-b4a5-6e67e36da39d","accessDate":"2024-03-01T12:00:00Z","accessKeyId":"` + s.phone.AccessKeyID + `","result":"opened"}]}`,
		"accessLogs[1].accessDate":      `{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0,"accessLogs":[` + mustJSON(t, lsEntry(s.lock.ID, s.phone, "7a449a59-a391-420d-b4a5-6e67e36da39d", time.Now(), "granted")) + `,{"lockAccessLogId":"8a449a59-a391-420d-b4a5-6e67e36da39d","accessDate":"March","accessKeyId":"` + s.phone.AccessKeyID + `","result":"granted"}]}`,
		"accessLogs[0].accessKeyId":     `{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0,"accessLogs":[{"lockAccessLogId":"7a449a59-a391-420d-b4a5-6e67e36da39d","accessDate":"2024-03-01T12:00:00Z","result":"granted"}]}`,
		"accessLogs[0].denyReason":      `{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0,"accessLogs":[{"lockAccessLogId":"7a449a59-a391-420d-b4a5-6e67e36da39d","accessDate":"2024-03-01T12:00:00Z","accessKeyId":"` + s.phone.AccessKeyID + `","result":"granted","denyReason":"x"}]}`,
		"accessLogs[0].lockAccessLogId": `{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0,"accessLogs":[{"lockAccessLogId":"7","accessDate":"2024-03-01T12:00:00Z","accessKeyId":"` + s.phone.AccessKeyID + `","result":"granted"}]}`,
		"body":                          `{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0} trailing`,
	} {
		r := h.lsSyncRaw(s.lock, []byte(bad))
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", field, r.Error)
		assert.True(t, strings.HasPrefix(r.Error, field+":"), "%q does not name %s", r.Error, field)
	}
	assert.Equal(t, head, h.lsHead(), "nothing from a bad body is kept")

	// Over 1 MiB: 413 before anything is read further.
	huge := []byte(`{"syncDate":"2024-03-01T12:00:00Z","currentKeyMapVersion":0,"currentFirmwareVersion":"` + strings.Repeat("1", 1<<20) + `"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, h.lsSyncRaw(s.lock, huge).Status)

	// The genuine body goes through; the lock is gone after deprovisioning.
	assert.Equal(t, http.StatusOK, h.lsSend("PUT", path, s.lock.APIKey, sign(s.lock.sign, body), body).Status)
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+s.lock.ID+"/uninstall?uninstallMode=area", rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+s.lock.ID, rootKey, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, h.lsSend("PUT", path, s.lock.APIKey, sign(s.lock.sign, body), body).Status, "its key is deleted")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// An accessDate is missing when it is absent, null or empty, not when it
// is the first instant of year 1: 0001-01-01T00:00:00Z (and the same
// instant with an offset) is a date as any other in the years 1 to 9999,
// as 0001-01-01T00:00:01Z is. A syncDate at that instant is a stale sync
// (422), not a missing one.
func TestLockSyncTakesAnAccessDateAtTheZeroInstant(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	entry := func(logID, date string) map[string]any {
		e := lsEntry(s.lock.ID, s.phone, logID, time.Now(), "granted")
		e["accessDate"] = date
		e["deviceSignature"] = base64.StdEncoding.EncodeToString(ed25519.Sign(s.phone.sign, []byte(s.lock.ID+"|"+logID+"|"+date)))
		return e
	}
	zero, zeroPlusOne, second := uuid.NewString(), uuid.NewString(), uuid.NewString()
	out := h.lsSync(s.lock, 1, entry(zero, "0001-01-01T00:00:00Z"), entry(zeroPlusOne, "0001-01-01T01:00:00+01:00"),
		entry(second, "0001-01-01T00:00:01Z"))
	assert.ElementsMatch(t, []string{zero, zeroPlusOne, second}, out.AcceptedAccessLogIDs)
	h.settle()
	logs, _ := h.alPage(rootKey, "/locks/"+s.lock.ID+"/logs")
	require.Len(t, logs, 3)
	byID := map[string]alEntry{}
	for _, l := range logs {
		byID[l.LockAccessLogID] = l
	}
	for _, id := range []string{zero, zeroPlusOne} {
		require.Contains(t, byID, id)
		assert.True(t, byID[id].AccessDate.Equal(time.Time{}), "%s: %s", id, byID[id].AccessDate)
		assert.False(t, byID[id].DeviceSignatureFailure, "the device signed the date as sent")
	}
	assert.Equal(t, second, logs[0].LockAccessLogID, "newest first")

	// Missing is still missing: absent, null or empty.
	for name, date := range map[string]any{"absent": nil, "null": json.RawMessage("null"), "empty": ""} {
		e := entry(uuid.NewString(), "x")
		delete(e, "accessDate")
		if name != "absent" {
			e["accessDate"] = date
		}
		body := mustJSON(t, map[string]any{"syncDate": time.Now().UTC().Format(time.RFC3339), "currentKeyMapVersion": 1, "accessLogs": []any{e}})
		r := h.lsSyncRaw(s.lock, []byte(body))
		assert.Equal(t, http.StatusBadRequest, r.Status, name)
		assert.Equal(t, "accessLogs[0].accessDate: is required", r.Error, name)
	}

	// A syncDate at the zero instant is present, and far from now.
	for _, date := range []string{"0001-01-01T00:00:00Z", "0001-01-01T01:00:00+01:00"} {
		r := h.lsSyncRaw(s.lock, []byte(`{"syncDate":"`+date+`","currentKeyMapVersion":1}`))
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s: %s", date, r.Error)
		assert.Contains(t, r.Error, "syncDate is more than 15 minutes", date)
	}
}
