package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/box"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/webhooks"
)

// The paging walk: every paged list is walked page by page, two items a
// page, while another goroutine removes items the walk has already passed
// and creates new ones, and puts back, where the API can, an item it
// removed (one change of each between every two pages, the change running
// beside the next page's request). No item may come twice, and every item
// that was there before the walk and was not touched by the changes must
// come.

const (
	walkPageSize = 2
	// walkKept items stay for the whole walk; as many others, between
	// them, are removed one by one while it goes.
	walkKept = 4
	// walkSteps is how many changes (a removal and a creation) are made.
	walkSteps = 3
)

// walkList is one paged list under changes.
type walkList struct {
	// path is the list's path and query, without paging.
	path string
	// plural is the answer's array; id names an item's id field ("": the
	// whole item is its identity).
	plural, id string
	// create makes one item the list shows and answers its id in the
	// list ("" when it cannot tell, as for an event); remove (nil: the list's items cannot be removed) takes it out
	// of the list, or changes it as far as the API can (a booking is
	// cancelled, an access code revoked).
	create func() (string, error)
	remove func(id string) error
	// readd (nil: none) puts a removed item back, as a member removed and
	// added again: it was there before, so it must not come twice either.
	readd func(id string) error
}

// walkClient sends requests from any goroutine: it fails no test itself.
type walkClient struct {
	h *harness
}

// call sends a request and answers the envelope's data; a status of 300 or
// more is an error.
func (c walkClient) call(method, path, key string, body any, header map[string]string) (json.RawMessage, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.h.srv.URL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-api-key", key)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", method, path, err, raw)
	}
	return env.Data, nil
}

// field sends a request and answers a string field of its data.
func (c walkClient) field(method, path, key string, body any, name string) (string, error) {
	data, err := c.call(method, path, key, body, nil)
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return "", err
	}
	v, _ := m[name].(string)
	if v == "" {
		return "", fmt.Errorf("%s %s: no %s in %s", method, path, name, data)
	}
	return v, nil
}

// page reads one page of l: the items' ids and the next token.
func (c walkClient) page(l walkList, key, token string) ([]string, string, error) {
	sep := "?"
	if strings.Contains(l.path, "?") {
		sep = "&"
	}
	path := fmt.Sprintf("%s%spageSize=%d", l.path, sep, walkPageSize)
	if token != "" {
		path += "&pageToken=" + token
	}
	data, err := c.call("GET", path, key, nil, nil)
	if err != nil {
		return nil, "", err
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, "", err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(out[l.plural], &items); err != nil {
		return nil, "", fmt.Errorf("%s: %s: %w", path, l.plural, err)
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if l.id == "" {
			ids = append(ids, string(it))
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(it, &m); err != nil {
			return nil, "", err
		}
		id, _ := m[l.id].(string)
		if id == "" {
			return nil, "", fmt.Errorf("%s: an item without %s: %s", path, l.id, it)
		}
		ids = append(ids, id)
	}
	var next string
	if raw, ok := out["pageToken"]; ok {
		if err := json.Unmarshal(raw, &next); err != nil {
			return nil, "", err
		}
	}
	return ids, next, nil
}

// walk checks l under changes, read with key.
func (c walkClient) walk(t *testing.T, l walkList, key string) {
	h := c.h
	var kept, changing []string
	for range walkKept {
		id, err := l.create()
		require.NoError(t, err)
		kept = append(kept, id)
		if id, err = l.create(); err == nil {
			changing = append(changing, id)
		}
		require.NoError(t, err)
	}
	hh := *h
	hh.t = t
	hh.settle()

	// What the list holds before the walk, less what the changes touch,
	// must all come.
	var before []string
	for token, pages := "", 0; pages == 0 || token != ""; pages++ {
		ids, next, err := c.page(l, key, token)
		require.NoError(t, err)
		before, token = append(before, ids...), next
	}
	touched := map[string]bool{}
	for _, id := range changing {
		touched[id] = true
	}
	want := map[string]bool{}
	for _, id := range before {
		if !touched[id] {
			want[id] = true
		}
	}
	for _, id := range kept {
		if id != "" {
			require.True(t, want[id], "%s: %s was made before the walk and is not listed", l.path, id)
		}
	}
	require.GreaterOrEqual(t, len(want), walkKept, "%s: too few items for a walk of several pages", l.path)

	// The changes: each asked for after a page, run beside the next
	// page's request, and over before the one after.
	ask := make(chan struct{})
	stepped := make(chan error)
	go func() {
		defer close(stepped)
		var removed []string
		for range ask {
			var err error
			if l.readd != nil && len(removed) > 0 {
				// Back after the walk passed it.
				if err = l.readd(removed[0]); err == nil {
					changing = append(changing, removed[0])
					removed = removed[1:]
				}
			}
			if err == nil && l.remove != nil && len(changing) > 0 {
				if err = l.remove(changing[0]); err == nil {
					removed = append(removed, changing[0])
					changing = changing[1:]
				}
			}
			if err == nil {
				var id string
				if id, err = l.create(); err == nil {
					changing = append(changing, id)
				}
			}
			stepped <- err
		}
	}()
	var closeOnce sync.Once
	stop := func() {
		closeOnce.Do(func() {
			close(ask)
			for err := range stepped {
				assert.NoError(t, err, "a change beside the walk")
			}
		})
	}
	defer stop()

	seen := map[string]int{}
	asked, running := 0, false
	for token, pages := "", 0; pages == 0 || token != ""; pages++ {
		require.Less(t, pages, 200, "%s: the walk does not end", l.path)
		ids, next, err := c.page(l, key, token)
		require.NoError(t, err, "page %d", pages)
		for _, id := range ids {
			seen[id]++
		}
		token = next
		if running {
			assert.NoError(t, <-stepped, "a change beside the walk")
			running = false
		}
		if asked < walkSteps && token != "" {
			ask <- struct{}{}
			asked, running = asked+1, true
		}
	}
	if running {
		assert.NoError(t, <-stepped, "a change beside the walk")
	}
	stop()
	assert.Equal(t, walkSteps, asked, "%s: the walk ended before every change was made", l.path)

	for id, n := range seen {
		assert.Equal(t, 1, n, "%s: %s came %d times in one walk", l.path, id, n)
	}
	for id := range want {
		assert.Contains(t, seen, id, "%s: %s was listed before the walk and never changed, but the walk missed it", l.path, id)
	}
}

func TestPagingWalkUnderChanges(t *testing.T) {
	hookTarget := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(hookTarget.Close)
	h := newHarness(t, webhooks.WithPrivateTargets(true))
	c := walkClient{h: h}
	var n atomic.Int64
	name := func(what string) string { return fmt.Sprintf("%s %d", what, n.Add(1)) }

	// Each list gets an account of its own; acct makes the changes, the
	// walk reads with another owner key of the account, which waits for
	// none of them.
	type world struct {
		acct, reader string
	}
	newWorld := func(t *testing.T) world {
		hh := *h
		hh.t = t
		acct := hh.newAccount()
		return world{acct: acct, reader: hh.newKey(acct, perm("owner"))}
	}
	must := func(t *testing.T) func(string, error) string {
		return func(v string, err error) string {
			t.Helper()
			require.NoError(t, err)
			return v
		}
	}
	newProperty := func(key string) (string, error) {
		return c.field("POST", "/properties", key, map[string]any{"displayName": name("property")}, "propertyId")
	}
	newUser := func(key string, body map[string]any) (string, error) {
		if body == nil {
			body = map[string]any{}
		}
		body["displayName"], body["userPermissions"] = name("user"), []any{}
		return c.field("POST", "/users", key, body, "userId")
	}
	newGroup := func(key, property string) (string, error) {
		return c.field("POST", grpListPath(property), key, map[string]any{"displayName": name("group"), "groupType": "staff"}, "userGroupId")
	}
	newArea := func(key, property string) (string, error) {
		return c.field("POST", areasPath(property), key, map[string]any{"displayName": name("area"), "areaType": "resident"}, "areaId")
	}
	newLock := func(key string) (string, error) {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", err
		}
		enc, _, err := box.GenerateKey(rand.Reader)
		if err != nil {
			return "", err
		}
		return c.field("POST", "/locks", key, map[string]any{"displayName": name("lock"),
			"publicKey": base64.StdEncoding.EncodeToString(pub), "encryptionPublicKey": base64.StdEncoding.EncodeToString(enc[:])}, "lockId")
	}
	install := func(key, property, area string) func(string) error {
		return func(id string) error {
			_, err := c.call("PUT", installPath(property, area, id), key, nil, nil)
			return err
		}
	}
	uninstall := func(key string) func(string) error {
		return func(id string) error {
			_, err := c.call("PUT", "/locks/"+id+"/uninstall?uninstallMode=property", key, nil, nil)
			return err
		}
	}
	installed := func(key, property, area string) (string, error) {
		id, err := newLock(key)
		if err == nil {
			err = install(key, property, area)(id)
		}
		return id, err
	}
	del := func(key string, path func(id string) string) func(string) error {
		return func(id string) error {
			_, err := c.call("DELETE", path(id), key, nil, nil)
			return err
		}
	}
	// event makes one event in the account (a property), for the lists of
	// what happened.
	event := func(key string) func() (string, error) {
		return func() (string, error) { _, err := newProperty(key); return "", err }
	}

	cases := map[string]func(t *testing.T, w world) walkList{
		"properties": func(t *testing.T, w world) walkList {
			return walkList{path: "/properties", plural: "properties", id: "propertyId",
				create: func() (string, error) { return newProperty(w.acct) },
				remove: del(w.acct, func(id string) string { return "/properties/" + id })}
		},
		"areas": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			return walkList{path: areasPath(p), plural: "areas", id: "areaId",
				create: func() (string, error) { return newArea(w.acct, p) },
				remove: del(w.acct, func(id string) string { return areasPath(p) + "/" + id })}
		},
		"groups": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			return walkList{path: grpListPath(p), plural: "groups", id: "userGroupId",
				create: func() (string, error) { return newGroup(w.acct, p) },
				remove: del(w.acct, func(id string) string { return grpListPath(p) + "/" + id })}
		},
		"group members": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			g := must(t)(newGroup(w.acct, p))
			return walkList{path: grpPath(p, g) + "/users", plural: "users", id: "userId",
				create: func() (string, error) {
					u, err := newUser(w.acct, nil)
					if err == nil {
						_, err = c.call("POST", grpMemberPath(p, g, u), w.acct, nil, nil)
					}
					return u, err
				},
				remove: del(w.acct, func(id string) string { return grpMemberPath(p, g, id) }),
				readd: func(u string) error {
					_, err := c.call("POST", grpMemberPath(p, g, u), w.acct, nil, nil)
					return err
				}}
		},
		"groups of a user": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			u := must(t)(newUser(w.acct, nil))
			return walkList{path: "/users/" + u + "/groups", plural: "groups", id: "userGroupId",
				create: func() (string, error) {
					g, err := newGroup(w.acct, p)
					if err == nil {
						_, err = c.call("POST", grpMemberPath(p, g, u), w.acct, nil, nil)
					}
					return g, err
				},
				remove: del(w.acct, func(id string) string { return grpMemberPath(p, id, u) }),
				readd: func(g string) error {
					_, err := c.call("POST", grpMemberPath(p, g, u), w.acct, nil, nil)
					return err
				}}
		},
		"groups of a user at a property": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			other := must(t)(newProperty(w.acct))
			u := must(t)(newUser(w.acct, nil))
			return walkList{path: "/users/" + u + "/properties/" + p + "/groups", plural: "groups", id: "userGroupId",
				create: func() (string, error) {
					// Each listed membership follows one in another
					// property, which the list leaves out.
					for _, at := range []string{other, p} {
						g, err := newGroup(w.acct, at)
						if err == nil {
							_, err = c.call("POST", grpMemberPath(at, g, u), w.acct, nil, nil)
						}
						if err != nil || at == p {
							return g, err
						}
					}
					panic("unreachable")
				},
				remove: del(w.acct, func(id string) string { return grpMemberPath(p, id, u) }),
				readd: func(g string) error {
					_, err := c.call("POST", grpMemberPath(p, g, u), w.acct, nil, nil)
					return err
				}}
		},
		"devices": func(t *testing.T, w world) walkList {
			u := must(t)(newUser(w.acct, nil))
			return walkList{path: "/users/" + u + "/devices", plural: "devices", id: "userDeviceId",
				create: func() (string, error) {
					pub, _, err := ed25519.GenerateKey(rand.Reader)
					if err != nil {
						return "", err
					}
					enc, _, err := box.GenerateKey(rand.Reader)
					if err != nil {
						return "", err
					}
					return c.field("POST", "/users/"+u+"/devices", w.acct, deviceBody(name("phone"),
						base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(enc[:])), "userDeviceId")
				},
				remove: del(w.acct, func(id string) string { return "/users/" + u + "/devices/" + id })}
		},
		"locks": func(t *testing.T, w world) walkList {
			return walkList{path: "/locks", plural: "locks", id: "lockId",
				create: func() (string, error) { return newLock(w.acct) },
				remove: del(w.acct, func(id string) string { return "/locks/" + id })}
		},
		"locks of a property": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			a := must(t)(newArea(w.acct, p))
			return walkList{path: "/locks?propertyId=" + p, plural: "locks", id: "lockId",
				create: func() (string, error) { return installed(w.acct, p, a) },
				remove: uninstall(w.acct), readd: install(w.acct, p, a)}
		},
		"locks out of sync": func(t *testing.T, w world) walkList {
			// A member with a phone: every lock of the area has a key map
			// to take.
			p := must(t)(newProperty(w.acct))
			a := must(t)(newArea(w.acct, p))
			u := must(t)(newUser(w.acct, nil))
			hh := *h
			hh.t = t
			hh.provisionDevice(w.acct, u, "phone")
			hh.grpAdd(w.acct, p, hh.viewArea(w.acct, p, a).AreaUserGroupID, u)
			return walkList{path: "/locks?outOfSync=true&propertyId=" + p, plural: "locks", id: "lockId",
				create: func() (string, error) { return installed(w.acct, p, a) },
				remove: uninstall(w.acct), readd: install(w.acct, p, a)}
		},
		"events": func(t *testing.T, w world) walkList {
			return walkList{path: "/events?eventSource=all", plural: "events", id: "eventId", create: event(w.acct)}
		},
		"activity": func(t *testing.T, w world) walkList {
			return walkList{path: "/timeline/activity", plural: "activity", create: event(w.acct)}
		},
		"api keys": func(t *testing.T, w world) walkList {
			return walkList{path: "/accounts/keys", plural: "keys", id: "apiKeyId",
				create: func() (string, error) {
					return c.field("POST", "/accounts/keys", w.acct, map[string]any{"displayName": name("key"), "apiPermissions": []any{perm("support")}}, "apiKeyId")
				},
				remove: del(w.acct, func(id string) string { return "/accounts/keys/" + id })}
		},
		"child accounts": func(t *testing.T, w world) walkList {
			return walkList{path: "/accounts/children", plural: "accounts", id: "accountId",
				create: func() (string, error) {
					return c.field("POST", "/accounts/register", w.acct, map[string]any{"displayName": name("child")}, "accountId")
				}}
		},
		"webhooks": func(t *testing.T, w world) walkList {
			return walkList{path: "/accounts/webhooks", plural: "webhooks", id: "webhookId",
				create: func() (string, error) {
					return c.field("POST", "/accounts/webhooks", w.acct, map[string]any{"url": hookTarget.URL + "/" + uuid.NewString(),
						"eventTypes": []string{"PropertyCreated"}}, "webhookId")
				},
				remove: del(w.acct, func(id string) string { return "/accounts/webhooks/" + id })}
		},
		"webhook deliveries": func(t *testing.T, w world) walkList {
			hook := must(t)(c.field("POST", "/accounts/webhooks", w.acct, map[string]any{"url": hookTarget.URL,
				"eventTypes": []string{"PropertyCreated"}}, "webhookId"))
			var mu sync.Mutex
			after, err := h.store.HeadPosition(context.Background())
			require.NoError(t, err)
			return walkList{path: "/accounts/webhooks/" + hook + "/deliveries", plural: "deliveries", id: "deliveryId",
				create: func() (string, error) {
					// The forwarder's part: the property's event onto the bus.
					if _, err := newProperty(w.acct); err != nil {
						return "", err
					}
					mu.Lock()
					defer mu.Unlock()
					return "", h.forwardEventsErr(&after)
				}}
		},
		"bookings of a property": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			u := must(t)(newUser(w.acct, nil))
			return walkList{path: "/properties/" + p + "/bookings", plural: "bookings", id: "bookingId",
				create: func() (string, error) { return c.book(w.acct, p, u) },
				remove: c.cancel(w.acct)}
		},
		"bookings": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			u := must(t)(newUser(w.acct, nil))
			return walkList{path: "/bookings", plural: "bookings", id: "bookingId",
				create: func() (string, error) { return c.book(w.acct, p, u) },
				remove: c.cancel(w.acct)}
		},
		"access codes": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			u := must(t)(newUser(w.acct, nil))
			b := must(t)(c.book(w.acct, p, u))
			return walkList{path: "/bookings/" + b + "/access-codes", plural: "accessCodes", id: "accessCodeId",
				create: func() (string, error) {
					return c.field("POST", "/bookings/"+b+"/access-codes", w.acct, map[string]any{}, "accessCodeId")
				},
				remove: del(w.acct, func(id string) string { return "/access-codes/" + id })}
		},
		"invitations": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			return walkList{path: "/properties/" + p + "/invitations", plural: "invitations", id: "invitationId",
				create: func() (string, error) {
					return c.field("POST", "/properties/"+p+"/invitations", w.acct,
						map[string]any{"email": uuid.NewString() + "@example.com", "role": "staff"}, "invitationId")
				},
				remove: del(w.acct, func(id string) string { return "/invitations/" + id })}
		},
		"members": func(t *testing.T, w world) walkList {
			p := must(t)(newProperty(w.acct))
			// join invites the user's address and accepts with their key.
			join := func(email, me string) error {
				data, err := c.call("POST", "/properties/"+p+"/invitations", w.acct, map[string]any{"email": email, "role": "staff"}, nil)
				if err != nil {
					return err
				}
				var inv struct {
					InvitationID string `json:"invitationId"`
					Token        string `json:"token"`
				}
				if err := json.Unmarshal(data, &inv); err != nil {
					return err
				}
				_, err = c.call("POST", "/invitations/"+inv.InvitationID+"/accept", me, map[string]string{"token": inv.Token}, nil)
				return err
			}
			var mu sync.Mutex
			people := map[string][2]string{} // user: address, `me` key
			return walkList{path: "/properties/" + p + "/members", plural: "members", id: "userId",
				create: func() (string, error) {
					email := uuid.NewString() + "@example.com"
					u, err := newUser(w.acct, map[string]any{"private": map[string]string{"email": email}})
					if err != nil {
						return "", err
					}
					me, err := c.field("POST", "/accounts/keys", w.acct, map[string]any{"displayName": name("me"),
						"apiPermissions": []any{map[string]string{"permission": "me", "userId": u}}}, "apiKey")
					if err != nil {
						return "", err
					}
					mu.Lock()
					people[u] = [2]string{email, me}
					mu.Unlock()
					return u, join(email, me)
				},
				remove: del(w.acct, func(id string) string { return "/properties/" + p + "/members/" + id }),
				readd: func(u string) error {
					mu.Lock()
					who := people[u]
					mu.Unlock()
					return join(who[0], who[1])
				}}
		},
	}
	logs := func(t *testing.T, w world, path func(s lsScene) string) walkList {
		hh := *h
		hh.t = t
		s := hh.lsScene(w.acct)
		var mu sync.Mutex
		i := 0
		return walkList{path: path(s), plural: "accessLogs", id: "lockAccessLogId",
			create: func() (string, error) {
				// Entries at dates spread over ten minutes, several at
				// one date: a new one may fall between those listed.
				mu.Lock()
				i++
				at := time.Now().UTC().Truncate(time.Minute).Add(-time.Duration((i*7)%11) * time.Minute)
				mu.Unlock()
				id := uuid.NewString()
				return id, c.syncLogs(s.lock, lsEntry(s.lock.ID, s.phone, id, at, "granted"))
			}}
	}
	cases["access logs of a lock"] = func(t *testing.T, w world) walkList {
		return logs(t, w, func(s lsScene) string { return "/locks/" + s.lock.ID + "/logs" })
	}
	cases["access logs of a property"] = func(t *testing.T, w world) walkList {
		return logs(t, w, func(s lsScene) string { return "/properties/" + s.property + "/logs" })
	}
	cases["access logs of a user"] = func(t *testing.T, w world) walkList {
		return logs(t, w, func(s lsScene) string { return "/users/" + s.user + "/logs" })
	}

	for what, mk := range cases {
		t.Run(what, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			c.walk(t, mk(t, w), w.reader)
		})
	}
}

// book makes a booking of a new area of the property, for the user, a
// day from now.
func (c walkClient) book(key, property, user string) (string, error) {
	area, err := c.field("POST", areasPath(property), key, map[string]any{"displayName": "flat", "areaType": "resident"}, "areaId")
	if err != nil {
		return "", err
	}
	start := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	return c.field("POST", "/properties/"+property+"/bookings", key, map[string]any{"areaId": area, "guest": map[string]any{"userId": user},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour)), "source": "web"}, "bookingId")
}

// cancel cancels a booking: it stays listed, cancelled.
func (c walkClient) cancel(key string) func(string) error {
	return func(id string) error {
		_, err := c.call("POST", "/bookings/"+id+"/cancel", key, map[string]any{"reason": "byUser"}, nil)
		return err
	}
}

// syncLogs uploads access-log entries in a lock's sync, signed by the lock.
func (c walkClient) syncLogs(l lsLock, logs ...map[string]any) error {
	raw, err := json.Marshal(map[string]any{"syncDate": time.Now().UTC().Format(time.RFC3339), "currentFirmwareVersion": "1.0.0",
		"currentKeyMapVersion": 0, "accessLogs": logs})
	if err != nil {
		return err
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(l.sign, raw))
	_, err = c.call("PUT", "/locks/"+l.ID+"/sync", l.APIKey, raw, map[string]string{"x-lock-signature": sig})
	return err
}

// forwardEventsErr is forwardEvents for a goroutine other than the test's:
// it answers its failure.
func (h *harness) forwardEventsErr(after *uint64) error {
	events, err := h.store.ReadAll(context.Background(), *after, 10_000, eventstore.Filter{})
	if err != nil {
		return err
	}
	for _, ev := range events {
		msg, err := bus.Encode(ev)
		if err != nil {
			return err
		}
		if err := h.bus.Publish(bus.Topic(ev.Stream), msg); err != nil {
			return err
		}
		*after = ev.Position
	}
	return nil
}
