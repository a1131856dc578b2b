package httpapi_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deviceKeys makes a phone's key pairs, as the phone would, and returns
// the public halves in standard base64.
func deviceKeys(t testing.TB) (signing, encryption string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
}

// deviceBody is a device's writable part; empty keys are left out.
func deviceBody(name, pub, enc string) map[string]any {
	b := map[string]any{"deviceType": "iOS", "makeModel": "iPhone 15", "displayName": name}
	if pub != "" {
		b["publicKey"] = pub
	}
	if enc != "" {
		b["encryptionPublicKey"] = enc
	}
	return b
}

// deviceOut is the device output as the tests read it.
type deviceOut struct {
	UserDeviceID        string `json:"userDeviceId"`
	UserID              string `json:"userId"`
	DeviceType          string `json:"deviceType"`
	MakeModel           string `json:"makeModel"`
	DisplayName         string `json:"displayName"`
	PublicKey           string `json:"publicKey"`
	EncryptionPublicKey string `json:"encryptionPublicKey"`
	AccessKeyID         string `json:"accessKeyId"`
	Type                string `json:"type"`
	TypeState           string `json:"typeState"`
	CreatedAt           string `json:"createdAt"`
	LastModifiedBy      string `json:"lastModifiedBy"`
}

func decodeDevice(t testing.TB, r reply) deviceOut {
	t.Helper()
	var d deviceOut
	require.NoError(t, json.Unmarshal(r.Data, &d), "%s", r.Data)
	return d
}

// provisionDevice provisions a device of the user with key.
func (h *harness) provisionDevice(key, userID, name string) deviceOut {
	h.t.Helper()
	pub, enc := deviceKeys(h.t)
	r := h.do("POST", "/users/"+userID+"/devices", key, deviceBody(name, pub, enc))
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return decodeDevice(h.t, r)
}

// deviceList reads one page of a user's devices.
func (h *harness) deviceList(key, userID, query string) (ids []string, token string) {
	h.t.Helper()
	r := h.do("GET", "/users/"+userID+"/devices"+query, key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Devices   []deviceOut `json:"devices"`
		PageToken string      `json:"pageToken"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	for _, d := range page.Devices {
		ids = append(ids, d.UserDeviceID)
	}
	return ids, page.PageToken
}

func TestDeviceLifecycle(t *testing.T) {
	h := newHarness(t)
	userID := h.createUser(rootKey, userBody("Ana", nil))
	pub, enc := deviceKeys(t)
	created := h.do("POST", "/users/"+userID+"/devices", rootKey, deviceBody("Ana's phone", pub, enc))
	require.Equal(t, http.StatusCreated, created.Status, created.Error)
	d := decodeDevice(t, created)
	assert.Equal(t, userID, d.UserID)
	assert.Equal(t, "iOS", d.DeviceType)
	assert.Equal(t, "iPhone 15", d.MakeModel)
	assert.Equal(t, pub, d.PublicKey)
	assert.Equal(t, enc, d.EncryptionPublicKey)
	assert.Equal(t, "userDevice", d.Type)
	assert.Equal(t, "active", d.TypeState)
	require.NoError(t, uuid.Validate(d.AccessKeyID))
	assert.NotEqual(t, d.UserDeviceID, d.AccessKeyID)

	u := decodeUser(t, h.do("GET", "/users/"+userID, rootKey, nil))
	assert.Equal(t, []string{d.UserDeviceID}, u.DeviceIDs)
	path := "/users/" + userID + "/devices/" + d.UserDeviceID
	assert.Equal(t, d, decodeDevice(t, h.do("GET", path, rootKey, nil)))

	// A second device is a new id and a new access key.
	second := h.provisionDevice(rootKey, userID, "tablet")
	assert.NotEqual(t, d.UserDeviceID, second.UserDeviceID)
	assert.NotEqual(t, d.AccessKeyID, second.AccessKeyID)
	ids, _ := h.deviceList(rootKey, userID, "")
	assert.Equal(t, []string{d.UserDeviceID, second.UserDeviceID}, ids)

	// PUT without keys changes the details and keeps the access key.
	r := h.do("PUT", path, rootKey, map[string]any{"deviceType": "Android", "makeModel": "Pixel 9", "displayName": "work phone"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	upd := decodeDevice(t, r)
	assert.Equal(t, "Android", upd.DeviceType)
	assert.Equal(t, "Pixel 9", upd.MakeModel)
	assert.Equal(t, "work phone", upd.DisplayName)
	assert.Equal(t, d.AccessKeyID, upd.AccessKeyID)
	assert.Equal(t, pub, upd.PublicKey)

	// A new signing key is a new access key.
	pub2, enc2 := deviceKeys(t)
	r = h.do("PUT", path, rootKey, map[string]any{"deviceType": "Android", "makeModel": "Pixel 9", "displayName": "work phone",
		"publicKey": pub2, "encryptionPublicKey": enc2})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	rot := decodeDevice(t, r)
	assert.Equal(t, pub2, rot.PublicKey)
	assert.Equal(t, enc2, rot.EncryptionPublicKey)
	assert.NotEqual(t, d.AccessKeyID, rot.AccessKeyID)
	require.NoError(t, uuid.Validate(rot.AccessKeyID))
	// The same keys again change nothing.
	before := len(h.streamEvents("device-" + d.UserDeviceID))
	r = h.do("PUT", path, rootKey, map[string]any{"deviceType": "Android", "makeModel": "Pixel 9", "displayName": "work phone",
		"publicKey": pub2, "encryptionPublicKey": enc2})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, rot.AccessKeyID, decodeDevice(t, r).AccessKeyID)
	assert.Len(t, h.streamEvents("device-"+d.UserDeviceID), before)

	deleted := h.do("DELETE", path, rootKey, nil)
	require.Equal(t, http.StatusOK, deleted.Status, deleted.Error)
	assert.Equal(t, "deleted", decodeDevice(t, deleted).TypeState)
	assert.Equal(t, http.StatusNotFound, h.do("GET", path, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", path, rootKey, deviceBody("x", "", "")).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", path, rootKey, nil).Status)
	ids, _ = h.deviceList(rootKey, userID, "")
	assert.Equal(t, []string{second.UserDeviceID}, ids)
	u = decodeUser(t, h.do("GET", "/users/"+userID, rootKey, nil))
	assert.Equal(t, []string{second.UserDeviceID}, u.DeviceIDs)

	// Unknown ids and bad ids.
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+userID+"/devices/"+uuid.NewString(), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("POST", "/users/"+uuid.NewString()+"/devices", rootKey, deviceBody("x", pub, enc)).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+uuid.NewString()+"/devices", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/users/"+userID+"/devices/nope", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("POST", "/users/nope/devices", rootKey, deviceBody("x", pub, enc)).Status)
}

func TestDeviceOfAnotherUserIsNotFound(t *testing.T) {
	h := newHarness(t)
	ana := h.createUser(rootKey, userBody("Ana", nil))
	bo := h.createUser(rootKey, userBody("Bo", nil))
	d := h.provisionDevice(rootKey, ana, "Ana's phone")
	wrong := "/users/" + bo + "/devices/" + d.UserDeviceID
	assert.Equal(t, http.StatusNotFound, h.do("GET", wrong, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", wrong, rootKey, deviceBody("x", "", "")).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", wrong, rootKey, nil).Status)
	// Bo's `me` key cannot reach it either, by either path.
	boKey := h.meKey(bo)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", wrong, boKey, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("DELETE", "/users/"+ana+"/devices/"+d.UserDeviceID, boKey, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("GET", "/users/"+ana+"/devices/"+d.UserDeviceID, rootKey, nil).Status)
}

func TestDeviceKeyValidation(t *testing.T) {
	h := newHarness(t)
	userID := h.createUser(rootKey, userBody("Ana", nil))
	pub, enc := deviceKeys(t)
	zeros := base64.StdEncoding.EncodeToString(make([]byte, 32))
	short := base64.StdEncoding.EncodeToString(make([]byte, 31))
	// The identity point of Ed25519 (y = 1): small order, accepts forged
	// signatures.
	identity := make([]byte, 32)
	identity[0] = 1
	// u = 1 is of low order on Curve25519.
	lowOrder := make([]byte, 32)
	lowOrder[0] = 1
	// A non-canonical u (top bit set).
	nonCanonical, _ := base64.StdEncoding.DecodeString(enc)
	nonCanonical[31] |= 0x80
	bad := []struct {
		field, value, want string
	}{
		{"publicKey", "", "publicKey"},
		{"publicKey", "not base64!", "publicKey"},
		{"publicKey", base64.RawStdEncoding.EncodeToString(make([]byte, 32)), "publicKey"},
		{"publicKey", short, "publicKey"},
		{"publicKey", zeros, "publicKey"},
		{"publicKey", base64.StdEncoding.EncodeToString(identity), "publicKey"},
		{"publicKey", base64.URLEncoding.EncodeToString(append(make([]byte, 31), 0xff)), "publicKey"},
		{"encryptionPublicKey", "", "encryptionPublicKey"},
		{"encryptionPublicKey", short, "encryptionPublicKey"},
		{"encryptionPublicKey", zeros, "encryptionPublicKey"},
		{"encryptionPublicKey", base64.StdEncoding.EncodeToString(lowOrder), "encryptionPublicKey"},
		{"encryptionPublicKey", base64.StdEncoding.EncodeToString(nonCanonical), "encryptionPublicKey"},
		{"deviceType", "Windows", "deviceType"},
		{"deviceType", "", "deviceType"},
		{"makeModel", "", "makeModel"},
		{"displayName", "", "displayName"},
	}
	for _, c := range bad {
		body := deviceBody("phone", pub, enc)
		body[c.field] = c.value
		r := h.do("POST", "/users/"+userID+"/devices", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s=%q", c.field, c.value)
		assert.Contains(t, r.Error, c.want, "%s=%q", c.field, c.value)
	}
	// Malformed bodies.
	for body, field := range map[string]string{
		`{"deviceType":"iOS","makeModel":"x","displayName":"x","publicKey":1}`: "publicKey",
		`{"deviceType":"iOS","color":"red"}`:                                   "color",
		`[]`:                                                                   "body",
	} {
		r := h.do("POST", "/users/"+userID+"/devices", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, field, body)
	}
	// The same checks on PUT, where a given key must be valid.
	d := h.provisionDevice(rootKey, userID, "phone")
	path := "/users/" + userID + "/devices/" + d.UserDeviceID
	for _, c := range bad {
		if c.value == "" && (c.field == "publicKey" || c.field == "encryptionPublicKey") {
			continue // an absent key keeps the registered one
		}
		body := deviceBody("phone", "", "")
		body[c.field] = c.value
		r := h.do("PUT", path, rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "PUT %s=%q", c.field, c.value)
		assert.Contains(t, r.Error, c.want, "PUT %s=%q", c.field, c.value)
	}
	assert.Equal(t, d, decodeDevice(t, h.do("GET", path, rootKey, nil)), "a refused PUT changes nothing")
}

func TestDevicePermissions(t *testing.T) {
	h := newHarness(t)
	ana := h.createUser(rootKey, userBody("Ana", nil))
	bo := h.createUser(rootKey, userBody("Bo", nil))
	boDevice := h.provisionDevice(rootKey, bo, "Bo's phone")
	boPath := "/users/" + bo + "/devices/" + boDevice.UserDeviceID

	// Ana's `me` key manages Ana's devices only.
	me := h.meKey(ana)
	d := h.provisionDevice(me, ana, "mine")
	path := "/users/" + ana + "/devices/" + d.UserDeviceID
	assert.Equal(t, http.StatusOK, h.do("GET", path, me, nil).Status)
	ids, _ := h.deviceList(me, ana, "")
	assert.Equal(t, []string{d.UserDeviceID}, ids)
	assert.Equal(t, http.StatusOK, h.do("PUT", path, me, deviceBody("renamed", "", "")).Status)
	pub, enc := deviceKeys(t)
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/users/" + bo + "/devices", deviceBody("x", pub, enc)},
		{"GET", "/users/" + bo + "/devices", nil},
		{"GET", boPath, nil},
		{"PUT", boPath, deviceBody("x", "", "")},
		{"DELETE", boPath, nil},
	} {
		assert.Equal(t, http.StatusForbidden, h.do(req.method, req.path, me, req.body).Status, "me %s %s", req.method, req.path)
	}
	assert.Equal(t, http.StatusOK, h.do("DELETE", path, me, nil).Status)

	// support reads, does not write; the lock and firmware permissions do neither.
	support := h.newKey(rootKey, perm("support"))
	assert.Equal(t, http.StatusOK, h.do("GET", boPath, support, nil).Status)
	ids, _ = h.deviceList(support, bo, "")
	assert.Equal(t, []string{boDevice.UserDeviceID}, ids)
	for _, key := range []string{support, h.newKey(rootKey, perm("provision-lock")), h.newKey(rootKey, perm("install-lock")), h.newKey(rootKey, perm("manage-firmware"))} {
		assert.Equal(t, http.StatusForbidden, h.do("POST", "/users/"+bo+"/devices", key, deviceBody("x", pub, enc)).Status)
		assert.Equal(t, http.StatusForbidden, h.do("PUT", boPath, key, deviceBody("x", "", "")).Status)
		assert.Equal(t, http.StatusForbidden, h.do("DELETE", boPath, key, nil).Status)
	}
	for _, key := range []string{h.newKey(rootKey, perm("provision-lock")), h.newKey(rootKey, perm("install-lock"))} {
		assert.Equal(t, http.StatusForbidden, h.do("GET", boPath, key, nil).Status)
		assert.Equal(t, http.StatusForbidden, h.do("GET", "/users/"+bo+"/devices", key, nil).Status)
	}
	// manage-access, even scoped to a property, manages any user's devices.
	scoped := h.newKey(rootKey, scopedPerm("manage-access", h.mkProperty(rootKey, "elsewhere")))
	assert.Equal(t, http.StatusOK, h.do("PUT", boPath, scoped, deviceBody("managed", "", "")).Status)
	assert.Equal(t, http.StatusOK, h.do("DELETE", boPath, scoped, nil).Status)
}

func TestDeviceListPaging(t *testing.T) {
	h := newHarness(t)
	userID := h.createUser(rootKey, userBody("Ana", nil))
	other := h.createUser(rootKey, userBody("Bo", nil))
	var want []string
	for range 5 {
		want = append(want, h.provisionDevice(rootKey, userID, "phone").UserDeviceID)
		h.provisionDevice(rootKey, other, "not Ana's")
	}
	var got []string
	query := "?pageSize=2"
	for pages := 0; pages < 10; pages++ {
		ids, token := h.deviceList(rootKey, userID, query)
		got = append(got, ids...)
		if pages == 0 {
			want = append(want, h.provisionDevice(rootKey, userID, "late").UserDeviceID)
		}
		if token == "" {
			break
		}
		query = "?pageSize=2&pageToken=" + token
	}
	assert.Equal(t, want, got)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/users/"+userID+"/devices?pageSize=0", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/users/"+userID+"/devices?pageToken=zz", rootKey, nil).Status)
}
