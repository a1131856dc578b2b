package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
)

// createdKey is a key made through POST /accounts/keys: its id and secret.
type createdKey struct{ id, secret string }

func (h *harness) createdKey(name string, perms ...map[string]string) createdKey {
	h.t.Helper()
	r := h.do("POST", "/accounts/keys", rootKey, map[string]any{"displayName": name, "apiPermissions": perms})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	k := createdKey{id: r.field("apiKeyId"), secret: r.field("apiKey")}
	require.NotEmpty(h.t, k.id)
	require.NotEmpty(h.t, k.secret)
	return k
}

// listedKeys lists the ids GET /accounts/keys answers.
func (h *harness) listedKeys() []string {
	h.t.Helper()
	r := h.do("GET", "/accounts/keys?pageSize=100", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Keys []struct {
			APIKeyID string `json:"apiKeyId"`
		} `json:"keys"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	out := []string{}
	for _, k := range page.Keys {
		out = append(out, k.APIKeyID)
	}
	return out
}

// legacyKey records a key of the root account as one made before a list
// was kept from repeating a grant (APIKeyCreated, as the log holds it) and
// returns its id and secret.
func (h *harness) legacyKey(name string, perms ...map[string]string) createdKey {
	h.t.Helper()
	var grants []apikey.Permission
	for _, p := range perms {
		g := apikey.Permission{Permission: domain.Permission(p["permission"])}
		if p["propertyId"] != "" {
			g.PropertyID = uuid.MustParse(p["propertyId"])
		}
		if p["userId"] != "" {
			g.UserID = uuid.MustParse(p["userId"])
		}
		grants = append(grants, g)
	}
	id, secret := uuid.New(), commands.NewAPIKeySecret()
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	_, err := commands.Execute(h.ownerContext(), h.service.Pipeline(), commands.Aggregate[apikey.State]{Category: apikey.Category, Evolve: apikey.Evolve},
		id, "CreateApiKey", func(commands.Loaded[apikey.State], time.Time) ([]domain.Event, error) {
			return []domain.Event{apikey.APIKeyCreated{APIKeyID: id, AccountID: account, DisplayName: name,
				KeyHash: commands.HashAPIKey(secret), APIPermissions: grants}}, nil
		})
	require.NoError(h.t, err)
	h.settle()
	return createdKey{id: id.String(), secret: secret}
}

func meFor(userID string) map[string]string {
	return map[string]string{"permission": "me", "userId": userID}
}

// correlationOf reads an event's correlationId from its metadata.
func correlationOf(t testing.TB, rec eventstore.RecordedEvent) string {
	t.Helper()
	var m eventstore.Metadata
	require.NoError(t, json.Unmarshal(rec.Metadata, &m))
	return m.CorrelationID
}

// meKeysWorld: a user with two keys acting only as them (one, made before
// a list was kept from repeating a grant, holding the `me` twice), and the
// keys the deletion must leave: one acting as another user, one of another
// permission, and one holding `me` for the user beside another permission.
type meKeysWorld struct {
	user, other                     string
	phone, tablet                   createdKey // `me` for the user only
	othersPhone, support, mixedDesk createdKey
}

func (h *harness) meKeysWorld() meKeysWorld {
	h.t.Helper()
	w := meKeysWorld{
		user:  h.createUser(rootKey, map[string]any{"displayName": "Ana"}),
		other: h.createUser(rootKey, map[string]any{"displayName": "Bob"}),
	}
	w.phone = h.createdKey("Ana's phone", meFor(w.user))
	w.tablet = h.legacyKey("Ana's tablet", meFor(w.user), meFor(w.user))
	w.othersPhone = h.createdKey("Bob's phone", meFor(w.other))
	w.support = h.createdKey("helpdesk", perm("support"))
	w.mixedDesk = h.createdKey("Ana's desk", meFor(w.user), perm("support"))
	return w
}

// requireKeysDeleted checks the keys list after the user's deletion.
func (w meKeysWorld) requireKeysDeleted(h *harness) {
	t := h.t
	t.Helper()
	listed := h.listedKeys()
	assert.NotContains(t, listed, w.phone.id, "a key acting only as the user leaves the list")
	assert.NotContains(t, listed, w.tablet.id)
	for _, k := range []createdKey{w.othersPhone, w.support, w.mixedDesk} {
		assert.Contains(t, listed, k.id, "a key that does more than act as the user stays")
	}
	for _, k := range []createdKey{w.phone, w.tablet} {
		assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/accounts/keys/"+k.id, rootKey, nil).Status, "deleted already")
		assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/me", k.secret, nil).Status)
	}
	assert.Equal(t, http.StatusOK, h.do("GET", "/me", w.othersPhone.secret, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("GET", "/users/"+w.other, w.support.secret, nil).Status)
	// The mixed key acts for a deleted user: no key, as before.
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/users/"+w.other, w.mixedDesk.secret, nil).Status)
}

// Deleting a user deletes the API keys whose only use was to act as them
// (ApiKeyDeleted, under the deletion's correlationId), so they leave GET
// /accounts/keys; a key acting as someone else, one of another
// permission and one holding `me` for the user beside another permission
// stay. A repeated DELETE records nothing.
func TestDeletingAUserDeletesTheKeysActingOnlyAsThem(t *testing.T) {
	h := newHarness(t)
	w := h.meKeysWorld()
	assert.Subset(t, h.listedKeys(), []string{w.phone.id, w.tablet.id, w.othersPhone.id, w.support.id, w.mixedDesk.id})
	// Used a moment before: the server holds the key in its cache.
	require.Equal(t, http.StatusOK, h.do("GET", "/me", w.phone.secret, nil).Status)

	r := h.doKeyed("DELETE", "/users/"+w.user, rootKey, "delete-ana", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/me", w.phone.secret, nil).Status, "at once")
	w.requireKeysDeleted(h)

	// The key's own stream says why: its deletion carries the user
	// deletion's correlationId.
	userEvents := h.streamEvents(user.Category + "-" + w.user)
	deleted := userEvents[len(userEvents)-1]
	require.Equal(t, (user.UserDeleted{}).EventType(), deleted.Type)
	for _, k := range []createdKey{w.phone, w.tablet} {
		recs := h.streamEvents(apikey.Category + "-" + k.id)
		require.Len(t, recs, 2)
		assert.Equal(t, (apikey.APIKeyDeleted{}).EventType(), recs[1].Type)
		assert.Equal(t, correlationOf(t, deleted), correlationOf(t, recs[1]))
	}
	for _, k := range []createdKey{w.othersPhone, w.support, w.mixedDesk} {
		assert.Len(t, h.streamEvents(apikey.Category+"-"+k.id), 1, "left alone")
	}

	h.requireRepeatedDeleteRecordsNothing("/users/"+w.user, "delete-ana")
	w.requireKeysDeleted(h)
}

// A deletion interrupted after UserDeleted, one of the user's keys
// deleted and the other not, is finished by the repeated DELETE (404).
func TestInterruptedUserDeletionDeletesTheKeysOnTheRepeat(t *testing.T) {
	h := newHarness(t)
	w := h.meKeysWorld()
	// Used a moment before: the server holds the key in its cache.
	require.Equal(t, http.StatusOK, h.do("GET", "/me", w.tablet.secret, nil).Status)
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	p := h.service.Pipeline()
	_, err := commands.Run(ctx, p, commands.Aggregate[user.State]{Category: user.Category, Evolve: user.Evolve},
		uuid.MustParse(w.user), "DeleteUser", user.Delete{})
	require.NoError(t, err)
	_, err = commands.Run(ctx, p, commands.Aggregate[apikey.State]{Category: apikey.Category, Evolve: apikey.Evolve},
		uuid.MustParse(w.phone.id), "DeleteUser", apikey.DeleteWithUser{UserID: uuid.MustParse(w.user)})
	require.NoError(t, err)
	h.settle()
	listed := h.listedKeys()
	assert.NotContains(t, listed, w.phone.id)
	assert.Contains(t, listed, w.tablet.id, "the interrupted deletion left it")

	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/users/"+w.user, rootKey, nil).Status)
	// The key the repeat deleted stops working at once, though it answered
	// 404.
	assert.Equal(t, http.StatusUnauthorized, h.do("GET", "/me", w.tablet.secret, nil).Status, "at once")
	h.settle()
	w.requireKeysDeleted(h)
	assert.Len(t, h.streamEvents(apikey.Category+"-"+w.phone.id), 2, "deleted once")

	head := h.headPosition()
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/users/"+w.user, rootKey, nil).Status)
	h.settle()
	assert.Equal(t, head, h.headPosition(), "nothing left to do")
}

// A key cannot be made to act as a deleted user: POST /accounts/keys
// with `me` for them is a 422 naming the field.
func TestNoKeyForADeletedUser(t *testing.T) {
	h := newHarness(t)
	u := h.createUser(rootKey, map[string]any{"displayName": "Ana"})
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+u, rootKey, nil).Status)
	r := h.do("POST", "/accounts/keys", rootKey, map[string]any{"displayName": "late", "apiPermissions": []any{meFor(u)}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
	assert.Contains(t, r.Error, "apiPermissions[0].userId")
}
