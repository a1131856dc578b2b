package httpapi_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockKeys makes a lock's key pairs, as a lock would, and returns the
// public halves in standard base64.
func lockKeys(t testing.TB) (signing, encryption string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
}

// lockOut is the lock output as the tests read it.
type lockOut struct {
	LockID              string     `json:"lockId"`
	PropertyID          string     `json:"propertyId"`
	AreaID              string     `json:"areaId"`
	OwnerID             string     `json:"ownerId"`
	DisplayName         string     `json:"displayName"`
	InstallDate         *time.Time `json:"installDate"`
	PurchaseDate        *time.Time `json:"purchaseDate"`
	PublicKey           string     `json:"publicKey"`
	EncryptionPublicKey string     `json:"encryptionPublicKey"`
	Type                string     `json:"type"`
	TypeState           string     `json:"typeState"`
	CreatedAt           time.Time  `json:"createdAt"`
	LastModifiedAt      time.Time  `json:"lastModifiedAt"`
	LastModifiedBy      string     `json:"lastModifiedBy"`
	Private             *struct {
		KeyMapVersion           *int   `json:"keyMapVersion"`
		CurrentKeyMapVersion    *int   `json:"currentKeyMapVersion"`
		CurrentFirmwareVersion  string `json:"currentFirmwareVersion"`
		RequiredFirmwareVersion string `json:"requiredFirmwareVersion"`
		APIKeyID                string `json:"apiKeyId"`
		APIKey                  string `json:"apiKey"`
	} `json:"private"`
}

func decodeLock(t testing.TB, r reply) lockOut {
	t.Helper()
	var l lockOut
	require.NoError(t, json.Unmarshal(r.Data, &l), "%s", r.Data)
	return l
}

// verifySigned checks that r carries the server's Ed25519 signature over
// the exact bytes of its data value, with the key GET /keys/server gives.
func (h *harness) verifySigned(r reply) {
	h.t.Helper()
	key := h.do("GET", "/keys/server", "", nil)
	require.Equal(h.t, http.StatusOK, key.Status)
	pub, err := base64.StdEncoding.DecodeString(key.field("publicKey"))
	require.NoError(h.t, err)
	require.Len(h.t, r.Signatures, 1, "signatures of %s", r.Data)
	sig, err := base64.StdEncoding.DecodeString(r.Signatures[key.field("keyId")])
	require.NoError(h.t, err, "no signature under the server's key id")
	require.True(h.t, ed25519.Verify(pub, r.Data, sig), "bad signature over %s", r.Data)
}

// provisionLock provisions a lock and returns its output, private.apiKey
// included.
func (h *harness) provisionLock(key, name string) lockOut {
	h.t.Helper()
	pub, enc := lockKeys(h.t)
	r := h.do("POST", "/locks", key, map[string]any{"displayName": name, "publicKey": pub, "encryptionPublicKey": enc})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	h.verifySigned(r)
	return decodeLock(h.t, r)
}

// lockProperty creates a property with the caller's key.
func (h *harness) lockProperty(key string) string {
	h.t.Helper()
	r := h.do("POST", "/properties", key, map[string]any{"displayName": "Casa Azul"})
	require.Contains(h.t, []int{http.StatusOK, http.StatusCreated}, r.Status, r.Error)
	return r.field("propertyId")
}

// lockArea creates an area in a property with the caller's key.
func (h *harness) lockArea(key, propertyID string) string {
	h.t.Helper()
	r := h.do("POST", "/properties/"+propertyID+"/areas", key, map[string]any{"displayName": "Room 1", "areaType": "resident"})
	require.Contains(h.t, []int{http.StatusOK, http.StatusCreated}, r.Status, r.Error)
	return r.field("areaId")
}

// areaLockIDs reads an area's lockIds.
func (h *harness) areaLockIDs(propertyID, areaID string) []string {
	h.t.Helper()
	r := h.do("GET", "/properties/"+propertyID+"/areas/"+areaID, rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var a struct {
		LockIDs []string `json:"lockIds"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &a))
	return a.LockIDs
}

func installPath(propertyID, areaID, lockID string) string {
	return "/properties/" + propertyID + "/areas/" + areaID + "/install/" + lockID
}

// lockIDs lists the ids of GET /locks (one page).
func (h *harness) lockIDs(key, query string) (int, []string) {
	h.t.Helper()
	r := h.do("GET", "/locks"+query, key, nil)
	if r.Status != http.StatusOK {
		return r.Status, nil
	}
	var page struct {
		Locks []lockOut `json:"locks"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	ids := []string{}
	for _, l := range page.Locks {
		ids = append(ids, l.LockID)
	}
	return r.Status, ids
}

func TestLockProvisionAndGet(t *testing.T) {
	h := newHarness(t)
	account := h.do("GET", "/account", rootKey, nil).field("accountId")
	pub, enc := lockKeys(t)
	bought := "2023-05-02T10:00:00Z"
	r := h.do("POST", "/locks", rootKey, map[string]any{
		"displayName": "Front <door> & co", "publicKey": pub, "encryptionPublicKey": enc, "purchaseDate": bought,
	})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	assert.True(t, r.Success)
	h.verifySigned(r)
	l := decodeLock(t, r)
	assert.NotEmpty(t, l.LockID)
	assert.Equal(t, "Front <door> & co", l.DisplayName)
	assert.Equal(t, account, l.OwnerID)
	assert.Equal(t, pub, l.PublicKey)
	assert.Equal(t, enc, l.EncryptionPublicKey)
	assert.Equal(t, "lock", l.Type)
	assert.Equal(t, "active", l.TypeState)
	assert.Empty(t, l.PropertyID)
	assert.Nil(t, l.InstallDate)
	require.NotNil(t, l.PurchaseDate)
	assert.Equal(t, bought, l.PurchaseDate.Format(time.RFC3339))
	require.NotNil(t, l.Private)
	require.NotNil(t, l.Private.KeyMapVersion)
	assert.Zero(t, *l.Private.KeyMapVersion)
	assert.Zero(t, *l.Private.CurrentKeyMapVersion)
	assert.NotEmpty(t, l.Private.APIKeyID)
	secret := l.Private.APIKey
	require.NotEmpty(t, secret, "the lock's own key is answered once")

	got := h.do("GET", "/locks/"+l.LockID, rootKey, nil)
	require.Equal(t, http.StatusOK, got.Status, got.Error)
	h.verifySigned(got)
	g := decodeLock(t, got)
	assert.Equal(t, l.LockID, g.LockID)
	require.NotNil(t, g.Private)
	assert.Equal(t, l.Private.APIKeyID, g.Private.APIKeyID)
	assert.Empty(t, g.Private.APIKey, "the secret is shown only when provisioned")
	assert.NotContains(t, string(got.Data), secret)

	// The lock's own key is a key of the account, listed with its lock,
	// and it opens no route but the lock's sync.
	keys := h.do("GET", "/accounts/keys", rootKey, nil)
	assert.Contains(t, string(keys.Data), `"lockId":"`+l.LockID+`"`)
	assert.NotContains(t, string(keys.Data), secret)
	for _, path := range []string{"/locks", "/locks/" + l.LockID, "/account", "/accounts/keys"} {
		assert.Equal(t, http.StatusForbidden, h.do("GET", path, secret, nil).Status, path)
	}
	assert.Equal(t, http.StatusForbidden, h.do("DELETE", "/locks/"+l.LockID, secret, nil).Status)

	status, ids := h.lockIDs(rootKey, "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{l.LockID}, ids)

	assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/7a449a59-a391-420d-b4a5-6e67e36da39d", rootKey, nil).Status)
	bad := h.do("GET", "/locks/not-a-uuid", rootKey, nil)
	assert.Equal(t, http.StatusBadRequest, bad.Status)
	assert.Contains(t, bad.Error, "lockId")
}

func TestLockProvisionValidation(t *testing.T) {
	h := newHarness(t)
	pub, enc := lockKeys(t)
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"displayName": "", "publicKey": pub, "encryptionPublicKey": enc}, "displayName"},
		{map[string]any{"publicKey": pub, "encryptionPublicKey": enc}, "displayName"},
		{map[string]any{"displayName": "d", "encryptionPublicKey": enc}, "publicKey"},
		{map[string]any{"displayName": "d", "publicKey": "bm90IGEga2V5", "encryptionPublicKey": enc}, "publicKey"},
		{map[string]any{"displayName": "d", "publicKey": base64.StdEncoding.EncodeToString(make([]byte, 32)), "encryptionPublicKey": enc}, "publicKey"},
		{map[string]any{"displayName": "d", "publicKey": pub}, "encryptionPublicKey"},
		{map[string]any{"displayName": "d", "publicKey": pub, "encryptionPublicKey": "%%%"}, "encryptionPublicKey"},
		{map[string]any{"displayName": "d", "publicKey": pub, "encryptionPublicKey": enc, "purchaseDate": "yesterday"}, "purchaseDate"},
		{map[string]any{"displayName": "d", "publicKey": pub, "encryptionPublicKey": enc, "purchaseDate": future}, "purchaseDate"},
		{map[string]any{"displayName": "d", "publicKey": pub, "encryptionPublicKey": enc, "purchaseDate": 5}, "purchaseDate"},
		{map[string]any{"displayName": "d", "publicKey": pub, "encryptionPublicKey": enc, "lockId": "x"}, "lockId"},
	}
	for _, c := range cases {
		r := h.do("POST", "/locks", rootKey, c.body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%v", c.body)
		assert.Contains(t, r.Error, c.field, "%v", c.body)
	}
	assert.Equal(t, http.StatusBadRequest, h.do("POST", "/locks", rootKey, `{"displayName":`).Status)

	// A refused request leaves no key behind.
	keys := h.do("GET", "/accounts/keys", rootKey, nil)
	assert.NotContains(t, string(keys.Data), "lockId")
	status, ids := h.lockIDs(rootKey, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, ids)
}

func TestLockUpdate(t *testing.T) {
	h := newHarness(t)
	l := h.provisionLock(rootKey, "Front door")
	r := h.do("PUT", "/locks/"+l.LockID, rootKey, map[string]any{"displayName": "Back door"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	u := decodeLock(t, r)
	assert.Equal(t, "Back door", u.DisplayName)
	assert.True(t, u.LastModifiedAt.After(u.CreatedAt) || u.LastModifiedAt.Equal(u.CreatedAt))
	assert.Equal(t, "Back door", decodeLock(t, h.do("GET", "/locks/"+l.LockID, rootKey, nil)).DisplayName)

	for _, body := range []string{`{"displayName":""}`, `{"displayName":1}`, `{"displayName":"x","publicKey":"y"}`, ``} {
		r := h.do("PUT", "/locks/"+l.LockID, rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
	}
	assert.Equal(t, http.StatusBadRequest, h.do("PUT", "/locks/nope", rootKey, map[string]any{"displayName": "x"}).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", "/locks/7a449a59-a391-420d-b4a5-6e67e36da39d", rootKey, map[string]any{"displayName": "x"}).Status)
}

func TestLockInstallAndUninstall(t *testing.T) {
	h := newHarness(t)
	p := h.lockProperty(rootKey)
	a1, a2 := h.lockArea(rootKey, p), h.lockArea(rootKey, p)
	q := h.lockProperty(rootKey)
	b1 := h.lockArea(rootKey, q)
	l := h.provisionLock(rootKey, "Room 1 door")

	// The routes take no input: a field is a 400, not ignored, and
	// nothing is installed.
	bad := h.do("PUT", installPath(p, a1, l.LockID), rootKey, map[string]any{"areaId": a2})
	assert.Equal(t, http.StatusBadRequest, bad.Status)
	assert.Contains(t, bad.Error, "areaId")
	bad = h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=area", rootKey, map[string]any{"mode": "area"})
	assert.Equal(t, http.StatusBadRequest, bad.Status)
	assert.Empty(t, decodeLock(t, h.do("GET", "/locks/"+l.LockID, rootKey, nil)).AreaID)

	r := h.do("PUT", installPath(p, a1, l.LockID), rootKey, map[string]any{})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	var msg struct {
		LockID, PropertyID, AreaID string
		InstallDate                *time.Time
	}
	require.NoError(t, json.Unmarshal(r.Data, &msg))
	assert.Equal(t, l.LockID, msg.LockID)
	assert.Equal(t, p, msg.PropertyID)
	assert.Equal(t, a1, msg.AreaID)
	require.NotNil(t, msg.InstallDate)

	got := decodeLock(t, h.do("GET", "/locks/"+l.LockID, rootKey, nil))
	assert.Equal(t, p, got.PropertyID)
	assert.Equal(t, a1, got.AreaID)
	require.NotNil(t, got.InstallDate)
	assert.True(t, got.InstallDate.Equal(*msg.InstallDate))
	_, inP := h.lockIDs(rootKey, "?propertyId="+p)
	assert.Equal(t, []string{l.LockID}, inP)
	_, inQ := h.lockIDs(rootKey, "?propertyId="+q)
	assert.Empty(t, inQ)
	assert.Equal(t, []string{l.LockID}, h.areaLockIDs(p, a1), "the area lists its lock")

	// Installing again where it is changes nothing; elsewhere is a conflict.
	again := h.do("PUT", installPath(p, a1, l.LockID), rootKey, nil)
	require.Equal(t, http.StatusOK, again.Status)
	assert.Equal(t, msg.InstallDate.Format(time.RFC3339Nano), decodeInstallDate(t, again))
	assert.Equal(t, http.StatusConflict, h.do("PUT", installPath(p, a2, l.LockID), rootKey, nil).Status)
	assert.Equal(t, http.StatusConflict, h.do("PUT", installPath(q, b1, l.LockID), rootKey, nil).Status)
	assert.Equal(t, http.StatusConflict, h.do("DELETE", "/locks/"+l.LockID, rootKey, nil).Status, "an installed lock cannot be deprovisioned")

	// Areas and properties that do not match.
	assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(p, b1, l.LockID), rootKey, nil).Status, "area of another property")
	assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(p, "7a449a59-a391-420d-b4a5-6e67e36da39d", l.LockID), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath("7a449a59-a391-420d-b4a5-6e67e36da39d", a1, l.LockID), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(p, a1, "7a449a59-a391-420d-b4a5-6e67e36da39d"), rootKey, nil).Status)
	for _, path := range []string{installPath("x", a1, l.LockID), installPath(p, "x", l.LockID), installPath(p, a1, "x")} {
		assert.Equal(t, http.StatusBadRequest, h.do("PUT", path, rootKey, nil).Status, path)
	}

	// The mode is required and checked.
	for _, q := range []string{"", "?uninstallMode=", "?uninstallMode=door"} {
		r := h.do("PUT", "/locks/"+l.LockID+"/uninstall"+q, rootKey, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, q)
		assert.Contains(t, r.Error, "uninstallMode", q)
	}

	// Out of the area, still in the property.
	r = h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=area", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	assert.Equal(t, "area", r.field("uninstallMode"))
	assert.Equal(t, a1, r.field("areaId"))
	assert.Equal(t, p, r.field("propertyId"))
	assert.NotEmpty(t, r.field("uninstallDate"))
	got = decodeLock(t, h.do("GET", "/locks/"+l.LockID, rootKey, nil))
	assert.Equal(t, p, got.PropertyID)
	assert.Empty(t, got.AreaID)
	assert.Empty(t, h.areaLockIDs(p, a1))
	assert.Nil(t, got.InstallDate)
	_, inP = h.lockIDs(rootKey, "?propertyId="+p)
	assert.Equal(t, []string{l.LockID}, inP)
	assert.Equal(t, http.StatusConflict, h.do("PUT", installPath(q, b1, l.LockID), rootKey, nil).Status, "still in its property")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p, a2, l.LockID), rootKey, nil).Status)

	// Out of the property.
	r = h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=property", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	got = decodeLock(t, h.do("GET", "/locks/"+l.LockID, rootKey, nil))
	assert.Empty(t, got.PropertyID)
	assert.Empty(t, got.AreaID)
	_, inP = h.lockIDs(rootKey, "?propertyId="+p)
	assert.Empty(t, inP)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(q, b1, l.LockID), rootKey, nil).Status)

	// Released from the account: gone, and its key stops working.
	secret := l.Private.APIKey
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/account", secret, nil).Status)
	r = h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=owner", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	assert.Equal(t, "owner", r.field("uninstallMode"))
	assert.Equal(t, b1, r.field("areaId"))
	assert.Empty(t, h.areaLockIDs(q, b1))
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/"+l.LockID, rootKey, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/account", secret, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=owner", rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(q, b1, l.LockID), rootKey, nil).Status)
	_, all := h.lockIDs(rootKey, "")
	assert.Empty(t, all)
}

func decodeInstallDate(t *testing.T, r reply) string {
	t.Helper()
	var m struct {
		InstallDate time.Time `json:"installDate"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &m))
	return m.InstallDate.Format(time.RFC3339Nano)
}

func TestLockDeprovision(t *testing.T) {
	h := newHarness(t)
	p := h.lockProperty(rootKey)
	a := h.lockArea(rootKey, p)
	l := h.provisionLock(rootKey, "Gym")
	secret := l.Private.APIKey

	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p, a, l.LockID), rootKey, nil).Status)
	assert.Equal(t, http.StatusConflict, h.do("DELETE", "/locks/"+l.LockID, rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=area", rootKey, nil).Status)

	// Out of every area (still in the property): it can go.
	r := h.do("DELETE", "/locks/"+l.LockID, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, l.LockID, r.field("lockId"))
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/"+l.LockID, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/locks/"+l.LockID, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", "/locks/"+l.LockID, rootKey, map[string]any{"displayName": "x"}).Status)
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/account", secret, nil).Status, "its key stops working at once")
	keys := h.do("GET", "/accounts/keys", rootKey, nil)
	assert.NotContains(t, string(keys.Data), l.Private.APIKeyID)
	_, inP := h.lockIDs(rootKey, "?propertyId="+p)
	assert.Empty(t, inP)

	// A lock never installed goes too.
	m := h.provisionLock(rootKey, "Spare")
	require.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+m.LockID, rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("DELETE", "/locks/x", rootKey, nil).Status)
}

func TestLockPermissions(t *testing.T) {
	h := newHarness(t)
	p, q := h.lockProperty(rootKey), h.lockProperty(rootKey)
	ap, aq := h.lockArea(rootKey, p), h.lockArea(rootKey, q)
	inP, inQ, loose := h.provisionLock(rootKey, "P door"), h.provisionLock(rootKey, "Q door"), h.provisionLock(rootKey, "spare")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p, ap, inP.LockID), rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(q, aq, inQ.LockID), rootKey, nil).Status)
	pub, enc := lockKeys(t)
	newLock := map[string]any{"displayName": "d", "publicKey": pub, "encryptionPublicKey": enc}
	rename := map[string]any{"displayName": "renamed"}

	scoped := func(permission, propertyID string) string {
		return h.newKey(rootKey, map[string]string{"permission": permission, "propertyId": propertyID})
	}
	private := func(key, id string) bool {
		r := h.do("GET", "/locks/"+id, key, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		return decodeLock(t, r).Private != nil
	}

	t.Run("support reads everything, changes nothing", func(t *testing.T) {
		k := h.newKey(rootKey, perm("support"))
		assert.True(t, private(k, inP.LockID))
		assert.True(t, private(k, loose.LockID))
		_, ids := h.lockIDs(k, "")
		assert.Len(t, ids, 3)
		assert.Equal(t, http.StatusForbidden, h.do("POST", "/locks", k, newLock).Status)
		assert.Equal(t, http.StatusForbidden, h.do("PUT", "/locks/"+inP.LockID, k, rename).Status)
		assert.Equal(t, http.StatusForbidden, h.do("DELETE", "/locks/"+loose.LockID, k, nil).Status)
		assert.Equal(t, http.StatusForbidden, h.do("PUT", installPath(p, ap, loose.LockID), k, nil).Status)
		assert.Equal(t, http.StatusForbidden, h.do("PUT", "/locks/"+inP.LockID+"/uninstall?uninstallMode=area", k, nil).Status)
	})

	t.Run("manage-access reads without the private part", func(t *testing.T) {
		k := h.newKey(rootKey, perm("manage-access"))
		assert.False(t, private(k, inP.LockID))
		r := h.do("GET", "/locks", k, nil)
		require.Equal(t, http.StatusOK, r.Status)
		assert.NotContains(t, string(r.Data), `"private"`)
		assert.Equal(t, http.StatusForbidden, h.do("PUT", "/locks/"+inP.LockID, k, rename).Status)
	})

	t.Run("me sees no locks", func(t *testing.T) {
		k := h.newKey(rootKey, h.mePerm())
		assert.Equal(t, http.StatusForbidden, h.do("GET", "/locks", k, nil).Status)
		assert.Equal(t, http.StatusForbidden, h.do("GET", "/locks/"+inP.LockID, k, nil).Status)
		assert.Equal(t, http.StatusForbidden, h.do("PUT", "/locks/"+inP.LockID, k, rename).Status)
	})

	t.Run("install-lock scoped to a property", func(t *testing.T) {
		k := scoped("install-lock", p)
		assert.True(t, private(k, inP.LockID))
		_, ids := h.lockIDs(k, "")
		assert.Equal(t, []string{inP.LockID}, ids, "only its property's locks")
		_, ids = h.lockIDs(k, "?propertyId="+p)
		assert.Equal(t, []string{inP.LockID}, ids)
		status, _ := h.lockIDs(k, "?propertyId="+q)
		assert.Equal(t, http.StatusNotFound, status)
		// Outside its scope, locks do not exist for it.
		assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/"+inQ.LockID, k, nil).Status)
		assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/"+loose.LockID, k, nil).Status)
		assert.Equal(t, http.StatusNotFound, h.do("PUT", "/locks/"+inQ.LockID, k, rename).Status)
		assert.Equal(t, http.StatusNotFound, h.do("PUT", "/locks/"+inQ.LockID+"/uninstall?uninstallMode=area", k, nil).Status)
		assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(q, aq, loose.LockID), k, nil).Status)
		assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(p, ap, inQ.LockID), k, nil).Status, "a lock in another property")
		assert.Equal(t, http.StatusForbidden, h.do("POST", "/locks", k, newLock).Status)
		// Inside it: rename, uninstall, install an unassigned lock.
		assert.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+inP.LockID, k, rename).Status)
		assert.Equal(t, http.StatusForbidden, h.do("DELETE", "/locks/"+inP.LockID, k, nil).Status, "deprovisioning needs provision-lock")
		assert.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+inP.LockID+"/uninstall?uninstallMode=area", k, nil).Status)
		assert.Equal(t, http.StatusOK, h.do("PUT", installPath(p, ap, inP.LockID), k, nil).Status)
		assert.Equal(t, http.StatusOK, h.do("PUT", installPath(p, ap, loose.LockID), k, nil).Status)
		assert.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+loose.LockID+"/uninstall?uninstallMode=property", rootKey, nil).Status)
	})

	t.Run("provision-lock", func(t *testing.T) {
		k := h.newKey(rootKey, perm("provision-lock"))
		l := h.provisionLock(k, "new")
		assert.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+l.LockID, k, rename).Status)
		assert.Equal(t, http.StatusForbidden, h.do("PUT", installPath(p, ap, l.LockID), k, nil).Status)
		assert.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+l.LockID, k, nil).Status)
		// Scoped to a property, it cannot provision (new locks are in none).
		assert.Equal(t, http.StatusForbidden, h.do("POST", "/locks", scoped("provision-lock", p), newLock).Status)
	})
}

func TestLockCrossAccount(t *testing.T) {
	h := newHarness(t)
	p := h.lockProperty(rootKey)
	a := h.lockArea(rootKey, p)
	mine := h.provisionLock(rootKey, "mine")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p, a, mine.LockID), rootKey, nil).Status)
	loose := h.provisionLock(rootKey, "loose")

	other := h.newAccount()
	op := h.lockProperty(other)
	oa := h.lockArea(other, op)
	theirs := h.provisionLock(other, "theirs")

	for _, id := range []string{mine.LockID, loose.LockID} {
		assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks/"+id, other, nil).Status)
		assert.Equal(t, http.StatusNotFound, h.do("PUT", "/locks/"+id, other, map[string]any{"displayName": "x"}).Status)
		assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/locks/"+id, other, nil).Status)
		for _, mode := range []string{"area", "property", "owner"} {
			assert.Equal(t, http.StatusNotFound, h.do("PUT", "/locks/"+id+"/uninstall?uninstallMode="+mode, other, nil).Status)
		}
		assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(op, oa, id), other, nil).Status, "another account's lock")
	}
	assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(p, a, theirs.LockID), other, nil).Status, "another account's property")
	assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(p, a, theirs.LockID), rootKey, nil).Status, "another account's lock")
	assert.Equal(t, http.StatusNotFound, h.do("PUT", installPath(op, oa, loose.LockID), rootKey, nil).Status, "another account's property")
	status, _ := h.lockIDs(other, "?propertyId="+p)
	assert.Equal(t, http.StatusNotFound, status)
	_, ids := h.lockIDs(other, "")
	assert.Equal(t, []string{theirs.LockID}, ids)
	_, ids = h.lockIDs(rootKey, "")
	assert.ElementsMatch(t, []string{mine.LockID, loose.LockID}, ids)

	// Nothing changed on our side.
	got := decodeLock(t, h.do("GET", "/locks/"+mine.LockID, rootKey, nil))
	assert.Equal(t, "mine", got.DisplayName)
	assert.Equal(t, a, got.AreaID)
}

// lockPages walks GET /locks?query page by page as the owner and returns
// every lock in the order the pages gave them.
func (h *harness) lockPages(query string) []lockOut {
	h.t.Helper()
	var all []lockOut
	token := ""
	for range 100 {
		r := h.do("GET", "/locks?"+query+"&pageToken="+token, rootKey, nil)
		require.Equal(h.t, http.StatusOK, r.Status, r.Error)
		var page struct {
			Locks     []lockOut `json:"locks"`
			PageToken string    `json:"pageToken"`
		}
		require.NoError(h.t, json.Unmarshal(r.Data, &page))
		all = append(all, page.Locks...)
		if token = page.PageToken; token == "" {
			return all
		}
	}
	h.t.Fatal("GET /locks gave more than 100 pages")
	return nil
}

func TestLockListPaging(t *testing.T) {
	h := newHarness(t)
	for range 5 {
		h.provisionLock(rootKey, "l")
	}
	seen := map[string]bool{}
	for _, l := range h.lockPages("pageSize=2") {
		assert.False(t, seen[l.LockID])
		seen[l.LockID] = true
		assert.NotNil(t, l.Private, "an owner sees the private part")
	}
	assert.Len(t, seen, 5)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/locks?propertyId=nope", rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/locks?propertyId=7a449a59-a391-420d-b4a5-6e67e36da39d", rootKey, nil).Status)
}

// A name with characters JSON encoders escape (<, >, &, U+2028) reads back
// as given, signed over the exact bytes sent, whether the lock was just
// provisioned or is read from the read model.
func TestLockNameWithEscapedCharactersIsSignedAsSent(t *testing.T) {
	h := newHarness(t)
	name := "Door <A&B>\u2028east"
	l := h.provisionLock(rootKey, name)
	assert.Equal(t, name, l.DisplayName)
	r := h.do("GET", "/locks/"+l.LockID, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	h.verifySigned(r)
	assert.Equal(t, name, decodeLock(t, r).DisplayName)
	assert.NotContains(t, string(r.Data), "<", "escaped as encoding/json escapes it")
}
