package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	for _, key := range []string{"", "wrong", strings.Repeat("k", 10_000)} {
		r := h.do("GET", "/account", key, nil)
		assert.Equal(t, http.StatusUnauthorized, r.Status)
		assert.False(t, r.Success)
		assert.NotEmpty(t, r.Error)
	}
	r := h.do("GET", "/account", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "account", r.field("type"))
}

func TestAccountUpdate(t *testing.T) {
	h := newHarness(t)
	r := h.do("PUT", "/account", rootKey, map[string]any{"displayName": "Acme Stays"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, "Acme Stays", r.field("displayName"))
	assert.Equal(t, "Acme Stays", h.do("GET", "/account", rootKey, nil).field("displayName"))

	for _, body := range []string{`{"displayName":""}`, `{"displayName":5}`, `{`, `{"displayName":"x","extra":1}`, ``} {
		r := h.do("PUT", "/account", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.NotEmpty(t, r.Error, body)
	}
	support := h.newKey(rootKey, perm("support"))
	assert.Equal(t, http.StatusForbidden, h.do("PUT", "/account", support, map[string]any{"displayName": "x"}).Status)
}

func TestAPIKeysLifecycle(t *testing.T) {
	h := newHarness(t)
	front := h.mkProperty(rootKey, "front")
	created := h.do("POST", "/accounts/keys", rootKey, map[string]any{
		"displayName": "front desk", "apiPermissions": []map[string]string{{"permission": "manage-access", "propertyId": front}},
	})
	require.Equal(t, http.StatusCreated, created.Status, created.Error)
	secret, id := created.field("apiKey"), created.field("apiKeyId")
	require.NotEmpty(t, secret)

	// The new key works at once, and cannot mint keys (not owner).
	assert.Equal(t, http.StatusOK, h.do("GET", "/account", secret, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("POST", "/accounts/keys", secret, map[string]any{"displayName": "x", "apiPermissions": []any{perm("owner")}}).Status)

	list := h.do("GET", "/accounts/keys", rootKey, nil)
	require.Equal(t, http.StatusOK, list.Status)
	assert.Contains(t, string(list.Data), id)
	assert.NotContains(t, string(list.Data), secret, "secrets are never listed")

	deleted := h.do("DELETE", "/accounts/keys/"+id, rootKey, nil)
	require.Equal(t, http.StatusOK, deleted.Status, deleted.Error)
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/account", secret, nil).Status, "a deleted key stops working at once")
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/accounts/keys/"+id, rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("DELETE", "/accounts/keys/not-a-uuid", rootKey, nil).Status)
}

func TestAPIKeyValidation(t *testing.T) {
	h := newHarness(t)
	cases := map[string]string{
		`{"displayName":"k","apiPermissions":[{"permission":"root"}]}`:                      "apiPermissions[0].permission",
		`{"displayName":"k","apiPermissions":[{"permission":"me"}]}`:                        "apiPermissions[0].userId",
		`{"displayName":"k","apiPermissions":[{"permission":"owner","propertyId":"nope"}]}`: "apiPermissions[0].propertyId",
		`{"displayName":"k","apiPermissions":[]}`:                                           "apiPermissions",
		`{"displayName":"","apiPermissions":[{"permission":"owner"}]}`:                      "displayName",
		`{"displayName":"k","apiPermissions":"owner"}`:                                      "apiPermissions",
	}
	for body, field := range cases {
		r := h.do("POST", "/accounts/keys", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, field, body)
	}
}

func TestChildAccountsAreIsolated(t *testing.T) {
	h := newHarness(t)
	childKey := h.newAccount()
	child := h.do("GET", "/account", childKey, nil)
	require.Equal(t, http.StatusOK, child.Status)
	root := h.do("GET", "/account", rootKey, nil)
	assert.NotEqual(t, root.field("accountId"), child.field("accountId"))

	children := h.do("GET", "/accounts/children", rootKey, nil)
	require.Equal(t, http.StatusOK, children.Status)
	var page struct {
		Accounts []struct {
			AccountID string `json:"accountId"`
		} `json:"accounts"`
	}
	require.NoError(t, json.Unmarshal(children.Data, &page))
	require.Len(t, page.Accounts, 1)
	assert.Equal(t, child.field("accountId"), page.Accounts[0].AccountID)

	// Neither account reaches into the other's keys.
	rootKeys := h.do("GET", "/accounts/keys", rootKey, nil)
	childKeys := h.do("GET", "/accounts/keys", childKey, nil)
	assert.NotContains(t, string(rootKeys.Data), child.field("accountId"))
	var ck struct {
		Keys []struct {
			APIKeyID string `json:"apiKeyId"`
		} `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(childKeys.Data, &ck))
	require.Len(t, ck.Keys, 1)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/accounts/keys/"+ck.Keys[0].APIKeyID, rootKey, nil).Status)
}

func TestPagingKeysIsStable(t *testing.T) {
	h := newHarness(t)
	for range 7 {
		h.newKey(rootKey, perm("support"))
	}
	seen := map[string]bool{}
	token := ""
	for pages := 0; pages < 10; pages++ {
		path := "/accounts/keys?pageSize=3"
		if token != "" {
			path += "&pageToken=" + token
		}
		r := h.do("GET", path, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var page struct {
			Keys []struct {
				APIKeyID string `json:"apiKeyId"`
			} `json:"keys"`
			PageToken string `json:"pageToken"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &page))
		for _, k := range page.Keys {
			assert.False(t, seen[k.APIKeyID], "repeated %s", k.APIKeyID)
			seen[k.APIKeyID] = true
		}
		if pages == 0 {
			h.newKey(rootKey, perm("support")) // appended while paging: still seen once
		}
		if page.PageToken == "" {
			break
		}
		token = page.PageToken
	}
	assert.Len(t, seen, 9) // bootstrap + 7 + 1
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/accounts/keys?pageSize=501", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/accounts/keys?pageToken=garbage", rootKey, nil).Status)
}

func TestOversizedBodyIs413(t *testing.T) {
	h := newHarness(t)
	body := `{"displayName":"` + strings.Repeat("a", 2<<20) + `"}`
	r := h.do("PUT", "/account", rootKey, body)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
}

func TestIdempotencyKeyRepeatsTheFirstAnswer(t *testing.T) {
	h := newHarness(t)
	send := func(key string) reply {
		req, err := http.NewRequest("POST", h.srv.URL+"/accounts/keys", strings.NewReader(`{"displayName":"k","apiPermissions":[{"permission":"support"}]}`))
		require.NoError(t, err)
		req.Header.Set("x-api-key", rootKey)
		req.Header.Set("Idempotency-Key", key)
		resp, err := h.client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var r reply
		r.Status = resp.StatusCode
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
		return r
	}
	first, again := send("retry-1"), send("retry-1")
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	require.Equal(t, http.StatusCreated, again.Status, again.Error)
	assert.Equal(t, first.field("apiKeyId"), again.field("apiKeyId"))
	assert.Equal(t, first.field("apiKey"), again.field("apiKey"), "the repeat answers the same secret")
	other := send("retry-2")
	assert.NotEqual(t, first.field("apiKeyId"), other.field("apiKeyId"))

	var page struct {
		Keys []json.RawMessage `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(h.do("GET", "/accounts/keys", rootKey, nil).Data, &page))
	assert.Len(t, page.Keys, 3, "bootstrap + two distinct requests")
	assert.Equal(t, http.StatusBadRequest, send(strings.Repeat("x", 300)).Status)
}

// A key's property scope must be one of the account's properties: another
// account's answers as a property nobody has, and nothing is created.
func TestAPIKeyScopeNamesTheAccountsOwnProperty(t *testing.T) {
	h := newHarness(t)
	childKey := h.newAccount()
	foreign := h.mkProperty(childKey, "theirs")
	before := len(h.do("GET", "/accounts/keys", rootKey, nil).Data)
	for _, p := range []string{foreign, uuid.NewString()} {
		r := h.do("POST", "/accounts/keys", rootKey, map[string]any{"displayName": "k",
			"apiPermissions": []map[string]string{{"permission": "support", "propertyId": p}}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
		assert.Equal(t, "apiPermissions[0].propertyId: no such property", r.Error)
	}
	assert.Len(t, h.do("GET", "/accounts/keys", rootKey, nil).Data, before, "no key was made")
}
