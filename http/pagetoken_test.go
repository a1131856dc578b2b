package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenWorld is one account whose paged lists mostly hold two items or
// more, so that each answers a pageToken at pageSize=1.
type tokenWorld struct {
	// key is the account's owner key; lists are the paths (with their
	// query) of its paged lists, some of the same route with other path
	// ids or other filters.
	key   string
	lists []string
	// user and lock are the user in groups and the lock with logs.
	user, lock string
}

func (h *harness) buildTokenWorld() tokenWorld {
	h.t.Helper()
	t := h.t
	a := h.newAccount()
	s := h.lsScene(a) // property, area, installed lock, user with a phone in the area's group
	p2 := h.mkProperty(a, "second house")
	area2 := h.mkArea(a, s.property, "Room 102", "")
	lock2 := h.lsProvision(a, "Room 102 door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(s.property, area2, lock2.ID), a, nil).Status)
	// The user in two groups (both locks then have a key map to take, so
	// both are out of sync); the area's group with two members.
	h.grpAdd(a, s.property, h.viewArea(a, s.property, area2).AreaUserGroupID, s.user)
	h.grpAdd(a, s.property, s.group, h.grpUser(a, "Second"))
	h.provisionDevice(a, s.user, "tablet")
	c := walkClient{h: h}
	var bookings []string
	for range 2 {
		b, err := c.book(a, s.property, s.user)
		require.NoError(t, err)
		bookings = append(bookings, b)
	}
	for range 2 {
		require.Equal(t, http.StatusCreated, h.do("POST", "/bookings/"+bookings[0]+"/access-codes", a, map[string]any{}).Status)
		r := h.do("POST", "/properties/"+s.property+"/invitations", a, map[string]any{"email": uuid.NewString() + "@example.com", "role": "staff"})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		r = h.do("POST", "/accounts/register", a, map[string]any{"displayName": "child"})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		r = h.do("POST", "/accounts/webhooks", a, map[string]any{"url": "https://example.com/" + uuid.NewString(), "eventTypes": []string{"LockInstalled"}})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
	}
	hook := h.do("GET", "/accounts/webhooks", a, nil)
	require.Equal(t, http.StatusOK, hook.Status, hook.Error)
	var hooks struct {
		Webhooks []struct {
			WebhookID string `json:"webhookId"`
		} `json:"webhooks"`
	}
	require.NoError(t, json.Unmarshal(hook.Data, &hooks))
	require.NotEmpty(t, hooks.Webhooks)
	h.newKey(a, perm("support"))
	now := time.Now().UTC().Truncate(time.Minute)
	require.NoError(t, c.syncLogs(s.lock, lsEntry(s.lock.ID, s.phone, uuid.NewString(), now.Add(-2*time.Minute), "granted"),
		lsEntry(s.lock.ID, s.phone, uuid.NewString(), now.Add(-time.Minute), "granted")))
	h.settle()

	p, g, u := s.property, s.group, s.user
	return tokenWorld{key: a, user: u, lock: s.lock.ID, lists: []string{
		"/properties", areasPath(p), areasPath(p2), grpListPath(p), grpListPath(p2), grpPath(p, g) + "/users",
		"/users/" + u + "/groups", "/users/" + u + "/properties/" + p + "/groups", "/users/" + u + "/properties/" + p2 + "/groups",
		"/users/" + u + "/devices", "/locks", "/locks?propertyId=" + p, "/locks?propertyId=" + p2, "/locks?outOfSync=true&propertyId=" + p,
		"/events?eventSource=all", "/events?eventSource=all&propertyId=" + p, "/events?eventSource=lock", "/timeline/activity",
		"/timeline/activity?propertyId=" + p, "/accounts/keys", "/accounts/children", "/accounts/webhooks",
		"/accounts/webhooks/" + hooks.Webhooks[0].WebhookID + "/deliveries", "/properties/" + p + "/bookings", "/bookings",
		"/bookings?status=booked", "/bookings/" + bookings[0] + "/access-codes", "/bookings/" + bookings[1] + "/access-codes",
		"/properties/" + p + "/invitations", "/properties/" + p + "/members", "/locks/" + s.lock.ID + "/logs",
		"/locks/" + lock2.ID + "/logs", "/users/" + u + "/logs", "/properties/" + p + "/logs",
	}}
}

// withPage adds pageSize=1 and a pageToken ("" none) to a list's path.
func withPage(path, token string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	path += sep + "pageSize=1"
	if token != "" {
		path += "&pageToken=" + token
	}
	return path
}

// firstTokens reads the first page of each list at pageSize=1 and answers
// the token of each list that has a second page.
func (h *harness) firstTokens(key string, lists []string) map[string]string {
	h.t.Helper()
	tokens := map[string]string{}
	for _, path := range lists {
		r := h.do("GET", withPage(path, ""), key, nil)
		require.Equal(h.t, http.StatusOK, r.Status, "%s: %s", path, r.Error)
		if next := r.field("pageToken"); next != "" {
			tokens[path] = next
		}
	}
	return tokens
}

// assertTokenRefused checks that a token is a 400 naming pageToken on path.
func (h *harness) assertTokenRefused(key, path, token, why string) reply {
	h.t.Helper()
	r := h.do("GET", withPage(path, token), key, nil)
	assert.Equal(h.t, http.StatusBadRequest, r.Status, "%s on %s: %s", why, path, r.Data)
	assert.False(h.t, r.Success, "%s on %s", why, path)
	assert.True(h.t, strings.HasPrefix(r.Error, "pageToken: "), "%s on %s: %q", why, path, r.Error)
	return r
}

// A page token continues only the list that issued it: the same route,
// the same ids in the path, the same filters, the same account. On any
// other list it is a 400 naming pageToken, never some page of that list.
func TestPageTokenOnlyContinuesItsOwnList(t *testing.T) {
	h := newHarness(t)
	w := h.buildTokenWorld()
	tokens := h.firstTokens(w.key, w.lists)
	for _, must := range []string{"/properties", "/locks", "/events?eventSource=all", "/timeline/activity", "/accounts/webhooks",
		"/bookings", "/users/" + w.user + "/groups", "/locks/" + w.lock + "/logs", "/users/" + w.user + "/logs"} {
		require.Contains(t, tokens, must, "the world is too small for this list to have a second page")
	}
	require.GreaterOrEqual(t, len(tokens), 20, "lists with a second page: %v", tokens)

	for from, token := range tokens {
		// Its own list: the second page.
		r := h.do("GET", withPage(from, token), w.key, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s with its own token: %s", from, r.Error)
		for _, to := range w.lists {
			if to != from {
				r := h.assertTokenRefused(w.key, to, token, "a token of "+from)
				assert.Contains(t, r.Error, "another list", "a token of %s on %s", from, to)
			}
		}
	}
}

// The filters of a list are its query parameters other than pageSize and
// pageToken, in any order: the same ones in another order are the same
// list; another owner key of the account reads the same list; another
// account's same list refuses the token.
func TestPageTokenFiltersKeysAndAccounts(t *testing.T) {
	h := newHarness(t)
	w := h.buildTokenWorld()
	var outOfSync string
	for _, l := range w.lists {
		if strings.HasPrefix(l, "/locks?outOfSync=true&propertyId=") {
			outOfSync = l
		}
	}
	require.NotEmpty(t, outOfSync)
	tokens := h.firstTokens(w.key, []string{"/properties", outOfSync, "/bookings?status=booked"})
	require.Len(t, tokens, 3)

	propertyID := outOfSync[strings.LastIndex(outOfSync, "=")+1:]
	reordered := "/locks?propertyId=" + propertyID + "&outOfSync=true"
	r := h.do("GET", withPage(reordered, tokens[outOfSync]), w.key, nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
	// An id in upper case names the same entity, so the same list.
	r = h.do("GET", withPage("/locks?outOfSync=true&propertyId="+strings.ToUpper(propertyID), tokens[outOfSync]), w.key, nil)
	assert.Equal(t, http.StatusOK, r.Status, "a filter id in upper case: %s", r.Error)
	userGroups := "/users/" + w.user + "/groups"
	groupTokens := h.firstTokens(w.key, []string{userGroups})
	require.Contains(t, groupTokens, userGroups)
	r = h.do("GET", withPage("/users/"+strings.ToUpper(w.user)+"/groups", groupTokens[userGroups]), w.key, nil)
	assert.Equal(t, http.StatusOK, r.Status, "a path id in upper case: %s", r.Error)
	for _, other := range []string{"/locks?propertyId=" + propertyID + "&outOfSync=false", "/locks?propertyId=" + propertyID,
		"/locks?outOfSync=true"} {
		h.assertTokenRefused(w.key, other, tokens[outOfSync], "the token of "+outOfSync)
	}
	// A filter given twice is refused before the token is read.
	r = h.do("GET", withPage("/locks?outOfSync=true&propertyId="+propertyID+"&propertyId="+propertyID, tokens[outOfSync]), w.key, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.True(t, strings.HasPrefix(r.Error, "propertyId: "), r.Error)
	for _, other := range []string{"/bookings", "/bookings?status=cancelled", "/bookings?status=booked&status=cancelled",
		"/bookings?status=booked&startDateTime[after]=2000-01-01T00:00:00Z"} {
		h.assertTokenRefused(w.key, other, tokens["/bookings?status=booked"], "the token of /bookings?status=booked")
	}

	second := h.newKey(w.key, perm("owner"))
	r = h.do("GET", withPage("/properties", tokens["/properties"]), second, nil)
	assert.Equal(t, http.StatusOK, r.Status, "another owner key of the account: %s", r.Error)

	b := h.newAccount()
	h.mkProperty(b, "B one")
	h.mkProperty(b, "B two")
	r = h.assertTokenRefused(b, "/properties", tokens["/properties"], "another account's token")
	assert.Contains(t, r.Error, "another list")
}

// A token of an older version of the server (p1, l1, p2, l2) is a 400 that
// says to start again from the first page; one altered or forged is a 400
// too.
func TestOldAndForgedPageTokensAreA400(t *testing.T) {
	h := newHarness(t)
	w := h.buildTokenWorld()
	tokens := h.firstTokens(w.key, []string{"/properties"})
	require.Contains(t, tokens, "/properties")
	b64 := base64.RawURLEncoding.EncodeToString
	old := []string{b64([]byte("p1.1")), b64([]byte("p1.9223372036854775807")),
		b64([]byte("l1|2030-01-01T00:00:00.000000000Z|7a449a59-a391-420d-b4a5-6e67e36da39d|6f1c8e2a-0000-4000-8000-000000000001")),
		b64([]byte("p2.3022.5016ea7dd2af8fae")),
		b64([]byte("l2|2030-01-01T00:00:00.000000000Z|7a449a59-a391-420d-b4a5-6e67e36da39d|6f1c8e2a-0000-4000-8000-000000000001|5016ea7dd2af8fae"))}
	for _, path := range w.lists {
		for _, token := range old {
			r := h.assertTokenRefused(w.key, path, token, "an old token")
			assert.Contains(t, r.Error, "older version", "%s: %s", path, r.Error)
			assert.Contains(t, r.Error, "first page", "%s: %s", path, r.Error)
		}
	}

	// The issued token with its cursor, its list tag or its MAC changed.
	raw, err := base64.RawURLEncoding.DecodeString(tokens["/properties"])
	require.NoError(t, err)
	parts := strings.Split(string(raw), ".")
	require.Len(t, parts, 4, "%s", raw)
	tag, mac := parts[2], parts[3]
	for _, forged := range []string{
		parts[0] + ".18446744073709551615." + tag + "." + mac, parts[0] + ".0." + tag + "." + mac, parts[0] + ".-1." + tag + "." + mac,
		parts[0] + "." + parts[1] + "." + "." + mac, parts[0] + "." + parts[1] + "." + strings.ToUpper(tag) + "." + mac,
		parts[0] + "." + parts[1] + "." + tag + "." + tag + "." + mac, parts[0] + "." + parts[1] + "." + strings.Repeat("0", len(tag)) + "." + mac,
		parts[0] + ".0" + parts[1] + "." + tag + "." + mac, "p4." + parts[1] + "." + tag + "." + mac,
		parts[0] + "." + parts[1] + "." + tag, parts[0] + "." + parts[1] + "." + tag + "." + strings.ToUpper(mac),
		parts[0] + "." + parts[1] + "." + tag + "." + strings.Repeat("0", len(mac)),
	} {
		r := h.assertTokenRefused(w.key, "/properties", b64([]byte(forged)), forged)
		assert.Equal(t, "pageToken: is not a page token this server issued", r.Error, forged)
	}
	// On every list, its own token with a cursor past 2^63-1 (2^64-1,
	// which a signed read-model position would read as -1): a 400, not the
	// first page again.
	forgedLists := 0
	for path, token := range h.firstTokens(w.key, w.lists) {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		require.NoError(t, err)
		var forged string
		if parts := strings.Split(string(raw), "."); len(parts) == 4 {
			forged = parts[0] + ".18446744073709551615." + parts[2] + "." + parts[3]
		} else {
			continue // an access-log token: its cursor is a date and an id
		}
		h.assertTokenRefused(w.key, path, b64([]byte(forged)), forged)
		forgedLists++
	}
	assert.GreaterOrEqual(t, forgedLists, 20, "lists whose token was forged past 2^63-1")
	h.assertTokenRefused(w.key, "/properties", tokens["/properties"]+"=", "a padded token")
	h.assertTokenRefused(w.key, "/properties", "garbage!", "garbage")
}

// A query parameter no filter of the list reads, such as a client's cache
// buster, is not part of the list, nor is a filter given an empty value:
// the next page of every list comes with another value of it, or without
// it, and is the same page.
func TestPageTokenIgnoresParametersNoFilterReads(t *testing.T) {
	h := newHarness(t)
	w := h.buildTokenWorld()
	tokens := h.firstTokens(w.key, w.lists)
	require.GreaterOrEqual(t, len(tokens), 20, "lists with a second page: %v", tokens)
	for list, token := range tokens {
		busted := h.do("GET", withPage(list, "")+"&_=1700000000001", w.key, nil)
		require.Equal(t, http.StatusOK, busted.Status, "%s with a cache buster: %s", list, busted.Error)
		assert.Equal(t, token, busted.field("pageToken"), "%s: the first page's token", list)

		plain := h.do("GET", withPage(list, token), w.key, nil)
		require.Equal(t, http.StatusOK, plain.Status, "%s: %s", list, plain.Error)
		next := h.do("GET", withPage(list, token)+"&_=1700000000002&outOfSync=&userId=&status=", w.key, nil)
		require.Equal(t, http.StatusOK, next.Status, "%s, the second page with another cache buster: %s", list, next.Error)
		assert.JSONEq(t, string(plain.Data), string(next.Data), "%s: the second page", list)
	}
}

// A page token is signed by the server's key, over its kind, its cursor
// and its list: the token of a list with its cursor changed by hand (back
// to the first page, or further on) or its access log's lock id changed,
// or one signed again by another key, is a 400, never a page of the list.
func TestHandEditedPageTokensAreA400(t *testing.T) {
	h := newHarness(t)
	w := h.buildTokenWorld()
	logs := "/locks/" + w.lock + "/logs"
	tokens := h.firstTokens(w.key, []string{"/accounts/children", logs})
	require.Contains(t, tokens, "/accounts/children")
	require.Contains(t, tokens, logs)
	b64 := base64.RawURLEncoding.EncodeToString
	forger := func(body string) string {
		m := hmac.New(sha256.New, []byte("a key of the forger's own"))
		m.Write([]byte(body))
		return hex.EncodeToString(m.Sum(nil)[:8])
	}
	refused := func(path, forged, why string) {
		t.Helper()
		r := h.assertTokenRefused(w.key, path, b64([]byte(forged)), why)
		assert.Equal(t, "pageToken: is not a page token this server issued", r.Error, "%s: %s", why, forged)
	}

	raw, err := base64.RawURLEncoding.DecodeString(tokens["/accounts/children"])
	require.NoError(t, err)
	parts := strings.Split(string(raw), ".")
	require.Len(t, parts, 4, "%s", raw)
	refused("/accounts/children", parts[0]+".1."+parts[2]+"."+parts[3], "the cursor of the first page")
	refused("/accounts/children", parts[0]+".9223372036854775807."+parts[2]+"."+parts[3], "a cursor further on")
	body := strings.Join(parts[:3], ".")
	refused("/accounts/children", body+"."+forger(body), "the token signed again by another key")
	body = parts[0] + ".1." + parts[2]
	refused("/accounts/children", body+"."+forger(body), "the first page's cursor signed by another key")

	raw, err = base64.RawURLEncoding.DecodeString(tokens[logs])
	require.NoError(t, err)
	parts = strings.Split(string(raw), "|")
	require.Len(t, parts, 6, "%s", raw)
	parts[3] = uuid.NewString() // the lock id of the cursor
	refused(logs, strings.Join(parts, "|"), "an access-log token with another lock id")
	body = strings.Join(parts[:5], "|")
	refused(logs, body+"|"+forger(body), "an access-log token with another lock id, signed by another key")
}
