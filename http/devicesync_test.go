package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/box"
)

// syncPhone is a phone that keeps its private keys, as a real one does.
type syncPhone struct {
	userID, deviceID, accessKeyID string
	sign                          ed25519.PrivateKey
	encPub, encPriv               *[32]byte
}

// provisionSyncPhone makes a phone's key pairs and registers the public
// halves for the user.
func (h *harness) provisionSyncPhone(key, userID string) syncPhone {
	h.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(h.t, err)
	encPub, encPriv, err := box.GenerateKey(rand.Reader)
	require.NoError(h.t, err)
	r := h.do("POST", "/users/"+userID+"/devices", key, deviceBody("phone",
		base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(encPub[:])))
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	d := decodeDevice(h.t, r)
	return syncPhone{userID: userID, deviceID: d.UserDeviceID, accessKeyID: d.AccessKeyID, sign: priv, encPub: encPub, encPriv: encPriv}
}

func syncBody(version int) []byte {
	b, _ := json.Marshal(map[string]any{
		"deviceType": "iOS", "makeModel": "iPhone 15", "currentOsVersion": "17.4",
		"currentAppVersion": "2.1.0", "currentUserAccessMapVersion": version,
	})
	return b
}

func (p syncPhone) signature(body []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(p.sign, body))
}

func (p syncPhone) path() string { return "/users/" + p.userID + "/devices/" + p.deviceID + "/sync" }

// syncAs sends a sync body with a signature header ("" for none).
func (h *harness) syncAs(key, path string, body []byte, signature string) reply {
	h.t.Helper()
	header := map[string]string{}
	if signature != "" {
		header["x-device-signature"] = signature
	}
	return h.fwSend("PUT", path, key, "application/json", strings.NewReader(string(body)), int64(len(body)), header)
}

type syncOut struct {
	UserAccessMapVersion          *int   `json:"userAccessMapVersion"`
	EncryptedUserAccessMapEntries string `json:"encryptedUserAccessMapEntries"`
}

type accessMapEntry struct {
	PropertyID  string          `json:"propertyId"`
	AreaID      string          `json:"areaId"`
	LockID      string          `json:"lockId"`
	UserGroupID string          `json:"userGroupId"`
	Schedule    json.RawMessage `json:"schedule"`
	AccessKeyID string          `json:"accessKeyId"`
}

// open opens the sealed map with the phone's X25519 private key.
func (p syncPhone) open(t *testing.T, sealed string) []accessMapEntry {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(sealed)
	require.NoError(t, err)
	plain, ok := box.OpenAnonymous(nil, raw, p.encPub, p.encPriv)
	require.True(t, ok, "the sealed map does not open with the phone's key")
	var entries []accessMapEntry
	require.NoError(t, json.Unmarshal(plain, &entries), "%s", plain)
	return entries
}

func TestPhoneSyncGetsItsSealedAccessMap(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	room := h.mkArea(rootKey, property, "Room 7", "")
	l := h.provisionLock(rootKey, "Room 7 door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, room, l.LockID), rootKey, nil).Status)
	guest := h.grpUser(rootKey, "Guest")
	phone := h.provisionSyncPhone(rootKey, guest)
	roomGroup := h.viewArea(rootKey, property, room).AreaUserGroupID
	h.grpAdd(rootKey, property, roomGroup, guest)
	me := h.meKey(guest)

	body := syncBody(0)
	r := h.syncAs(me, phone.path(), body, phone.signature(body))
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	var out syncOut
	require.NoError(t, json.Unmarshal(r.Data, &out))
	require.NotNil(t, out.UserAccessMapVersion)
	assert.Equal(t, 1, *out.UserAccessMapVersion)
	require.NotEmpty(t, out.EncryptedUserAccessMapEntries, "the phone holds version 0: it gets the map")
	assert.NotContains(t, string(r.Data), l.LockID, "the map leaves sealed")
	entries := phone.open(t, out.EncryptedUserAccessMapEntries)
	require.Len(t, entries, 1)
	e := entries[0]
	assert.Equal(t, property, e.PropertyID)
	assert.Equal(t, room, e.AreaID)
	assert.Equal(t, l.LockID, e.LockID)
	assert.Equal(t, roomGroup, e.UserGroupID)
	assert.Equal(t, phone.accessKeyID, e.AccessKeyID)
	assert.JSONEq(t, "null", string(e.Schedule))

	// The sync is recorded on the device.
	recs := h.streamEvents("device-" + phone.deviceID)
	last := recs[len(recs)-1]
	require.Equal(t, "UserDeviceSynced", last.Type)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(last.Data, &ev))
	assert.Equal(t, "17.4", ev["currentOsVersion"])
	assert.Equal(t, "2.1.0", ev["currentAppVersion"])
	assert.EqualValues(t, 0, ev["currentUserAccessMapVersion"])
	assert.NotEmpty(t, ev["syncedAt"])

	// Holding the current version: no entries.
	body = syncBody(1)
	r = h.syncAs(me, phone.path(), body, phone.signature(body))
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	out = syncOut{}
	require.NoError(t, json.Unmarshal(r.Data, &out))
	assert.Equal(t, 1, *out.UserAccessMapVersion)
	assert.Empty(t, out.EncryptedUserAccessMapEntries)
	assert.NotContains(t, string(r.Data), "encryptedUserAccessMapEntries")

	// Leaving the group: a new version, an empty map.
	require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(property, roomGroup, guest), rootKey, nil).Status)
	body = syncBody(1)
	r = h.syncAs(rootKey, phone.path(), body, phone.signature(body))
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	out = syncOut{}
	require.NoError(t, json.Unmarshal(r.Data, &out))
	assert.Equal(t, 2, *out.UserAccessMapVersion)
	assert.Empty(t, phone.open(t, out.EncryptedUserAccessMapEntries))
}

func TestPhoneSyncSignature(t *testing.T) {
	h := newHarness(t)
	user := h.grpUser(rootKey, "Ana")
	phone := h.provisionSyncPhone(rootKey, user)
	stranger := h.provisionSyncPhone(rootKey, user)
	body := syncBody(0)
	before := h.fwHead()
	for name, sig := range map[string]string{
		"missing":               "",
		"not base64":            "not base64!",
		"of another body":       phone.signature(syncBody(3)),
		"by another device key": stranger.signature(body),
		"truncated":             phone.signature(body)[:40],
	} {
		r := h.syncAs(rootKey, phone.path(), body, sig)
		assert.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", name, r.Error)
		assert.Nil(t, r.Signatures, name)
	}
	// The signature is checked before the body is read: a bad body with a
	// bad signature is 401, not 400.
	r := h.syncAs(rootKey, phone.path(), []byte(`{"nope":`), "")
	assert.Equal(t, http.StatusUnauthorized, r.Status, r.Error)
	assert.Equal(t, before, h.fwHead(), "nothing appended")

	// A rotated key: the old one no longer signs.
	newPub, newPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	r = h.do("PUT", "/users/"+user+"/devices/"+phone.deviceID, rootKey, deviceBody("phone", base64.StdEncoding.EncodeToString(newPub), ""))
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, http.StatusUnauthorized, h.syncAs(rootKey, phone.path(), body, phone.signature(body)).Status)
	phone.sign = newPriv
	assert.Equal(t, http.StatusOK, h.syncAs(rootKey, phone.path(), body, phone.signature(body)).Status)
}

func TestPhoneSyncBodyAndPermissions(t *testing.T) {
	h := newHarness(t)
	ana := h.grpUser(rootKey, "Ana")
	bob := h.grpUser(rootKey, "Bob")
	phone := h.provisionSyncPhone(rootKey, ana)
	bobPhone := h.provisionSyncPhone(rootKey, bob)
	signed := func(body string) (string, []byte) { return phone.signature([]byte(body)), []byte(body) }

	// Strict body, signed: each refusal names the field.
	for body, field := range map[string]string{
		`{"deviceType":"iOS","makeModel":"x","currentOsVersion":"1","currentAppVersion":"1","currentUserAccessMapVersion":0,"extra":1}`: "extra",
		`{"deviceType":"iOS","makeModel":"x","currentOsVersion":"1","currentAppVersion":"1"}`:                                           "currentUserAccessMapVersion",
		`{"deviceType":"iOS","makeModel":"x","currentOsVersion":"1","currentAppVersion":"1","currentUserAccessMapVersion":"1"}`:         "currentUserAccessMapVersion",
		`{"deviceType":"iOS","makeModel":"x","currentOsVersion":"1","currentAppVersion":"1","currentUserAccessMapVersion":-1}`:          "currentUserAccessMapVersion",
		`{"deviceType":"Nokia","makeModel":"x","currentOsVersion":"1","currentAppVersion":"1","currentUserAccessMapVersion":0}`:         "deviceType",
		`{"deviceType":"iOS","makeModel":"x","currentOsVersion":"","currentAppVersion":"1","currentUserAccessMapVersion":0}`:            "currentOsVersion",
		`{"deviceType":"iOS","makeModel":"","currentOsVersion":"1","currentAppVersion":"1","currentUserAccessMapVersion":0}`:            "makeModel",
		`{"deviceType":"iOS","makeModel":"x","currentOsVersion":"1","currentAppVersion":"1","currentUserAccessMapVersion":0} trailing`:  "body",
	} {
		sig, raw := signed(body)
		r := h.syncAs(rootKey, phone.path(), raw, sig)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", body, r.Error)
		assert.Contains(t, r.Error, field, body)
	}

	body := syncBody(0)
	// `me` for Ana syncs Ana's phone, not Bob's.
	anaKey := h.meKey(ana)
	assert.Equal(t, http.StatusOK, h.syncAs(anaKey, phone.path(), body, phone.signature(body)).Status)
	r := h.syncAs(anaKey, bobPhone.path(), body, bobPhone.signature(body))
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, r.Status, r.Error)
	// Bob's phone under Ana's path is not found.
	r = h.syncAs(rootKey, "/users/"+ana+"/devices/"+bobPhone.deviceID+"/sync", body, bobPhone.signature(body))
	assert.Equal(t, http.StatusNotFound, r.Status, r.Error)
	// manage-access syncs for anyone; support does not.
	assert.Equal(t, http.StatusOK, h.syncAs(h.newKey(rootKey, perm("manage-access")), bobPhone.path(), body, bobPhone.signature(body)).Status)
	assert.Equal(t, http.StatusForbidden, h.syncAs(h.newKey(rootKey, perm("support")), bobPhone.path(), body, bobPhone.signature(body)).Status)
	// Another account does not find the phone.
	assert.Equal(t, http.StatusNotFound, h.syncAs(h.newAccount(), phone.path(), body, phone.signature(body)).Status)
	// A deprovisioned phone no longer syncs.
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+ana+"/devices/"+phone.deviceID, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.syncAs(rootKey, phone.path(), body, phone.signature(body)).Status)
}
