package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// propertyView is the property output as the tests read it.
type propertyView struct {
	PropertyID  string `json:"propertyId"`
	OwnerID     string `json:"ownerId"`
	DisplayName string `json:"displayName"`
	Address     *struct {
		Line1      string `json:"line1"`
		City       string `json:"city"`
		Country    string `json:"country"`
		PostalCode string `json:"postalCode"`
	} `json:"address"`
	Timezone         string   `json:"timezone"`
	AccessManagerIDs []string `json:"accessManagerIds"`
	ExternalRefs     []struct {
		ID     string `json:"id"`
		Source string `json:"source"`
	} `json:"externalRefs"`
	Type           string    `json:"type"`
	TypeState      string    `json:"typeState"`
	CreatedAt      time.Time `json:"createdAt"`
	LastModifiedAt time.Time `json:"lastModifiedAt"`
	LastModifiedBy string    `json:"lastModifiedBy"`
}

func decodeProperty(t *testing.T, r reply) propertyView {
	t.Helper()
	var p propertyView
	require.NoError(t, json.Unmarshal(r.Data, &p), "%s", r.Data)
	return p
}

// mkProperty creates a property named name with key and returns its id.
func (h *harness) mkProperty(key, name string) string {
	h.t.Helper()
	r := h.do("POST", "/properties", key, map[string]any{"displayName": name})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return r.field("propertyId")
}

// propertyIDs lists the ids of GET /properties (one page).
func (h *harness) propertyIDs(key, query string) (int, []string, string) {
	h.t.Helper()
	r := h.do("GET", "/properties"+query, key, nil)
	if r.Status != http.StatusOK {
		return r.Status, nil, ""
	}
	var page struct {
		Properties []propertyView `json:"properties"`
		PageToken  string         `json:"pageToken"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	ids := []string{}
	for _, p := range page.Properties {
		ids = append(ids, p.PropertyID)
	}
	return r.Status, ids, page.PageToken
}

// scopedPerm is a permission for one property.
func scopedPerm(p, propertyID string) map[string]string {
	return map[string]string{"permission": p, "propertyId": propertyID}
}

// mePerm is the `me` permission of a new user of the account (a key is
// scoped only to the account's own entities).
func (h *harness) mePerm() map[string]string {
	return map[string]string{"permission": "me", "userId": h.createUser(rootKey, map[string]any{"displayName": "Someone"})}
}

func TestPropertyLifecycle(t *testing.T) {
	h := newHarness(t)
	manager := h.createUser(rootKey, map[string]any{"displayName": "Manager"})
	created := h.do("POST", "/properties", rootKey, map[string]any{
		"displayName":      "Hotel Sol",
		"address":          map[string]any{"line1": "Calle Mayor 1", "city": "Madrid", "country": "ES", "postalCode": "28013"},
		"timezone":         "Europe/Madrid",
		"accessManagerIds": []string{manager},
		"externalRefs":     []map[string]any{{"id": "hotel-9", "source": "pms"}},
	})
	require.Equal(t, http.StatusCreated, created.Status, created.Error)
	p := decodeProperty(t, created)
	require.NotEmpty(t, p.PropertyID)
	assert.Equal(t, "Hotel Sol", p.DisplayName)
	require.NotNil(t, p.Address)
	assert.Equal(t, "Madrid", p.Address.City)
	assert.Equal(t, "Europe/Madrid", p.Timezone)
	assert.Equal(t, []string{manager}, p.AccessManagerIDs)
	require.Len(t, p.ExternalRefs, 1)
	assert.Equal(t, "hotel-9", p.ExternalRefs[0].ID)
	assert.Equal(t, "property", p.Type)
	assert.Equal(t, "active", p.TypeState)
	assert.False(t, p.CreatedAt.IsZero())
	assert.NotEmpty(t, p.LastModifiedBy)
	assert.Equal(t, h.do("GET", "/account", rootKey, nil).field("accountId"), p.OwnerID)

	got := h.do("GET", "/properties/"+p.PropertyID, rootKey, nil)
	require.Equal(t, http.StatusOK, got.Status, got.Error)
	assert.JSONEq(t, string(created.Data), string(got.Data))

	// PUT replaces every writable field: what is left out is cleared, and
	// the zone falls back to UTC.
	updated := h.do("PUT", "/properties/"+p.PropertyID, rootKey, map[string]any{"displayName": "Hotel Luna"})
	require.Equal(t, http.StatusOK, updated.Status, updated.Error)
	u := decodeProperty(t, updated)
	assert.Equal(t, "Hotel Luna", u.DisplayName)
	assert.Nil(t, u.Address)
	assert.Equal(t, "UTC", u.Timezone)
	assert.Equal(t, []string{}, u.AccessManagerIDs)
	assert.NotNil(t, u.ExternalRefs)
	assert.Empty(t, u.ExternalRefs)
	assert.Equal(t, p.CreatedAt, u.CreatedAt)
	assert.False(t, u.LastModifiedAt.Before(p.LastModifiedAt))

	_, ids, _ := h.propertyIDs(rootKey, "")
	assert.Equal(t, []string{p.PropertyID}, ids)

	deleted := h.do("DELETE", "/properties/"+p.PropertyID, rootKey, nil)
	require.Equal(t, http.StatusOK, deleted.Status, deleted.Error)
	assert.Equal(t, p.PropertyID, deleted.field("propertyId"))
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/properties/"+p.PropertyID, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", "/properties/"+p.PropertyID, rootKey, map[string]any{"displayName": "x"}).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/properties/"+p.PropertyID, rootKey, nil).Status)
	_, ids, _ = h.propertyIDs(rootKey, "")
	assert.Empty(t, ids)
}

func TestPropertyValidation(t *testing.T) {
	h := newHarness(t)
	id := h.mkProperty(rootKey, "Hotel Sol")
	cases := map[string]string{
		`{"displayName":"p","timezone":"Europe/Atlantis"}`: "timezone",
		`{"displayName":"p","timezone":"Local"}`:           "timezone",
		`{"timezone":"UTC"}`:                               "displayName",
		`{"displayName":"  "}`:                             "displayName",
		`{"displayName":5}`:                                "displayName",
		`{"displayName":"p","extra":1}`:                    "extra",
		`{"displayName":"p","accessManagerIds":["nope"]}`:  "accessManagerIds[0]",
		`{"displayName":"p","accessManagerIds":["7a449a59-a391-420d-b4a5-6e67e36da39d",""]}`: "accessManagerIds[1]",
		`{"displayName":"p","address":{"line1":"x","country":"ES"}}`:                         "address.city",
		`{"displayName":"p","address":{"line1":"x","city":"y","country":"ES","zip":1}}`:      "zip",
		`{"displayName":"p","externalRefs":[{"source":"pms"}]}`:                              "externalRefs[0].id",
		`{"displayName":"p"`: "body",
		``:                   "body",
	}
	for body, field := range cases {
		for _, req := range []struct{ method, path string }{{"POST", "/properties"}, {"PUT", "/properties/" + id}} {
			r := h.do(req.method, req.path, rootKey, body)
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s", req.method, body)
			assert.Contains(t, r.Error, field, "%s %s", req.method, body)
		}
	}
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		r := h.do(method, "/properties/not-a-uuid", rootKey, `{"displayName":"p"}`)
		assert.Equal(t, http.StatusBadRequest, r.Status, method)
		assert.Contains(t, r.Error, "propertyId", method)
	}
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/properties/"+uuid.NewString(), rootKey, nil).Status)
	_, ids, _ := h.propertyIDs(rootKey, "")
	assert.Equal(t, []string{id}, ids, "no refused request created anything")
}

func TestPropertyListScopeAndPaging(t *testing.T) {
	h := newHarness(t)
	var all []string
	for range 5 {
		all = append(all, h.mkProperty(rootKey, "p"))
	}
	seen := []string{}
	token := ""
	for range 5 {
		q := "?pageSize=2"
		if token != "" {
			q += "&pageToken=" + token
		}
		status, ids, next := h.propertyIDs(rootKey, q)
		require.Equal(t, http.StatusOK, status)
		seen = append(seen, ids...)
		if next == "" {
			break
		}
		token = next
	}
	assert.Equal(t, all, seen)

	scoped := h.newKey(rootKey, scopedPerm("support", all[1]), scopedPerm("install-lock", all[3]))
	_, ids, _ := h.propertyIDs(scoped, "")
	assert.Equal(t, []string{all[1], all[3]}, ids)
	status, _, _ := h.propertyIDs(h.newKey(rootKey, h.mePerm()), "")
	assert.Equal(t, http.StatusForbidden, status, "a `me` key reads no properties")
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/properties?pageSize=0", rootKey, nil).Status)
}

func TestPropertyPermissions(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "mine")
	other := h.mkProperty(rootKey, "other")
	body := map[string]any{"displayName": "renamed"}
	keys := map[string]string{
		"owner":                 rootKey,
		"manage-access":         h.newKey(rootKey, perm("manage-access")),
		"manage-access@p":       h.newKey(rootKey, scopedPerm("manage-access", p)),
		"manage-access@other":   h.newKey(rootKey, scopedPerm("manage-access", other)),
		"support":               h.newKey(rootKey, perm("support")),
		"provision-lock":        h.newKey(rootKey, perm("provision-lock")),
		"install-lock@p":        h.newKey(rootKey, scopedPerm("install-lock", p)),
		"manage-firmware@other": h.newKey(rootKey, scopedPerm("manage-firmware", other)),
		"me":                    h.newKey(rootKey, h.mePerm()),
	}
	type want struct{ create, get, update int }
	cases := map[string]want{
		"owner":                 {http.StatusCreated, http.StatusOK, http.StatusOK},
		"manage-access":         {http.StatusCreated, http.StatusOK, http.StatusOK},
		"manage-access@p":       {http.StatusForbidden, http.StatusOK, http.StatusOK},
		"manage-access@other":   {http.StatusForbidden, http.StatusNotFound, http.StatusNotFound},
		"support":               {http.StatusForbidden, http.StatusOK, http.StatusForbidden},
		"provision-lock":        {http.StatusForbidden, http.StatusOK, http.StatusForbidden},
		"install-lock@p":        {http.StatusForbidden, http.StatusOK, http.StatusForbidden},
		"manage-firmware@other": {http.StatusForbidden, http.StatusNotFound, http.StatusNotFound},
		"me":                    {http.StatusForbidden, http.StatusForbidden, http.StatusForbidden},
	}
	for name, w := range cases {
		k := keys[name]
		assert.Equal(t, w.create, h.do("POST", "/properties", k, body).Status, "create by %s", name)
		assert.Equal(t, w.get, h.do("GET", "/properties/"+p, k, nil).Status, "get by %s", name)
		assert.Equal(t, w.update, h.do("PUT", "/properties/"+p, k, body).Status, "update by %s", name)
		if w.update != http.StatusOK {
			assert.Equal(t, w.update, h.do("DELETE", "/properties/"+p, k, nil).Status, "delete by %s", name)
		}
	}
	// Those who may update may delete.
	for _, name := range []string{"manage-access@p", "manage-access", "owner"} {
		target := p
		if name != "manage-access@p" {
			target = h.mkProperty(rootKey, "doomed")
		}
		r := h.do("DELETE", "/properties/"+target, keys[name], nil)
		assert.Equal(t, http.StatusOK, r.Status, "delete by %s: %s", name, r.Error)
	}
}

func TestPropertyCrossAccount(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "root's")
	tenant := h.newAccount()
	mine := h.mkProperty(tenant, "tenant's")
	for _, key := range []string{tenant, rootKey} {
		target := p
		if key == rootKey {
			target = mine
		}
		assert.Equal(t, http.StatusNotFound, h.do("GET", "/properties/"+target, key, nil).Status)
		assert.Equal(t, http.StatusNotFound, h.do("PUT", "/properties/"+target, key, map[string]any{"displayName": "x"}).Status)
		assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/properties/"+target, key, nil).Status)
	}
	_, ids, _ := h.propertyIDs(tenant, "")
	assert.Equal(t, []string{mine}, ids)
	_, ids, _ = h.propertyIDs(rootKey, "")
	assert.Equal(t, []string{p}, ids)
	assert.Equal(t, "root's", decodeProperty(t, h.do("GET", "/properties/"+p, rootKey, nil)).DisplayName)
}

func TestPropertyDeleteWithLocks(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "Hotel Sol")
	a := h.mkArea(rootKey, p, "Room 1", "")
	l := h.provisionLock(rootKey, "front door")
	r := h.do("PUT", installPath(p, a, l.LockID), rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)

	r = h.do("DELETE", "/properties/"+p, rootKey, nil)
	assert.Equal(t, http.StatusConflict, r.Status, "a property with an installed lock stays")
	assert.NotEmpty(t, r.Error)

	r = h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=area", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, http.StatusConflict, h.do("DELETE", "/properties/"+p, rootKey, nil).Status,
		"a lock out of its area is still in the property")

	r = h.do("PUT", "/locks/"+l.LockID+"/uninstall?uninstallMode=property", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	r = h.do("DELETE", "/properties/"+p, rootKey, nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
}

// An access manager must be a user of the account: another account's user
// answers as one nobody has, on create and on update, and nothing changes.
func TestPropertyAccessManagersAreTheAccountsUsers(t *testing.T) {
	h := newHarness(t)
	foreign := h.createUser(h.newAccount(), map[string]any{"displayName": "Theirs"})
	p := h.mkProperty(rootKey, "mine")
	before := h.do("GET", "/properties/"+p, rootKey, nil)
	for _, user := range []string{foreign, uuid.NewString()} {
		r := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "p", "accessManagerIds": []string{user}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
		assert.Equal(t, "accessManagerIds[0]: no such user", r.Error)
		r = h.do("PUT", "/properties/"+p, rootKey, map[string]any{"displayName": "renamed", "accessManagerIds": []string{user}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
	}
	assert.JSONEq(t, string(before.Data), string(h.do("GET", "/properties/"+p, rootKey, nil).Data), "nothing changed")
}

// An access manager deleted since stays in the property, and a PUT that
// sends back the whole property as read still succeeds.
func TestPropertyKeepsADeletedAccessManager(t *testing.T) {
	h := newHarness(t)
	manager := h.createUser(rootKey, map[string]any{"displayName": "Manager"})
	created := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "p", "accessManagerIds": []string{manager}})
	require.Equal(t, http.StatusCreated, created.Status, created.Error)
	p := decodeProperty(t, created).PropertyID
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+manager, rootKey, nil).Status)
	r := h.do("PUT", "/properties/"+p, rootKey, map[string]any{"displayName": "renamed", "accessManagerIds": []string{manager}})
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
}

// A property's externalRefs are read as a user's and a lock's are: a
// lastSyncDate that is not an RFC 3339 date-time is a 400 naming its path
// in the words the others use, never encoding/json's, and nothing is
// recorded; a good one is kept in UTC.
func TestPropertyExternalRefDateIsNamed(t *testing.T) {
	h := newHarness(t)
	id := h.mkProperty(rootKey, "Hotel Sol")
	before := h.head()
	for _, date := range []string{"yesterday", "10000-01-01T00:00:00Z", "2024-03-01"} {
		body := map[string]any{"displayName": "x", "externalRefs": []map[string]string{
			{"id": "a", "source": "s"}, {"id": "b", "source": "s", "lastSyncDate": date}}}
		for _, req := range []struct{ method, path string }{{"POST", "/properties"}, {"PUT", "/properties/" + id}, {"POST", "/users"}} {
			r := h.do(req.method, req.path, rootKey, body)
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s %s", req.method, req.path, date)
			assert.Equal(t, "externalRefs[1].lastSyncDate: must be an RFC 3339 date-time", r.Error, "%s %s %s", req.method, req.path, date)
		}
		r := h.do("POST", "/properties/"+id+"/bookings", rootKey, map[string]any{"externalRefs": body["externalRefs"]})
		assert.Equal(t, http.StatusBadRequest, r.Status, "a booking's %s", date)
		assert.Equal(t, "externalRefs[1].lastSyncDate: must be an RFC 3339 date-time", r.Error, "a booking's %s", date)
	}
	assert.Equal(t, before, h.head(), "nothing recorded")

	r := h.do("PUT", "/properties/"+id, rootKey, map[string]any{"displayName": "Hotel Sol", "externalRefs": []map[string]string{
		{"id": "a", "source": "s", "lastSyncDate": "2024-03-01T12:00:00+01:00"}}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var doc struct {
		ExternalRefs []map[string]string `json:"externalRefs"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &doc))
	assert.Equal(t, []map[string]string{{"id": "a", "source": "s", "lastSyncDate": "2024-03-01T11:00:00Z"}}, doc.ExternalRefs)
}
