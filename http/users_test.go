package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/eventstore"
)

// userOut is the user output as the tests read it.
type userOut struct {
	UserID          string              `json:"userId"`
	DisplayName     string              `json:"displayName"`
	UserPermissions []map[string]string `json:"userPermissions"`
	DeviceIDs       []string            `json:"deviceIds"`
	ExternalRefs    []map[string]any    `json:"externalRefs"`
	Private         *struct {
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		Email       string `json:"email"`
		PhoneNumber string `json:"phoneNumber"`
	} `json:"private"`
	SealedPrivate  string `json:"sealedPrivate"`
	Type           string `json:"type"`
	TypeState      string `json:"typeState"`
	CreatedAt      string `json:"createdAt"`
	LastModifiedAt string `json:"lastModifiedAt"`
	LastModifiedBy string `json:"lastModifiedBy"`
}

func decodeUser(t *testing.T, r reply) userOut {
	t.Helper()
	var u userOut
	require.NoError(t, json.Unmarshal(r.Data, &u), "%s", r.Data)
	return u
}

// anaPrivate is personal data the tests look for in the clear.
var anaPrivate = map[string]string{
	"firstName": "Ana", "lastName": "Quintanilla-Secret", "email": "ana.q@example.org", "phoneNumber": "+34 600 123 456",
}

func userBody(name string, private map[string]string) map[string]any {
	b := map[string]any{"displayName": name}
	if private != nil {
		b["private"] = private
	}
	return b
}

// createUser makes a user with key and returns its id.
func (h *harness) createUser(key string, body map[string]any) string {
	h.t.Helper()
	r := h.do("POST", "/users", key, body)
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	id := r.field("userId")
	require.NotEmpty(h.t, id)
	return id
}

// meKey is a key acting for the user.
func (h *harness) meKey(userID string) string {
	h.t.Helper()
	return h.newKey(rootKey, map[string]string{"permission": "me", "userId": userID})
}

// streamEvents reads a stream of the log as stored.
func (h *harness) streamEvents(stream string) []eventstore.RecordedEvent {
	h.t.Helper()
	recs, err := h.store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{Max: 1000})
	require.NoError(h.t, err)
	return recs
}

func TestUserLifecycle(t *testing.T) {
	h := newHarness(t)
	created := h.do("POST", "/users", rootKey, map[string]any{
		"displayName":     "Ana",
		"userPermissions": []map[string]string{{"permission": "support", "propertyId": h.mkProperty(rootKey, "Ana's")}},
		"externalRefs":    []map[string]string{{"id": "guest-7", "source": "pms", "lastSyncDate": "2024-03-01T12:00:00+01:00"}},
		"private":         anaPrivate,
	})
	require.Equal(t, http.StatusCreated, created.Status, created.Error)
	u := decodeUser(t, created)
	id := u.UserID
	assert.Equal(t, "Ana", u.DisplayName)
	assert.Equal(t, "user", u.Type)
	assert.Equal(t, "active", u.TypeState)
	assert.NotEmpty(t, u.CreatedAt)
	assert.Equal(t, []string{}, u.DeviceIDs)
	require.Len(t, u.UserPermissions, 1)
	assert.Equal(t, "support", u.UserPermissions[0]["permission"])
	require.Len(t, u.ExternalRefs, 1)
	assert.Equal(t, "2024-03-01T11:00:00Z", u.ExternalRefs[0]["lastSyncDate"], "instants are kept in UTC")
	require.NotNil(t, u.Private, "the creator (owner) sees private")
	assert.Equal(t, "ana.q@example.org", u.Private.Email)
	assert.Empty(t, u.SealedPrivate, "the sealed text never leaves the server")

	got := decodeUser(t, h.do("GET", "/users/"+id, rootKey, nil))
	require.NotNil(t, got.Private)
	assert.Equal(t, "Quintanilla-Secret", got.Private.LastName)

	// PUT replaces every writable field: the refs and the permissions go.
	updated := h.do("PUT", "/users/"+id, rootKey, map[string]any{
		"displayName": "Ana M.", "private": map[string]string{"firstName": "Ana", "email": "ana@example.org"},
	})
	require.Equal(t, http.StatusOK, updated.Status, updated.Error)
	u = decodeUser(t, updated)
	assert.Equal(t, "Ana M.", u.DisplayName)
	assert.Empty(t, u.ExternalRefs)
	assert.Empty(t, u.UserPermissions)
	require.NotNil(t, u.Private)
	assert.Equal(t, "ana@example.org", u.Private.Email)
	assert.Empty(t, u.Private.LastName)

	// The same PUT again records nothing, although sealing is randomised.
	before := len(h.streamEvents("user-" + id))
	again := h.do("PUT", "/users/"+id, rootKey, map[string]any{
		"displayName": "Ana M.", "private": map[string]string{"firstName": "Ana", "email": "ana@example.org"},
	})
	require.Equal(t, http.StatusOK, again.Status, again.Error)
	assert.Len(t, h.streamEvents("user-"+id), before)

	// Without private, the personal data is removed.
	cleared := decodeUser(t, h.do("PUT", "/users/"+id, rootKey, map[string]any{"displayName": "Ana M."}))
	assert.Nil(t, cleared.Private)

	deleted := h.do("DELETE", "/users/"+id, rootKey, nil)
	require.Equal(t, http.StatusOK, deleted.Status, deleted.Error)
	d := decodeUser(t, deleted)
	assert.Equal(t, id, d.UserID)
	assert.Equal(t, "deleted", d.TypeState)
	assert.Nil(t, d.Private)

	assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+id, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", "/users/"+id, rootKey, userBody("x", nil)).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/users/"+id, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+uuid.NewString(), rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/users/not-a-uuid", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("DELETE", "/users/not-a-uuid", rootKey, nil).Status)
}

func TestUserValidation(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(rootKey, userBody("Bo", nil))
	cases := map[string]string{
		`{}`:                 "displayName",
		`{"displayName":""}`: "displayName",
		`{"displayName":5}`:  "displayName",
		`{"displayName":"x","userId":"` + id + `"}`:                                               "userId",
		`{"displayName":"x","userPermissions":[{"permission":"root"}]}`:                           "userPermissions[0].permission",
		`{"displayName":"x","userPermissions":[{"permission":"me"}]}`:                             "userPermissions[0].userId",
		`{"displayName":"x","userPermissions":[{"permission":"me","userId":"nope"}]}`:             "userPermissions[0].userId",
		`{"displayName":"x","userPermissions":[{"permission":"owner","userId":"` + id + `"}]}`:    "userPermissions[0].userId",
		`{"displayName":"x","externalRefs":[{"id":"x","source":"s","lastSyncDate":"yesterday"}]}`: "externalRefs[0].lastSyncDate",
		`{"displayName":"x","externalRefs":[{"id":"x"}]}`:                                         "externalRefs[0].source",
		`{"displayName":"x","private":{"email":"not an address"}}`:                                "private.email",
		`{"displayName":"x","private":{"email":"a@b@c"}}`:                                         "private.email",
		`{"displayName":"x","private":{"phoneNumber":"call me"}}`:                                 "private.phoneNumber",
		`{"displayName":"x","private":{"firstName":"` + strings.Repeat("a", 201) + `"}}`:          "private.firstName",
		`{"displayName":"x","private":{"middleName":"y"}}`:                                        "middleName",
		`{"displayName":"x","private":{"lastName":7}}`:                                            "private.lastName",
		`{"displayName":"x","private":"Ana"}`:                                                     "private",
		`{"displayName":"x"`:                                                                      "body",
	}
	for body, field := range cases {
		for _, req := range []struct{ method, path string }{{"POST", "/users"}, {"PUT", "/users/" + id}} {
			r := h.do(req.method, req.path, rootKey, body)
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s", req.method, body)
			assert.Contains(t, r.Error, field, "%s %s", req.method, body)
		}
	}
}

func TestUserPermissions(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(rootKey, userBody("Ana", anaPrivate))
	other := h.createUser(rootKey, userBody("Bo", anaPrivate))
	scoped := scopedPerm("manage-access", h.mkProperty(rootKey, "elsewhere"))
	keys := map[string]string{
		"provision-lock":         h.newKey(rootKey, perm("provision-lock")),
		"install-lock":           h.newKey(rootKey, perm("install-lock")),
		"manage-firmware":        h.newKey(rootKey, perm("manage-firmware")),
		"support":                h.newKey(rootKey, perm("support")),
		"manage-access":          h.newKey(rootKey, perm("manage-access")),
		"manage-access@property": h.newKey(rootKey, scoped),
		"me":                     h.meKey(id),
	}
	type want struct{ read, private, write int }
	wants := map[string]want{
		"provision-lock":         {http.StatusForbidden, 0, http.StatusForbidden},
		"install-lock":           {http.StatusForbidden, 0, http.StatusForbidden},
		"manage-firmware":        {http.StatusForbidden, 0, http.StatusForbidden},
		"support":                {http.StatusOK, 0, http.StatusForbidden},
		"manage-access":          {http.StatusOK, 1, http.StatusOK},
		"manage-access@property": {http.StatusOK, 1, http.StatusOK},
		"me":                     {http.StatusOK, 1, http.StatusForbidden},
	}
	for name, key := range keys {
		w := wants[name]
		r := h.do("GET", "/users/"+id, key, nil)
		assert.Equal(t, w.read, r.Status, "%s GET", name)
		if r.Status == http.StatusOK {
			u := decodeUser(t, r)
			assert.Equal(t, w.private == 1, u.Private != nil, "%s sees private: %s", name, r.Data)
			assert.NotContains(t, string(r.Data), "sealedPrivate", name)
			if w.private == 0 {
				assert.NotContains(t, string(r.Data), "Quintanilla", name)
			}
		}
		assert.Equal(t, w.write, h.do("PUT", "/users/"+id, key, userBody("Ana", anaPrivate)).Status, "%s PUT", name)
		if w.write == http.StatusOK {
			assert.Equal(t, http.StatusCreated, h.do("POST", "/users", key, userBody("New", nil)).Status, "%s POST", name)
		} else {
			assert.Equal(t, w.write, h.do("POST", "/users", key, userBody("New", nil)).Status, "%s POST", name)
			assert.Equal(t, w.write, h.do("DELETE", "/users/"+id, key, nil).Status, "%s DELETE", name)
		}
	}
	// `me` reads only its own user.
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/users/"+other, keys["me"], nil).Status)
	// Only an account-wide owner makes owners.
	ownerUser := map[string]any{"displayName": "Boss", "userPermissions": []map[string]string{perm("owner")}}
	assert.Equal(t, http.StatusForbidden, h.do("POST", "/users", keys["manage-access"], ownerUser).Status)
	bossID := h.createUser(rootKey, ownerUser)
	assert.Equal(t, http.StatusForbidden, h.do("PUT", "/users/"+bossID, keys["manage-access"], userBody("Boss", nil)).Status)
	assert.Equal(t, http.StatusForbidden, h.do("DELETE", "/users/"+bossID, keys["manage-access"], nil).Status)
	// A manage-access key deletes an ordinary user.
	assert.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+other, keys["manage-access"], nil).Status)
}

func TestGetMe(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(rootKey, userBody("Ana", anaPrivate))
	me := h.meKey(id)
	r := h.do("GET", "/me", me, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	u := decodeUser(t, r)
	assert.Equal(t, id, u.UserID)
	require.NotNil(t, u.Private, "the user sees their own personal data")
	assert.Equal(t, "Ana", u.Private.FirstName)

	assert.Equal(t, http.StatusNotFound, h.do("GET", "/me", rootKey, nil).Status, "an owner key acts for no user")
	gone := h.createUser(rootKey, map[string]any{"displayName": "Gone"})
	goneKey := h.meKey(gone)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+gone, rootKey, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/me", goneKey, nil).Status, "a key acting for a user that no longer exists")
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/me", "", nil).Status)

	// A `me` key cannot name another account's user: minting one answers
	// as for a user nobody has.
	childKey := h.newAccount()
	childUser := h.createUser(childKey, userBody("Cy", nil))
	for _, user := range []string{childUser, uuid.NewString()} {
		r := h.do("POST", "/accounts/keys", rootKey, map[string]any{"displayName": "k",
			"apiPermissions": []map[string]string{{"permission": "me", "userId": user}}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
		assert.Equal(t, "apiPermissions[0].userId: no such user", r.Error)
	}

	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+id, rootKey, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/me", me, nil).Status)
}

func TestUserCrossAccount(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(rootKey, userBody("Ana", anaPrivate))
	pub, enc := deviceKeys(t)
	dev := h.do("POST", "/users/"+id+"/devices", rootKey, deviceBody("Ana's phone", pub, enc))
	require.Equal(t, http.StatusCreated, dev.Status, dev.Error)
	devID := dev.field("userDeviceId")

	other := h.newAccount()
	pub2, enc2 := deviceKeys(t)
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/users/" + id, nil},
		{"PUT", "/users/" + id, userBody("Mallory", nil)},
		{"DELETE", "/users/" + id, nil},
		{"POST", "/users/" + id + "/devices", deviceBody("evil", pub2, enc2)},
		{"GET", "/users/" + id + "/devices", nil},
		{"GET", "/users/" + id + "/devices/" + devID, nil},
		{"PUT", "/users/" + id + "/devices/" + devID, deviceBody("evil", "", "")},
		{"DELETE", "/users/" + id + "/devices/" + devID, nil},
	} {
		r := h.do(req.method, req.path, other, req.body)
		assert.Equal(t, http.StatusNotFound, r.Status, "%s %s", req.method, req.path)
		assert.Empty(t, r.Data, "%s %s", req.method, req.path)
		assert.NotContains(t, r.Error, "Ana", "%s %s", req.method, req.path)
	}
	// Nothing changed.
	u := decodeUser(t, h.do("GET", "/users/"+id, rootKey, nil))
	assert.Equal(t, "Ana", u.DisplayName)
	assert.Equal(t, []string{devID}, u.DeviceIDs)
	assert.Equal(t, "Ana's phone", h.do("GET", "/users/"+id+"/devices/"+devID, rootKey, nil).field("displayName"))
}

func TestUserDeletionErasesPersonalData(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(rootKey, userBody("Ana", anaPrivate))
	uid := uuid.MustParse(id)
	// One more version of the personal data, in a second event.
	changed := map[string]string{"firstName": "Ana", "lastName": "Quintanilla-Secret", "email": "ana.new@example.org"}
	require.Equal(t, http.StatusOK, h.do("PUT", "/users/"+id, rootKey, userBody("Ana", changed)).Status)
	var devIDs []string
	for range 2 {
		pub, enc := deviceKeys(t)
		r := h.do("POST", "/users/"+id+"/devices", rootKey, deviceBody("phone", pub, enc))
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		devIDs = append(devIDs, r.field("userDeviceId"))
	}

	// The log holds the personal data only sealed, and it opens before the
	// deletion.
	var sealed []string
	for _, rec := range h.streamEvents("user-" + id) {
		for _, secret := range []string{"Quintanilla", "ana.q@example.org", "ana.new@example.org", "600 123"} {
			assert.NotContains(t, string(rec.Data), secret, "%s holds personal data in the clear", rec.Type)
		}
		var e struct {
			SealedPrivate string `json:"sealedPrivate"`
		}
		require.NoError(t, json.Unmarshal(rec.Data, &e))
		if e.SealedPrivate != "" {
			sealed = append(sealed, e.SealedPrivate)
		}
	}
	require.Len(t, sealed, 2)
	for _, s := range sealed {
		plain, err := h.personal.Open(context.Background(), uid, s)
		require.NoError(t, err)
		assert.Contains(t, string(plain), "Quintanilla-Secret")
	}

	r := h.do("DELETE", "/users/"+id, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)

	// Every old event's personal data is now unreadable.
	for _, s := range sealed {
		_, err := h.personal.Open(context.Background(), uid, s)
		assert.True(t, errors.Is(err, personaldata.ErrErased), "sealed data still opens: %v", err)
	}
	// Nothing in the whole log or the read models holds it in the clear.
	all, err := h.store.ReadAll(context.Background(), 0, 10_000, eventstore.Filter{})
	require.NoError(t, err)
	for _, rec := range all {
		assert.NotContains(t, string(rec.Data), "Quintanilla", rec.Type)
	}
	// The devices went with the user.
	for _, d := range devIDs {
		assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+id+"/devices/"+d, rootKey, nil).Status)
		recs := h.streamEvents("device-" + d)
		assert.Equal(t, "UserDeviceDeprovisioned", recs[len(recs)-1].Type)
	}
	recs := h.streamEvents("user-" + id)
	assert.Equal(t, "UserDeleted", recs[len(recs)-1].Type)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+id+"/devices", rootKey, nil).Status)
}

// A user's permission scopes name the account's own property and user:
// another account's answers as one nobody has, and nothing is recorded. A
// scope the user already holds stays valid after its property is deleted
// (a deletion takes it out of the list, but one interrupted, or made
// before deletions did, left it), so a PUT sending back the user as read
// succeeds.
func TestUserPermissionScopesNameTheAccountsOwn(t *testing.T) {
	h := newHarness(t)
	foreign := h.mkProperty(h.newAccount(), "theirs")
	before := h.head()
	for _, p := range []string{foreign, uuid.NewString()} {
		r := h.do("POST", "/users", rootKey, map[string]any{"displayName": "Ana",
			"userPermissions": []map[string]string{{"permission": "support", "propertyId": p}}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
		assert.Equal(t, "userPermissions[0].propertyId: no such property", r.Error)
	}
	r := h.do("POST", "/users", rootKey, map[string]any{"displayName": "Ana",
		"userPermissions": []map[string]string{{"permission": "me", "userId": uuid.NewString()}}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
	assert.Equal(t, "userPermissions[0].userId: no such user", r.Error)
	assert.Equal(t, before, h.head(), "nothing recorded")

	kept := h.mkProperty(rootKey, "soon gone")
	id := h.createUser(rootKey, map[string]any{"displayName": "Ana",
		"userPermissions": []map[string]string{{"permission": "support", "propertyId": kept}}})
	h.recordPropertyDeleted(kept)
	u := decodeUser(t, h.do("GET", "/users/"+id, rootKey, nil))
	require.Len(t, u.UserPermissions, 1)
	r = h.do("PUT", "/users/"+id, rootKey, map[string]any{"displayName": "Ana B", "userPermissions": u.UserPermissions})
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
	// Only the grant held, exactly: another permission in the deleted
	// property is a new grant there.
	before = h.head()
	for _, perms := range [][]map[string]string{
		{u.UserPermissions[0], {"permission": "manage-access", "propertyId": kept}},
		{{"permission": "owner", "propertyId": kept}},
	} {
		r = h.do("PUT", "/users/"+id, rootKey, map[string]any{"displayName": "Ana B", "userPermissions": perms})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
		assert.Equal(t, fmt.Sprintf("userPermissions[%d].propertyId: the property is deleted", len(perms)-1), r.Error)
	}
	assert.Equal(t, before, h.head(), "nothing recorded")
	r = h.do("PUT", "/users/"+id, rootKey, map[string]any{"displayName": "Ana B",
		"userPermissions": []map[string]string{u.UserPermissions[0], {"permission": "support", "propertyId": foreign}}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
	assert.Equal(t, "userPermissions[1].propertyId: no such property", r.Error)
}
