package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections/webhooks"
)

// The tenancy matrix: every secured operation of /openapi.json, called
// with every kind of key on every kind of target, in a world of three
// accounts (A; B, another child of the same parent; C, a child of A).
// The expected status of each call is derived from the README's rules,
// written down below as a table of its own (tmRoutes), not read from the
// code: 401 for a missing, unknown or deleted key; 403 for a key lacking
// the permission (a lock's own key everywhere but its sync); 404 for an
// id of another account, of a property outside the key's scope, or of
// nobody, with the very answer an id of nobody gets; 2xx otherwise.
// Beside the statuses it checks that no answer names another account's
// entities (or, to a key scoped to one property, the other property's),
// that personal data, key names and webhook URLs reach only whom the
// README lets read them, and that a refused write appends nothing.

// tmPerms are the permissions a key may hold.
var tmPerms = []string{"owner", "provision-lock", "install-lock", "manage-access", "manage-firmware", "support"}

// tmKey is one caller of the matrix.
type tmKey struct {
	name   string
	secret string
	// acct is "A", "B", "C" or "root" ("" for a key that is not one).
	acct string
	// perm is the key's one permission ("me" for a `me` key); scope the
	// slot (0, 1) of A's property it is scoped to, -1 account-wide.
	perm  string
	scope int
	// user is the user a `me` key acts for ("U", "V", "W").
	user string
	// lock is the slot of A's lock whose own key this is (-1: none).
	lock int
	// invalid: no key, an unknown one or a deleted one.
	invalid bool
}

// tmProp is one property of an account and what is in it.
type tmProp struct {
	id, area, areaGroup, sandbox, group        string
	lock                                       lsLock
	booking, code, guest, invitation, invToken string
	event                                      string
}

// tmAcct is one account's world.
type tmAcct struct {
	name, owner, accountID string
	props                  [2]tmProp
	// user (U) is a guest with a phone and group memberships; other (V)
	// a user with nothing; invitee (W) holds the pending invitations;
	// member (M) a member of both properties.
	user, other, invitee, member string
	phone                        syncPhone
	lock0                        lsLock // provisioned, in no property
	apiKeyID, webhook, delivery  string
	version                      string
	meInvitee                    string
}

// tmWorld is the whole matrix world.
type tmWorld struct {
	h     *harness
	accts map[string]*tmAcct
	keys  []*tmKey
	// missing is the id of nobody for each placeholder name.
	missing map[string]string
	// idsOf lists every id of an account; propIDs those of one
	// property of A only (not the account's users).
	idsOf   map[string][]string
	propIDs [2][]string
	locks   map[string]lsLock
	phones  map[string]syncPhone
	at      string
	seq     atomic.Int64
	start   time.Time
}

// tmPriv marks the personal data of user X of account N: only the
// account's owner and manage-access keys, and X's own `me` key, may read
// it. Likewise key names and webhook URLs carry "ownerOnly"+N (the
// account-wide owner's to read), and a guest's details (by name)
// "guestdata"+N.
func tmPriv(acct, user string) string { return "priv" + acct + user }

// tmMust sends a request of the world's making, which must succeed.
func (h *harness) tmMust(method, path, key string, body any) reply {
	h.t.Helper()
	r := h.do(method, path, key, body)
	require.Contains(h.t, []int{http.StatusOK, http.StatusCreated}, r.Status, "%s %s: %s", method, path, r.Error)
	return r
}

func (h *harness) tmUser(key, acct, name string) string {
	h.t.Helper()
	return h.tmMust("POST", "/users", key, map[string]any{"displayName": acct + " user " + name, "userPermissions": []any{},
		"private": map[string]string{"firstName": tmPriv(acct, name), "email": strings.ToLower(tmPriv(acct, name)) + "@example.com"}}).field("userId")
}

// tmLockSync syncs a lock with one opening by the phone.
func (h *harness) tmLockSync(l lsLock, phone syncPhone) {
	h.t.Helper()
	body, err := json.Marshal(map[string]any{"syncDate": time.Now().UTC().Format(time.RFC3339), "currentKeyMapVersion": 0,
		"accessLogs": []any{map[string]any{"lockAccessLogId": uuid.NewString(), "accessDate": time.Now().UTC().Format(time.RFC3339),
			"accessKeyId": phone.accessKeyID, "userDeviceId": phone.deviceID, "result": "granted"}}})
	require.NoError(h.t, err)
	r := h.lsSyncRaw(l, body)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
}

// buildAcct builds one account's world with its owner key.
func (w *tmWorld) buildAcct(name, owner, hookURL string) *tmAcct {
	h := w.h
	t := h.t
	a := &tmAcct{name: name, owner: owner}
	a.accountID = h.tmMust("GET", "/account", owner, nil).field("accountId")
	a.user = h.tmUser(owner, name, "U")
	a.other = h.tmUser(owner, name, "V")
	a.invitee = h.tmUser(owner, name, "W")
	a.member = h.tmUser(owner, name, "M")
	a.phone = h.provisionSyncPhone(owner, a.user)
	meMember := h.newKey(owner, map[string]string{"permission": "me", "userId": a.member})
	a.meInvitee = h.newKey(owner, map[string]string{"permission": "me", "userId": a.invitee})
	for slot := range a.props {
		p := &a.props[slot]
		label := fmt.Sprintf("%s P%d", name, slot+1)
		p.id = h.tmMust("POST", "/properties", owner, map[string]any{"displayName": label}).field("propertyId")
		area := h.tmMust("POST", areasPath(p.id), owner, map[string]any{"displayName": label + " flat", "areaType": "resident"})
		p.area, p.areaGroup = area.field("areaId"), area.field("areaUserGroupId")
		p.sandbox = h.tmMust("POST", areasPath(p.id), owner, map[string]any{"displayName": label + " sandbox", "areaType": "common"}).field("areaId")
		p.group = h.tmMust("POST", grpListPath(p.id), owner, map[string]any{"displayName": label + " staff", "groupType": "staff"}).field("userGroupId")
		h.tmMust("POST", grpMemberPath(p.id, p.group, a.user), owner, nil)
		h.tmMust("PUT", areaPath(p.id, p.area), owner, map[string]any{"displayName": label + " flat", "areaType": "resident",
			"accessList": []any{map[string]any{"accessType": "group", "userGroupId": p.group, "schedule": nil}}})
		p.lock = h.lsProvision(owner, label+" door")
		h.tmMust("PUT", installPath(p.id, p.area, p.lock.ID), owner, nil)
		p.booking = h.tmMust("POST", "/properties/"+p.id+"/bookings", owner, map[string]any{"areaId": p.area,
			"guest": map[string]any{"userId": a.user}, "startDateTime": rfc(w.start.Add(-time.Hour)),
			"endDateTime": rfc(w.start.Add(48 * time.Hour)), "source": "web"}).field("bookingId")
		p.code = h.tmMust("POST", "/bookings/"+p.booking+"/access-codes", owner, map[string]any{}).field("accessCodeId")
		g := h.tmMust("POST", "/bookings/"+p.booking+"/guests", owner, map[string]any{"displayName": "guestdata" + name,
			"email": "guestdata" + strings.ToLower(name) + "@example.com"})
		var gout struct {
			Guest struct {
				GuestID string `json:"guestId"`
			} `json:"guest"`
		}
		require.NoError(t, json.Unmarshal(g.Data, &gout))
		p.guest = gout.Guest.GuestID
		inv := h.tmMust("POST", "/properties/"+p.id+"/invitations", owner, map[string]any{
			"email": strings.ToLower(tmPriv(name, "W")) + "@example.com", "role": "staff"})
		p.invitation, p.invToken = inv.field("invitationId"), inv.field("token")
		minv := h.tmMust("POST", "/properties/"+p.id+"/invitations", owner, map[string]any{
			"email": strings.ToLower(tmPriv(name, "M")) + "@example.com", "role": "staff"})
		h.tmMust("POST", "/invitations/"+minv.field("invitationId")+"/accept", meMember, map[string]string{"token": minv.field("token")})
		h.tmLockSync(p.lock, a.phone)
	}
	a.lock0 = h.lsProvision(owner, name+" spare lock")
	a.version = "1.0.0-" + strings.ToLower(name)
	h.fwMustUpload(owner, a.version)
	for _, target := range []string{"lock&lockId=" + a.props[0].lock.ID, "area&areaId=" + a.props[0].area, "property&propertyId=" + a.props[0].id,
		"lock&lockId=" + a.props[1].lock.ID} {
		h.tmMust("PUT", "/firmware/"+a.version+"/assign?scope="+target, owner, nil)
	}
	a.apiKeyID = h.tmMust("POST", "/accounts/keys", owner, map[string]any{"displayName": "key ownerOnly" + name,
		"apiPermissions": []any{perm("support")}}).field("apiKeyId")
	a.webhook = h.tmMust("POST", "/accounts/webhooks", owner, map[string]any{"url": hookURL + "/ownerOnly" + name,
		"eventTypes": []string{"PropertyUpdated"}}).field("webhookId")
	h.tmMust("PUT", "/properties/"+a.props[0].id, owner, map[string]any{"displayName": name + " P1 renamed"})
	for slot := range a.props {
		p := &a.props[slot]
		ev, _ := listEvents(t, h, owner, "eventSource=all&propertyId="+p.id)
		require.NotEmpty(t, ev.Events)
		p.event = ev.Events[len(ev.Events)-1].EventID
	}
	return a
}

// ids lists every id of the account; propIDs those of one property.
func (a *tmAcct) ids() []string {
	out := []string{a.accountID, a.user, a.other, a.invitee, a.member, a.phone.deviceID, a.lock0.ID, a.apiKeyID, a.webhook, a.delivery}
	for slot := range a.props {
		out = append(out, a.propIDs(slot)...)
	}
	return out
}

func (a *tmAcct) propIDs(slot int) []string {
	p := a.props[slot]
	return []string{p.id, p.area, p.areaGroup, p.sandbox, p.group, p.lock.ID, p.booking, p.code, p.guest, p.invitation, p.event}
}

// buildTenancyWorld builds A, B and C, and every key of the matrix.
func buildTenancyWorld(t *testing.T) *tmWorld {
	h := newHarness(t, webhooks.WithPrivateTargets(true)) // the failing receiver is on 127.0.0.1
	w := &tmWorld{h: h, accts: map[string]*tmAcct{}, locks: map[string]lsLock{}, phones: map[string]syncPhone{},
		idsOf: map[string][]string{}, start: h.clock.Now().Truncate(time.Second)}
	failing := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)

	ownerA, ownerB := h.newAccount(), h.newAccount()
	w.accts["A"] = w.buildAcct("A", ownerA, failing.URL)
	w.accts["B"] = w.buildAcct("B", ownerB, failing.URL)
	ownerC := h.tmMust("POST", "/accounts/register", ownerA, map[string]any{"displayName": "A's child"}).field("apiKey")
	w.accts["C"] = w.buildAcct("C", ownerC, failing.URL)

	// Each webhook's delivery of its PropertyUpdated fails for good.
	var forwarded uint64
	h.forwardEvents(&forwarded)
	for _, a := range w.accts {
		d := h.settledDeliveries(a.owner, a.webhook)
		require.Len(t, d, 1)
		require.Equal(t, "failed", d[0].Status)
		a.delivery = d[0].DeliveryID
	}
	for name, a := range w.accts {
		w.idsOf[name] = a.ids()
		for slot := range a.props {
			w.locks[a.props[slot].lock.ID] = a.props[slot].lock
		}
		w.locks[a.lock0.ID] = a.lock0
		w.phones[a.phone.deviceID] = a.phone
	}
	w.idsOf["root"] = []string{h.tmMust("GET", "/account", rootKey, nil).field("accountId")}
	A := w.accts["A"]
	w.propIDs[0], w.propIDs[1] = A.propIDs(0), A.propIDs(1)

	// The keys of A: every permission account-wide and scoped to each
	// property; `me` keys; a lock's own key; a deleted key.
	w.keys = append(w.keys, &tmKey{name: "A owner", secret: A.owner, acct: "A", perm: "owner", scope: -1, lock: -1})
	for _, p := range tmPerms {
		for scope := -1; scope < 2; scope++ {
			if p == "owner" && scope == -1 {
				continue
			}
			grant := perm(p)
			name := "A " + p
			if scope >= 0 {
				grant = scopedPerm(p, A.props[scope].id)
				name += fmt.Sprintf("@P%d", scope+1)
			}
			w.keys = append(w.keys, &tmKey{name: name, secret: h.newKey(A.owner, grant), acct: "A", perm: p, scope: scope, lock: -1})
		}
	}
	for _, u := range []struct{ name, id string }{{"U", A.user}, {"V", A.other}} {
		w.keys = append(w.keys, &tmKey{name: "A me:" + u.name, secret: h.newKey(A.owner, map[string]string{"permission": "me", "userId": u.id}),
			acct: "A", perm: "me", user: u.name, scope: -1, lock: -1})
	}
	// W accepts the invitations last of all (its `me` key then gains
	// their permissions).
	w.keys = append(w.keys, &tmKey{name: "A me:W", secret: A.meInvitee, acct: "A", perm: "me", user: "W", scope: -1, lock: -1})
	w.keys = append(w.keys, &tmKey{name: "A lock@P1", secret: A.props[0].lock.APIKey, acct: "A", scope: -1, lock: 0})
	deleted := h.tmMust("POST", "/accounts/keys", A.owner, map[string]any{"displayName": "doomed", "apiPermissions": []any{perm("owner")}})
	h.tmMust("DELETE", "/accounts/keys/"+deleted.field("apiKeyId"), A.owner, nil)
	w.keys = append(w.keys,
		&tmKey{name: "deleted A owner", secret: deleted.field("apiKey"), invalid: true, scope: -1, lock: -1},
		&tmKey{name: "unknown key", secret: "ak_" + strings.ReplaceAll(uuid.NewString(), "-", ""), invalid: true, scope: -1, lock: -1},
		&tmKey{name: "no key", invalid: true, scope: -1, lock: -1},
		&tmKey{name: "B owner", secret: ownerB, acct: "B", perm: "owner", scope: -1, lock: -1},
		&tmKey{name: "C owner (A's child)", secret: ownerC, acct: "C", perm: "owner", scope: -1, lock: -1},
		&tmKey{name: "root owner (A's parent)", secret: rootKey, acct: "root", perm: "owner", scope: -1, lock: -1},
	)
	w.missing = map[string]string{}
	for _, n := range []string{"propertyId", "areaId", "sandbox", "userGroupId", "lockId", "bookingId", "accessCodeId", "guestId",
		"invitationId", "eventId", "lock0", "userId", "other", "userDeviceId", "key", "webhookId", "deliveryId"} {
		w.missing[n] = uuid.NewString()
	}
	// The audit's instant: after the world was made.
	w.at = rfc(h.clock.Now().Add(time.Second))
	return w
}

// tmRule is how the README says a route is authorized.
type tmRule int

const (
	// ruleAny: any key of the account.
	ruleAny tmRule = iota
	// ruleAccount: one of perms, account-wide.
	ruleAccount
	// ruleProperty: one of perms for the target's property (account-wide
	// or scoped to it); `me` for the path's user where me is set.
	ruleProperty
	// ruleUser: one of perms in any scope (users belong to the account);
	// `me` for the path's user where me is set.
	ruleUser
	// ruleList: one of perms in any scope; the answer holds what is in
	// the key's scope.
	ruleList
	// ruleLockSync: the lock's own key only.
	ruleLockSync
	// ruleGetMe: a `me` key; any other key acts for no user (404).
	ruleGetMe
	// ruleAccept: a `me` key of the invited user, with the token.
	ruleAccept
	// ruleWhatIf: owner or support somewhere (the commands' own
	// permissions are checked in the answer).
	ruleWhatIf
)

// tmBody is a request body.
type tmBody struct {
	json        any
	raw         []byte
	contentType string
	header      map[string]string
}

// tmRoute is one row of the README's table.
type tmRoute struct {
	op      string // operationId in /openapi.json
	variant string // a second row of the same operation
	method  string
	path    string // with {placeholders}, and a query where one is needed
	rule    tmRule
	// perms are the permissions besides `owner` that let a key call it;
	// me: so does a `me` key of the path's user.
	perms []string
	me    bool
	// user names which user {userId} is: "U" (default), "M" or "V".
	user string
	// body is built per call; string values "{name}" are filled in.
	body func(c *tmCall) tmBody
	// bodyMiss lists the statuses for an id in the body or query (not
	// the path) that is another account's, another property's or
	// nobody's (default 404; 200: answered as an id of nobody would be,
	// within a target of one's own).
	bodyMiss map[string][]int
	// otherProperty is the status for an id of the other property of
	// the account, to a key that sees both (default: as another
	// account's; 200: allowed).
	otherProperty map[string]int
	// filter: the query's ids filter a list, and the README leaves open
	// whether one the key does not see is a 404 or an empty list.
	filter bool
	// scoped lists what a key scoped to a property gets on a
	// ruleAccount route (default 403), where the README leaves it open.
	scoped []int
	// unplaced: the target is a lock in no property (account-wide keys
	// only).
	unplaced bool
	// also lists statuses an allowed write may answer besides 2xx (the
	// target's state forbids the change: 409), and why; without it, one
	// allowed write at least must answer 2xx.
	also []int
	// fresh makes a new target for each allowed write (by A's owner),
	// which the write destroys; after cleans up.
	fresh func(c *tmCall) map[string]string
	after func(c *tmCall)
	// must names what an allowed answer of a list to a key of A holds:
	// that of the property the key is scoped to (or the first), so an
	// empty list does not pass for a filtered one.
	must string
	// check inspects an allowed answer; it returns a problem or "".
	check func(c *tmCall, raw string) string
}

func (rt *tmRoute) name() string {
	if rt.variant != "" {
		return rt.op + "[" + rt.variant + "]"
	}
	return rt.op
}

func (rt *tmRoute) write() bool { return rt.method != "GET" }

var (
	tmRead     = []string{"provision-lock", "install-lock", "manage-access", "manage-firmware", "support"}
	tmManage   = []string{"manage-access"}
	tmLogs     = []string{"support", "manage-access"}
	tmAuditors = []string{"support"}
)

func tmJSON(v any) func(*tmCall) tmBody { return func(*tmCall) tmBody { return tmBody{json: v} } }

// tmRoutes is the README's API, route by route. Each permission list
// leaves out `owner`, which the README's roles and "manage-access (or
// owner)" make a superset of every other permission.
func tmRoutes() []*tmRoute {
	future := func(c *tmCall, days int) (string, string) {
		base := c.w.start.Add(time.Duration(200+3*days) * 24 * time.Hour)
		return rfc(base), rfc(base.Add(24 * time.Hour))
	}
	uniq := func(c *tmCall) int { return int(c.w.seq.Add(1)) }
	h := func(c *tmCall) *harness { return c.w.h }
	A := func(c *tmCall) *tmAcct { return c.w.accts["A"] }
	prop := func(c *tmCall) string { return A(c).props[c.slot].id }
	booking := func(c *tmCall, start, end time.Time) string {
		return h(c).tmMust("POST", "/properties/"+prop(c)+"/bookings", A(c).owner, map[string]any{
			"areaId": A(c).props[c.slot].sandbox, "guest": map[string]any{"userId": A(c).user},
			"startDateTime": rfc(start), "endDateTime": rfc(end), "source": "web"}).field("bookingId")
	}
	now := func(c *tmCall) time.Time { return h(c).clock.Now().Truncate(time.Second) }
	lockPrivate := func(c *tmCall, raw string) string {
		sees := slices.Contains([]string{"owner", "provision-lock", "install-lock", "support"}, c.key.perm) && strings.Contains(raw, `"lockId"`)
		if sees != strings.Contains(raw, `"private"`) {
			return fmt.Sprintf("lock `private` shown: %v, want %v for %s", !sees, sees, c.key.perm)
		}
		return ""
	}
	return []*tmRoute{
		// Accounts and API keys.
		{op: "getAccount", method: "GET", path: "/account", rule: ruleAny},
		{op: "listApiKeys", method: "GET", path: "/accounts/keys", rule: ruleAccount},
		{op: "listChildAccounts", method: "GET", path: "/accounts/children", rule: ruleAccount},
		{op: "updateAccount", method: "PUT", path: "/account", rule: ruleAccount, body: tmJSON(map[string]any{"displayName": "A renamed"})},
		{op: "createApiKey", method: "POST", path: "/accounts/keys", rule: ruleAccount, bodyMiss: map[string][]int{"propertyId": {http.StatusUnprocessableEntity}},
			body: tmJSON(map[string]any{"displayName": "matrix", "apiPermissions": []any{map[string]any{"permission": "support", "propertyId": "{propertyId}"}}})},
		{op: "createApiKey", variant: "userId", method: "POST", path: "/accounts/keys", rule: ruleAccount, bodyMiss: map[string][]int{"userId": {http.StatusUnprocessableEntity}},
			body: tmJSON(map[string]any{"displayName": "matrix", "apiPermissions": []any{map[string]any{"permission": "me", "userId": "{userId}"}}})},
		{op: "deleteApiKey", method: "DELETE", path: "/accounts/keys/{key}", rule: ruleAccount,
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"key": h(c).tmMust("POST", "/accounts/keys", A(c).owner, map[string]any{"displayName": "fresh", "apiPermissions": []any{perm("support")}}).field("apiKeyId")}
			}},
		{op: "registerAccount", method: "POST", path: "/accounts/register", rule: ruleAccount, body: tmJSON(map[string]any{"displayName": "grandchild"})},
		// Webhooks.
		{op: "listWebhooks", method: "GET", path: "/accounts/webhooks", rule: ruleAccount},
		{op: "listWebhookDeliveries", method: "GET", path: "/accounts/webhooks/{webhookId}/deliveries", rule: ruleAccount},
		{op: "createWebhook", method: "POST", path: "/accounts/webhooks", rule: ruleAccount,
			body: tmJSON(map[string]any{"url": "https://hooks.example.com/ownerOnlyA", "eventTypes": []string{"LockInstalled"}})},
		{op: "deleteWebhook", method: "DELETE", path: "/accounts/webhooks/{webhookId}", rule: ruleAccount,
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"webhookId": h(c).tmMust("POST", "/accounts/webhooks", A(c).owner, map[string]any{
					"url": "https://hooks.example.com/ownerOnlyA", "eventTypes": []string{"LockInstalled"}}).field("webhookId")}
			}},
		{op: "replayWebhookDelivery", method: "POST", path: "/accounts/webhooks/{webhookId}/deliveries/{deliveryId}/replay", rule: ruleAccount,
			also: []int{http.StatusConflict}}, // replayed already: pending again
		// Properties and areas.
		{op: "listProperties", method: "GET", path: "/properties", rule: ruleList, perms: tmRead, must: "propertyId"},
		{op: "getProperty", method: "GET", path: "/properties/{propertyId}", rule: ruleProperty, perms: tmRead},
		{op: "createProperty", method: "POST", path: "/properties", rule: ruleAccount, perms: tmManage, bodyMiss: map[string][]int{"other": {http.StatusUnprocessableEntity}},
			body: tmJSON(map[string]any{"displayName": "matrix", "accessManagerIds": []string{"{other}"}})},
		{op: "updateProperty", method: "PUT", path: "/properties/{propertyId}", rule: ruleProperty, perms: tmManage,
			body: tmJSON(map[string]any{"displayName": "matrix"})},
		{op: "deleteProperty", method: "DELETE", path: "/properties/{propertyId}", rule: ruleProperty, perms: tmManage,
			also: []int{http.StatusConflict}}, // a lock is in it
		{op: "listAreas", method: "GET", path: "/properties/{propertyId}/areas", rule: ruleProperty, perms: tmRead},
		{op: "getArea", method: "GET", path: "/properties/{propertyId}/areas/{areaId}", rule: ruleProperty, perms: tmRead},
		{op: "createArea", method: "POST", path: "/properties/{propertyId}/areas", rule: ruleProperty, perms: tmManage, bodyMiss: map[string][]int{"sandbox": {http.StatusNotFound, http.StatusUnprocessableEntity}},
			body: tmJSON(map[string]any{"displayName": "matrix", "areaType": "resident", "parentAreaId": "{sandbox}"})},
		{op: "updateArea", method: "PUT", path: "/properties/{propertyId}/areas/{areaId}", rule: ruleProperty, perms: tmManage,
			bodyMiss: map[string][]int{"userGroupId": {http.StatusUnprocessableEntity}},
			body: tmJSON(map[string]any{"displayName": "matrix", "areaType": "resident",
				"accessList": []any{map[string]any{"accessType": "group", "userGroupId": "{userGroupId}", "schedule": nil}}})},
		{op: "updateArea", variant: "parentAreaId", method: "PUT", path: "/properties/{propertyId}/areas/{areaId}", rule: ruleProperty, perms: tmManage,
			bodyMiss: map[string][]int{"sandbox": {http.StatusNotFound, http.StatusUnprocessableEntity}, "userGroupId": {http.StatusUnprocessableEntity}},
			body: tmJSON(map[string]any{"displayName": "matrix", "areaType": "resident", "parentAreaId": "{sandbox}",
				"accessList": []any{map[string]any{"accessType": "group", "userGroupId": "{userGroupId}", "schedule": nil}}})},
		{op: "deleteArea", method: "DELETE", path: "/properties/{propertyId}/areas/{areaId}", rule: ruleProperty, perms: tmManage,
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"areaId": h(c).tmMust("POST", areasPath(prop(c)), A(c).owner,
					map[string]any{"displayName": "fresh", "areaType": "common"}).field("areaId")}
			}},
		// Groups.
		{op: "listUserGroups", method: "GET", path: "/properties/{propertyId}/groups", rule: ruleProperty, perms: tmRead},
		{op: "getUserGroup", method: "GET", path: "/properties/{propertyId}/groups/{userGroupId}", rule: ruleProperty, perms: tmRead},
		{op: "listUsersForGroup", method: "GET", path: "/properties/{propertyId}/groups/{userGroupId}/users", rule: ruleProperty, perms: tmRead},
		{op: "listGroupsForUser", method: "GET", path: "/users/{userId}/groups", rule: ruleUser, perms: tmRead, me: true, must: "userGroupId"},
		{op: "listGroupsForUserAtProperty", method: "GET", path: "/users/{userId}/properties/{propertyId}/groups", rule: ruleProperty, perms: tmRead, me: true},
		{op: "createUserGroup", method: "POST", path: "/properties/{propertyId}/groups", rule: ruleProperty, perms: tmManage,
			body: tmJSON(map[string]any{"displayName": "matrix", "groupType": "staff"})},
		{op: "updateUserGroup", method: "PUT", path: "/properties/{propertyId}/groups/{userGroupId}", rule: ruleProperty, perms: tmManage,
			body: tmJSON(map[string]any{"displayName": "matrix", "groupType": "staff"})},
		{op: "deleteUserGroup", method: "DELETE", path: "/properties/{propertyId}/groups/{userGroupId}", rule: ruleProperty, perms: tmManage,
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"userGroupId": h(c).tmMust("POST", grpListPath(prop(c)), A(c).owner,
					map[string]any{"displayName": "fresh", "groupType": "staff"}).field("userGroupId")}
			}},
		{op: "addUserToUserGroup", method: "POST", path: "/properties/{propertyId}/groups/{userGroupId}/users/{userId}", rule: ruleProperty, perms: tmManage},
		{op: "removeUserFromUserGroup", method: "DELETE", path: "/properties/{propertyId}/groups/{userGroupId}/users/{userId}", rule: ruleProperty,
			perms: tmManage, user: "V",
			fresh: func(c *tmCall) map[string]string {
				h(c).tmMust("POST", grpMemberPath(prop(c), c.vals["userGroupId"], A(c).other), A(c).owner, nil)
				return nil
			}},
		// Users and devices.
		{op: "getUser", method: "GET", path: "/users/{userId}", rule: ruleUser, perms: []string{"manage-access", "support"}, me: true,
			check: func(c *tmCall, raw string) string {
				sees := c.key.perm == "owner" || c.key.perm == "manage-access" || c.key.perm == "me"
				if sees != strings.Contains(raw, `"private"`) {
					return fmt.Sprintf("user `private` shown: %v, want %v", !sees, sees)
				}
				return ""
			}},
		{op: "getUser", variant: "member", method: "GET", path: "/users/{userId}", rule: ruleUser, perms: []string{"manage-access", "support"}, user: "M"},
		{op: "getMe", method: "GET", path: "/me", rule: ruleGetMe, check: func(c *tmCall, raw string) string {
			if !strings.Contains(raw, `"private"`) || !strings.Contains(strings.ToLower(raw), strings.ToLower(tmPriv("A", c.key.user))) {
				return "the user's own `private` is not shown"
			}
			return ""
		}},
		{op: "listUserDevices", method: "GET", path: "/users/{userId}/devices", rule: ruleUser, perms: []string{"manage-access", "support"}, me: true},
		{op: "getUserDevice", method: "GET", path: "/users/{userId}/devices/{userDeviceId}", rule: ruleUser, perms: []string{"manage-access", "support"}, me: true},
		{op: "createUser", method: "POST", path: "/users", rule: ruleUser, perms: tmManage,
			body: tmJSON(map[string]any{"displayName": "matrix", "userPermissions": []any{}})},
		{op: "updateUser", method: "PUT", path: "/users/{userId}", rule: ruleUser, perms: tmManage,
			body: tmJSON(map[string]any{"displayName": "A user U", "userPermissions": []any{},
				"private": map[string]string{"firstName": tmPriv("A", "U"), "email": strings.ToLower(tmPriv("A", "U")) + "@example.com"}})},
		// "A userPermissions scope must name a property or user of the
		// account, as an API key's must: anything else is a 422".
		// The code also refuses (403) a grant for a property the caller
		// does not manage, before it looks for the property; the README
		// does not say so.
		{op: "updateUser", variant: "userPermissions", method: "PUT", path: "/users/{userId}", rule: ruleUser, perms: tmManage, user: "V",
			bodyMiss: map[string][]int{"propertyId": {http.StatusUnprocessableEntity, http.StatusForbidden}},
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"userId": h(c).tmMust("POST", "/users", A(c).owner, map[string]any{"displayName": "fresh", "userPermissions": []any{}}).field("userId")}
			},
			body: tmJSON(map[string]any{"displayName": "A user V", "userPermissions": []any{map[string]any{"permission": "support", "propertyId": "{propertyId}"}}})},
		{op: "deleteUser", method: "DELETE", path: "/users/{userId}", rule: ruleUser, perms: tmManage,
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"userId": h(c).tmMust("POST", "/users", A(c).owner, map[string]any{"displayName": "fresh", "userPermissions": []any{}}).field("userId")}
			}},
		{op: "provisionUserDevice", method: "POST", path: "/users/{userId}/devices", rule: ruleUser, perms: tmManage, me: true,
			body: func(c *tmCall) tmBody {
				pub, enc := deviceKeys(h(c).t)
				return tmBody{json: deviceBody("matrix", pub, enc)}
			}},
		{op: "updateUserDevice", method: "PUT", path: "/users/{userId}/devices/{userDeviceId}", rule: ruleUser, perms: tmManage, me: true,
			body: tmJSON(deviceBody("matrix", "", ""))},
		{op: "deprovisionUserDevice", method: "DELETE", path: "/users/{userId}/devices/{userDeviceId}", rule: ruleUser, perms: tmManage, me: true,
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"userDeviceId": h(c).provisionDevice(A(c).owner, A(c).user, "fresh").UserDeviceID}
			}},
		{op: "syncUserDevice", method: "PUT", path: "/users/{userId}/devices/{userDeviceId}/sync", rule: ruleUser, perms: tmManage, me: true,
			body: func(c *tmCall) tmBody {
				phone, ok := c.w.phones[c.vals["userDeviceId"]]
				if !ok {
					phone = A(c).phone
				}
				raw := syncBody(0)
				return tmBody{raw: raw, contentType: "application/json", header: map[string]string{"x-device-signature": phone.signature(raw)}}
			}},
		// Locks and key maps.
		{op: "listLocks", method: "GET", path: "/locks", rule: ruleList, perms: tmRead, check: lockPrivate, must: "lockId"},
		{op: "listLocks", variant: "propertyId", method: "GET", path: "/locks?propertyId={propertyId}", rule: ruleProperty, perms: tmRead, check: lockPrivate},
		{op: "getLock", method: "GET", path: "/locks/{lockId}", rule: ruleProperty, perms: tmRead, check: lockPrivate},
		{op: "getLock", variant: "in no property", method: "GET", path: "/locks/{lock0}", rule: ruleProperty, perms: tmRead, unplaced: true, check: lockPrivate},
		{op: "getLockKeyMap", method: "GET", path: "/locks/{lockId}/keymap", rule: ruleProperty, perms: []string{"manage-access", "support"},
			check: func(c *tmCall, raw string) string {
				sees := c.key.perm == "owner" || c.key.perm == "manage-access"
				if sees != strings.Contains(raw, `"codeHash"`) {
					return fmt.Sprintf("codeHash shown: %v, want %v", !sees, sees)
				}
				return ""
			}},
		{op: "provisionLock", method: "POST", path: "/locks", rule: ruleAccount, perms: []string{"provision-lock"},
			body: func(c *tmCall) tmBody {
				pub, enc := lockKeys(h(c).t)
				return tmBody{json: map[string]any{"displayName": "matrix", "publicKey": pub, "encryptionPublicKey": enc}}
			}},
		{op: "updateLock", method: "PUT", path: "/locks/{lockId}", rule: ruleProperty, perms: []string{"provision-lock", "install-lock"},
			body: tmJSON(map[string]any{"displayName": "matrix"})},
		{op: "updateLock", variant: "in no property", method: "PUT", path: "/locks/{lock0}", rule: ruleProperty, unplaced: true,
			perms: []string{"provision-lock", "install-lock"}, body: tmJSON(map[string]any{"displayName": "matrix"})},
		{op: "deprovisionLock", method: "DELETE", path: "/locks/{lockId}", rule: ruleProperty, perms: []string{"provision-lock"},
			also: []int{http.StatusConflict}}, // installed
		{op: "deprovisionLock", variant: "in no property", method: "DELETE", path: "/locks/{lock0}", rule: ruleProperty, unplaced: true,
			perms: []string{"provision-lock"},
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"lock0": h(c).provisionLock(A(c).owner, "fresh").LockID}
			}},
		{op: "installLock", method: "PUT", path: "/properties/{propertyId}/areas/{areaId}/install/{lockId}", rule: ruleProperty, perms: []string{"install-lock"},
			otherProperty: map[string]int{"lockId": http.StatusConflict}}, // "still in another property: 409"
		{op: "uninstallLock", method: "PUT", path: "/locks/{lockId}/uninstall?uninstallMode=area", rule: ruleProperty, perms: []string{"install-lock"},
			fresh: func(c *tmCall) map[string]string {
				l := h(c).provisionLock(A(c).owner, "fresh")
				h(c).tmMust("PUT", installPath(prop(c), A(c).props[c.slot].sandbox, l.LockID), A(c).owner, nil)
				return map[string]string{"lockId": l.LockID}
			}},
		{op: "syncLock", method: "PUT", path: "/locks/{lockId}/sync", rule: ruleLockSync,
			body: func(c *tmCall) tmBody {
				l, ok := c.w.locks[c.vals["lockId"]]
				if !ok {
					l = A(c).props[0].lock
				}
				raw, _ := json.Marshal(map[string]any{"syncDate": time.Now().UTC().Format(time.RFC3339), "currentKeyMapVersion": 0})
				return tmBody{raw: raw, contentType: "application/json",
					header: map[string]string{"x-lock-signature": base64.StdEncoding.EncodeToString(ed25519.Sign(l.sign, raw))}}
			}},
		// Access logs.
		{op: "listLockAccessLogs", method: "GET", path: "/locks/{lockId}/logs", rule: ruleProperty, perms: tmLogs},
		{op: "listUserAccessLogs", method: "GET", path: "/users/{userId}/logs", rule: ruleUser, perms: tmLogs, me: true, must: "lockId"},
		{op: "listPropertyAccessLogs", method: "GET", path: "/properties/{propertyId}/logs", rule: ruleProperty, perms: tmLogs},
		// Events and the activity feed.
		{op: "listEvents", method: "GET", path: "/events?eventSource=all&pageSize=500", rule: ruleList, perms: tmRead, must: "propertyId"},
		{op: "listEvents", variant: "propertyId", method: "GET", path: "/events?eventSource=all&propertyId={propertyId}", rule: ruleProperty, perms: tmRead},
		{op: "listEvents", variant: "lockId", method: "GET", path: "/events?eventSource=lock&lockId={lockId}", rule: ruleProperty, perms: tmRead, filter: true},
		{op: "listEvents", variant: "userId", method: "GET", path: "/events?eventSource=user&userId={userId}", rule: ruleList, perms: tmRead, filter: true},
		{op: "triggerEventProcessing", method: "PUT", path: "/events/{eventId}/process", rule: ruleAccount},
		{op: "listActivity", method: "GET", path: "/timeline/activity?pageSize=500", rule: ruleList, perms: tmRead, must: "propertyId"},
		{op: "listActivity", variant: "propertyId", method: "GET", path: "/timeline/activity?propertyId={propertyId}", rule: ruleProperty, perms: tmRead},
		// Firmware.
		{op: "getFirmwareVersion", method: "GET", path: "/firmware/{version}", rule: ruleUser, perms: []string{"manage-firmware", "support"}},
		{op: "downloadFirmwareVersion", method: "GET", path: "/firmware/{version}/download", rule: ruleUser, perms: []string{"manage-firmware", "support"}},
		{op: "uploadFirmwareVersion", method: "POST", path: "/firmware/9.9.9/upload", rule: ruleAccount, perms: []string{"manage-firmware"},
			body: func(*tmCall) tmBody {
				return tmBody{raw: bytes.Repeat([]byte{0x5a}, 512), contentType: "application/octet-stream"}
			}},
		{op: "unassignFirmwareVersion", method: "PUT", path: "/firmware/unassign?scope=lock&lockId={lockId}", rule: ruleProperty, perms: []string{"manage-firmware"}},
		{op: "unassignFirmwareVersion", variant: "area", method: "PUT", path: "/firmware/unassign?scope=area&areaId={areaId}", rule: ruleProperty, perms: []string{"manage-firmware"}},
		{op: "unassignFirmwareVersion", variant: "global", method: "PUT", path: "/firmware/unassign?scope=global", rule: ruleAccount, perms: []string{"manage-firmware"}},
		{op: "assignFirmwareVersion", method: "PUT", path: "/firmware/{version}/assign?scope=lock&lockId={lockId}", rule: ruleProperty, perms: []string{"manage-firmware"}},
		{op: "assignFirmwareVersion", variant: "area", method: "PUT", path: "/firmware/{version}/assign?scope=area&areaId={areaId}", rule: ruleProperty, perms: []string{"manage-firmware"}},
		{op: "assignFirmwareVersion", variant: "property", method: "PUT", path: "/firmware/{version}/assign?scope=property&propertyId={propertyId}", rule: ruleProperty, perms: []string{"manage-firmware"}},
		{op: "assignFirmwareVersion", variant: "global", method: "PUT", path: "/firmware/{version}/assign?scope=global", rule: ruleAccount, perms: []string{"manage-firmware"}},
		// Invitations and members.
		{op: "listPropertyInvitations", method: "GET", path: "/properties/{propertyId}/invitations", rule: ruleProperty, perms: tmManage},
		{op: "listPropertyMembers", method: "GET", path: "/properties/{propertyId}/members", rule: ruleProperty, perms: tmRead},
		{op: "createPropertyInvitation", method: "POST", path: "/properties/{propertyId}/invitations", rule: ruleProperty, perms: tmManage,
			body: func(c *tmCall) tmBody {
				return tmBody{json: map[string]any{"email": fmt.Sprintf("invited%d@example.com", uniq(c)), "role": "staff"}}
			}},
		{op: "updatePropertyMember", method: "PATCH", path: "/properties/{propertyId}/members/{userId}", rule: ruleProperty, perms: tmManage, user: "M",
			body: tmJSON(map[string]any{"role": "staff"})},
		{op: "removePropertyMember", method: "DELETE", path: "/properties/{propertyId}/members/{userId}", rule: ruleProperty, perms: tmManage, user: "M",
			fresh: func(c *tmCall) map[string]string {
				n := uniq(c)
				email := fmt.Sprintf("member%d@example.com", n)
				u := h(c).tmMust("POST", "/users", A(c).owner, map[string]any{"displayName": "fresh", "userPermissions": []any{},
					"private": map[string]string{"email": email}}).field("userId")
				me := h(c).newKey(A(c).owner, map[string]string{"permission": "me", "userId": u})
				inv := h(c).tmMust("POST", "/properties/"+prop(c)+"/invitations", A(c).owner, map[string]any{"email": email, "role": "staff"})
				h(c).tmMust("POST", "/invitations/"+inv.field("invitationId")+"/accept", me, map[string]string{"token": inv.field("token")})
				return map[string]string{"userId": u}
			}},
		{op: "deletePropertyInvitation", method: "DELETE", path: "/invitations/{invitationId}", rule: ruleProperty, perms: tmManage,
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"invitationId": h(c).tmMust("POST", "/properties/"+prop(c)+"/invitations", A(c).owner,
					map[string]any{"email": fmt.Sprintf("withdrawn%d@example.com", uniq(c)), "role": "staff"}).field("invitationId")}
			}},
		{op: "acceptPropertyInvitation", method: "POST", path: "/invitations/{invitationId}/accept", rule: ruleAccept,
			body: func(c *tmCall) tmBody {
				token := "not-the-token"
				for _, a := range c.w.accts {
					for _, p := range a.props {
						if p.invitation == c.vals["invitationId"] {
							token = p.invToken
						}
					}
				}
				return tmBody{json: map[string]any{"token": token}}
			}},
		// Bookings, access codes, guests.
		{op: "listPropertyBookings", method: "GET", path: "/properties/{propertyId}/bookings", rule: ruleProperty, perms: tmRead},
		// "areaId (an area of the property listed, or [for /bookings] of one the key reads ...; else 404)"
		{op: "listPropertyBookings", variant: "areaId", method: "GET", path: "/properties/{propertyId}/bookings?areaId={areaId}", rule: ruleProperty, perms: tmRead},
		{op: "listBookings", method: "GET", path: "/bookings", rule: ruleList, perms: tmRead, must: "bookingId"},
		{op: "listBookings", variant: "areaId", method: "GET", path: "/bookings?areaId={areaId}", rule: ruleProperty, perms: tmRead},
		{op: "getCurrentBooking", method: "GET", path: "/properties/{propertyId}/bookings/current", rule: ruleProperty, perms: tmRead},
		{op: "getBooking", method: "GET", path: "/bookings/{bookingId}", rule: ruleProperty, perms: tmRead},
		{op: "getCheckIn", method: "GET", path: "/bookings/{bookingId}/check-in", rule: ruleProperty, perms: tmRead},
		{op: "listAccessCodes", method: "GET", path: "/bookings/{bookingId}/access-codes", rule: ruleProperty, perms: tmRead},
		{op: "createBooking", method: "POST", path: "/properties/{propertyId}/bookings", rule: ruleProperty, perms: tmManage,
			bodyMiss: map[string][]int{"sandbox": {http.StatusNotFound, http.StatusUnprocessableEntity}, "userId": {http.StatusNotFound, http.StatusUnprocessableEntity}},
			body: func(c *tmCall) tmBody {
				start, end := future(c, uniq(c))
				return tmBody{json: map[string]any{"areaId": "{sandbox}", "guest": map[string]any{"userId": "{userId}"},
					"startDateTime": start, "endDateTime": end, "source": "web"}}
			}},
		{op: "updateBooking", method: "PATCH", path: "/bookings/{bookingId}", rule: ruleProperty, perms: tmManage,
			body: func(c *tmCall) tmBody {
				return tmBody{json: map[string]any{"endDateTime": rfc(c.w.start.Add(48 * time.Hour))}}
			}},
		{op: "checkInBooking", method: "POST", path: "/bookings/{bookingId}/check-in", rule: ruleProperty, perms: tmManage,
			body: tmJSON(map[string]any{"method": "manual"}),
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"bookingId": booking(c, now(c).Add(-10*time.Minute), now(c).Add(time.Hour))}
			},
			after: func(c *tmCall) {
				h(c).tmMust("POST", "/bookings/"+c.vals["bookingId"]+"/check-out", A(c).owner, map[string]any{"method": "manual"})
			}},
		{op: "checkInBooking", variant: "userId", method: "POST", path: "/bookings/{bookingId}/check-in", rule: ruleProperty, perms: tmManage,
			body: tmJSON(map[string]any{"method": "manual", "userId": "{other}"}),
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"bookingId": booking(c, now(c).Add(-10*time.Minute), now(c).Add(time.Hour))}
			},
			after: func(c *tmCall) {
				h(c).tmMust("POST", "/bookings/"+c.vals["bookingId"]+"/check-out", A(c).owner, map[string]any{"method": "manual"})
			}},
		{op: "checkOutBooking", method: "POST", path: "/bookings/{bookingId}/check-out", rule: ruleProperty, perms: tmManage,
			body: tmJSON(map[string]any{"method": "manual"}),
			fresh: func(c *tmCall) map[string]string {
				b := booking(c, now(c).Add(-10*time.Minute), now(c).Add(time.Hour))
				h(c).tmMust("POST", "/bookings/"+b+"/check-in", A(c).owner, map[string]any{"method": "manual"})
				return map[string]string{"bookingId": b}
			}},
		{op: "cancelBooking", method: "POST", path: "/bookings/{bookingId}/cancel", rule: ruleProperty, perms: tmManage,
			body: tmJSON(map[string]any{"reason": "byUser"}),
			fresh: func(c *tmCall) map[string]string {
				start, end := future(c, uniq(c))
				s, _ := time.Parse(time.RFC3339, start)
				e, _ := time.Parse(time.RFC3339, end)
				return map[string]string{"bookingId": booking(c, s, e)}
			}},
		{op: "createAccessCode", method: "POST", path: "/bookings/{bookingId}/access-codes", rule: ruleProperty, perms: tmManage, body: tmJSON(map[string]any{})},
		{op: "revokeAccessCode", method: "DELETE", path: "/access-codes/{accessCodeId}", rule: ruleProperty, perms: tmManage,
			fresh: func(c *tmCall) map[string]string {
				return map[string]string{"accessCodeId": h(c).tmMust("POST", "/bookings/"+A(c).props[c.slot].booking+"/access-codes", A(c).owner, map[string]any{}).field("accessCodeId")}
			}},
		{op: "registerGuest", method: "POST", path: "/bookings/{bookingId}/guests", rule: ruleProperty, perms: tmManage,
			body: tmJSON(map[string]any{"displayName": "matrix"})},
		{op: "eraseGuest", method: "DELETE", path: "/bookings/{bookingId}/guests/{guestId}", rule: ruleProperty, perms: tmManage,
			fresh: func(c *tmCall) map[string]string {
				r := h(c).tmMust("POST", "/bookings/"+c.vals["bookingId"]+"/guests", A(c).owner, map[string]any{"displayName": "fresh"})
				var out struct {
					Guest struct {
						GuestID string `json:"guestId"`
					} `json:"guest"`
				}
				_ = json.Unmarshal(r.Data, &out)
				return map[string]string{"guestId": out.Guest.GuestID}
			}},
		// Calendars.
		{op: "listPropertyCalendar", method: "GET", path: "/properties/{propertyId}/calendar", rule: ruleProperty, perms: tmRead},
		{op: "listUpcomingCalendar", method: "GET", path: "/calendar/upcoming", rule: ruleList, perms: tmRead, must: "bookingId"},
		{op: "listUpcomingTimeline", method: "GET", path: "/properties/{propertyId}/timeline/upcoming", rule: ruleProperty, perms: tmRead},
		// Audit.
		{op: "auditLockAccess", method: "GET", path: "/audit/locks/{lockId}/access?at={at}", rule: ruleProperty, perms: tmAuditors},
		{op: "auditDecision", method: "GET", path: "/audit/decisions?lockId={lockId}&userDeviceId={userDeviceId}&at={at}", rule: ruleProperty,
			perms: tmAuditors, bodyMiss: map[string][]int{"userDeviceId": {http.StatusOK}}},
		{op: "auditDecision", variant: "accessCodeId", method: "GET", path: "/audit/decisions?lockId={lockId}&accessCodeId={accessCodeId}&at={at}",
			rule: ruleProperty, perms: tmAuditors, bodyMiss: map[string][]int{"accessCodeId": {http.StatusOK}}},
		{op: "auditLockHistory", method: "GET", path: "/audit/locks/{lockId}/history", rule: ruleProperty, perms: tmAuditors},
		{op: "auditUserHistory", method: "GET", path: "/audit/users/{userId}/history", rule: ruleAccount, perms: tmAuditors,
			scoped: []int{http.StatusForbidden, http.StatusNotFound}}, // "a user's history needs them account-wide"
		{op: "auditPropertyHistory", method: "GET", path: "/audit/properties/{propertyId}/history", rule: ruleProperty, perms: tmAuditors},
		{op: "auditWhatIf", method: "POST", path: "/audit/what-if", rule: ruleWhatIf,
			body: tmJSON(map[string]any{"commands": []any{map[string]any{"method": "POST",
				"path": "/properties/{propertyId}/groups/{userGroupId}/users/{other}"}}})},
	}
}

// tmPropertyNames are the placeholders that name something in a property;
// the others name something of the account.
var tmPropertyNames = map[string]bool{"propertyId": true, "areaId": true, "sandbox": true, "userGroupId": true, "lockId": true,
	"bookingId": true, "accessCodeId": true, "guestId": true, "invitationId": true, "eventId": true}

// value is what placeholder name stands for in account src's property
// slot ("missing": an id of nobody).
func (w *tmWorld) value(rt *tmRoute, src string, slot int, name string) string {
	if name == "at" {
		return w.at
	}
	if src == "missing" {
		if name == "version" {
			return "0.0.0-nobody"
		}
		return w.missing[name]
	}
	a := w.accts[src]
	p := a.props[slot]
	switch name {
	case "propertyId":
		return p.id
	case "areaId":
		return p.area
	case "sandbox":
		return p.sandbox
	case "userGroupId":
		return p.group
	case "lockId":
		return p.lock.ID
	case "bookingId":
		return p.booking
	case "accessCodeId":
		return p.code
	case "guestId":
		return p.guest
	case "invitationId":
		return p.invitation
	case "eventId":
		return p.event
	case "lock0":
		return a.lock0.ID
	case "userId":
		switch rt.user {
		case "M":
			return a.member
		case "V":
			return a.other
		}
		return a.user
	case "other":
		return a.other
	case "userDeviceId":
		return a.phone.deviceID
	case "key":
		return a.apiKeyID
	case "webhookId":
		return a.webhook
	case "deliveryId":
		return a.delivery
	case "version":
		return a.version
	}
	panic("unknown placeholder " + name)
}

var tmPlaceholder = regexp.MustCompile(`\{([A-Za-z0-9]+)\}`)

// tmVariant is one choice of target: A's own ids in one property
// (home), or some of them replaced by another account's, nobody's or
// the other property's.
type tmVariant struct {
	name string
	slot int
	// over gives, per placeholder, where its id comes from instead:
	// "B", "C", "missing" or "P2" (A's other property).
	over map[string]string
	// group: answers of one group that refuse alike must be the same
	// bytes once ids are left out.
	group string
}

// placeholders lists the route's placeholders (path first, then query
// and body), and which are in the path proper.
func (rt *tmRoute) placeholders(w *tmWorld) (names []string, inPath map[string]bool) {
	inPath = map[string]bool{}
	add := func(s string, path bool) {
		for _, m := range tmPlaceholder.FindAllStringSubmatch(s, -1) {
			if m[1] == "at" {
				continue
			}
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
			if path {
				inPath[m[1]] = true
			}
		}
	}
	path, query, _ := strings.Cut(rt.path, "?")
	add(path, true)
	add(query, false)
	if rt.body != nil {
		b := rt.body(&tmCall{w: w, rt: rt, vals: map[string]string{}})
		if b.json != nil {
			raw, _ := json.Marshal(b.json)
			add(string(raw), false)
		}
	}
	return names, inPath
}

func (rt *tmRoute) variants(w *tmWorld) []tmVariant {
	names, _ := rt.placeholders(w)
	vs := []tmVariant{{name: "home", slot: 0, group: "home"}}
	if len(names) == 0 {
		return vs
	}
	hasProperty := slices.ContainsFunc(names, func(n string) bool { return tmPropertyNames[n] })
	if hasProperty {
		vs = append(vs, tmVariant{name: "home in P2", slot: 1, group: "all"})
	}
	for _, src := range []string{"B", "C", "missing"} {
		over := map[string]string{}
		for _, n := range names {
			over[n] = src
		}
		vs = append(vs, tmVariant{name: "all " + src, over: over, group: "all"})
	}
	if len(names) < 2 {
		return vs
	}
	for _, n := range names {
		vs = append(vs, tmVariant{name: "B@" + n, over: map[string]string{n: "B"}, group: "@" + n},
			tmVariant{name: "missing@" + n, over: map[string]string{n: "missing"}, group: "@" + n})
		if tmPropertyNames[n] && slices.ContainsFunc(names, func(o string) bool { return o != n && tmPropertyNames[o] }) {
			vs = append(vs, tmVariant{name: "P2@" + n, over: map[string]string{n: "P2"}, group: "@" + n})
		}
	}
	return vs
}

// resolve fills every placeholder of the route for a variant.
func (w *tmWorld) resolve(rt *tmRoute, v tmVariant) map[string]string {
	names, _ := rt.placeholders(w)
	vals := map[string]string{"at": w.at}
	for _, n := range names {
		switch src := v.over[n]; src {
		case "":
			vals[n] = w.value(rt, "A", v.slot, n)
		case "P2":
			vals[n] = w.value(rt, "A", 1, n)
		default:
			vals[n] = w.value(rt, src, v.slot, n)
		}
	}
	return vals
}

// tmExp is an expected answer: allowed (2xx), or one of codes.
type tmExp struct {
	ok    bool
	codes []int
}

func tmCodes(c ...int) tmExp { return tmExp{codes: c} }

func (e tmExp) String() string {
	if e.ok {
		return "2xx"
	}
	return fmt.Sprint(e.codes)
}

// want derives the expected answer from the README's rules.
func (w *tmWorld) want(rt *tmRoute, k *tmKey, v tmVariant) tmExp {
	if k.invalid {
		return tmCodes(http.StatusUnauthorized)
	}
	vals := w.resolve(rt, v)
	A := w.accts["A"]
	if k.lock >= 0 {
		// A lock's own key holds no permission: its sync only, and the
		// firmware version required of it.
		if rt.rule == ruleLockSync && vals["lockId"] == A.props[k.lock].lock.ID {
			return tmExp{ok: true}
		}
		if rt.op == "downloadFirmwareVersion" && k.lock == 0 && vals["version"] == A.version {
			return tmExp{ok: true}
		}
		return tmCodes(http.StatusForbidden)
	}
	names, inPath := rt.placeholders(w)
	// The anchor is the id the others hang from (the path's first that
	// names something in a property): its property is the target's.
	anchor := ""
	for _, n := range names {
		if tmPropertyNames[n] && (anchor == "" || inPath[n] && !inPath[anchor]) {
			anchor = n
		}
	}
	target := v.slot
	if v.over[anchor] == "P2" {
		target = 1
	}
	// How each id stands to the key: its account's own, in the target's
	// property; another account's or nobody's; or A's, in the other
	// property.
	foreign, mismatch := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		switch src := v.over[n]; {
		case src == "P2" && n != anchor:
			mismatch[n] = true
		case src == "" && v.over[anchor] == "P2" && tmPropertyNames[n] && n != anchor:
			mismatch[n] = true
		case src == "" && k.acct != "A", src != "" && src != "P2" && src != k.acct:
			foreign[n] = true
		}
	}
	refusedIDs := len(foreign)+len(mismatch) > 0
	switch rt.rule {
	case ruleGetMe:
		if k.perm == "me" {
			return tmExp{ok: true}
		}
		return tmCodes(http.StatusNotFound)
	case ruleLockSync:
		return tmCodes(http.StatusForbidden)
	case ruleAccept:
		if k.perm == "me" && k.user == "W" && !refusedIDs {
			return tmExp{ok: true}
		}
		if refusedIDs {
			return tmCodes(http.StatusForbidden, http.StatusNotFound)
		}
		return tmCodes(http.StatusForbidden)
	case ruleWhatIf:
		if k.perm == "owner" || k.perm == "support" {
			return tmExp{ok: true}
		}
		return tmCodes(http.StatusForbidden)
	}
	// A key scoped to one property does not see the other: whatever it
	// may do, the other's entities are not found, as another account's.
	outOfScope := rt.rule == ruleProperty && k.perm != "me" && k.scope >= 0 && (rt.unplaced || k.scope != target || foreign[anchor])
	if rt.rule != ruleAny {
		qualifies := k.perm == "owner" || slices.Contains(rt.perms, k.perm) || (rt.me && k.perm == "me")
		if k.perm == "me" && (k.acct != "A" || vals["userId"] != w.value(rt, "A", 0, "userId") || rt.user != "" || k.user != "U") {
			qualifies = false
		}
		if rt.rule == ruleAccount && k.scope >= 0 {
			qualifies = false
		}
		switch {
		case rt.rule == ruleAccount && k.scope >= 0 && rt.scoped != nil:
			return tmCodes(rt.scoped...)
		case !qualifies && (outOfScope || refusedIDs):
			// Both refusals apply; the README does not say which wins,
			// only that another account's id (or another property's, to
			// a key scoped to one) answers as nobody's: the matrix
			// compares the two answers.
			return tmCodes(http.StatusForbidden, http.StatusNotFound)
		case !qualifies:
			return tmCodes(http.StatusForbidden)
		}
	}
	if outOfScope && rt.filter && !inPath[anchor] {
		return tmCodes(http.StatusOK, http.StatusNotFound)
	}
	if outOfScope {
		return tmCodes(http.StatusNotFound)
	}
	// The ids are looked at in order, the path's first. An id of the
	// other property is, to a key that sees both, what otherProperty
	// says (else as another account's).
	for _, n := range names {
		if code, ok := rt.otherProperty[n]; ok && mismatch[n] && k.scope < 0 {
			if code == http.StatusOK {
				delete(mismatch, n)
				continue
			}
			return tmCodes(code)
		}
		if inPath[n] && (foreign[n] || mismatch[n]) {
			return tmCodes(http.StatusNotFound)
		}
	}
	for _, n := range names {
		if foreign[n] || mismatch[n] {
			if rt.filter {
				// A filter naming what the key does not see: an empty
				// list or a 404; the README says only that it is the
				// same as for an id of nobody.
				return tmCodes(http.StatusOK, http.StatusNotFound)
			}
			switch codes, set := rt.bodyMiss[n]; {
			case !set:
				return tmCodes(http.StatusNotFound)
			case slices.Equal(codes, []int{http.StatusOK}):
				// answered as an id of nobody, within a target of one's own
			default:
				return tmCodes(codes...)
			}
		}
	}
	return tmExp{ok: true}
}

// tmCall is one request of the matrix.
type tmCall struct {
	w    *tmWorld
	rt   *tmRoute
	key  *tmKey
	v    tmVariant
	slot int
	vals map[string]string
	exp  tmExp

	url    string
	body   tmBody
	status int
	raw    string
}

// fill replaces {name} in s.
func (c *tmCall) fill(s string) string {
	return tmPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := c.vals[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

func (c *tmCall) fillJSON(v any) any {
	switch x := v.(type) {
	case string:
		return c.fill(x)
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = c.fillJSON(e)
		}
		return out
	case map[string]string:
		out := map[string]any{}
		for k, e := range x {
			out[k] = c.fill(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.fillJSON(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.fill(e)
		}
		return out
	}
	return v
}

// prepare resolves the call's target, making a fresh one for an allowed
// write that destroys it.
func (c *tmCall) prepare() {
	c.vals = c.w.resolve(c.rt, c.v)
	c.slot = c.v.slot
	if c.exp.ok && c.rt.fresh != nil {
		for k, v := range c.rt.fresh(c) {
			c.vals[k] = v
		}
	}
	c.url = c.fill(c.rt.path)
	if c.rt.body != nil {
		c.body = c.rt.body(c)
		if c.body.json != nil {
			c.body.json = c.fillJSON(c.body.json)
		}
	}
}

// send makes the request; it may run on any goroutine.
func (c *tmCall) send(client *http.Client, base string) error {
	var rd io.Reader
	contentType := c.body.contentType
	switch {
	case c.body.raw != nil:
		rd = bytes.NewReader(c.body.raw)
	case c.body.json != nil:
		raw, err := json.Marshal(c.body.json)
		if err != nil {
			return err
		}
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(c.rt.method, base+c.url, rd)
	if err != nil {
		return err
	}
	if c.key.secret != "" {
		req.Header.Set("x-api-key", c.key.secret)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range c.body.header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	c.status, c.raw = resp.StatusCode, string(raw)
	return err
}

func (c *tmCall) requestText() string {
	raw, _ := json.Marshal(c.body.json)
	return c.url + " " + string(raw) + " " + string(c.body.raw)
}

var tmTime = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

var tmUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// normalized is an answer with its ids and versions left out.
func tmNormalized(raw string) string {
	raw = tmUUID.ReplaceAllString(raw, "<id>")
	raw = tmTime.ReplaceAllString(raw, "<time>")
	for _, v := range []string{"1.0.0-a", "1.0.0-b", "1.0.0-c", "0.0.0-nobody"} {
		raw = strings.ReplaceAll(raw, v, "<version>")
	}
	return raw
}

// tmProblem is one call that went wrong.
type tmProblem struct {
	route, key, variant string
	status              int
	text                string
}

// leaks reports what of another account (or of the other property, for a
// key scoped to one) an answer names, and text meant for others.
func (w *tmWorld) leaks(c *tmCall) string {
	asked := map[string]bool{}
	for _, id := range tmUUID.FindAllString(c.requestText(), -1) {
		asked[id] = true
	}
	allowedAcct := map[string]bool{}
	switch c.key.acct {
	case "A":
		allowedAcct[w.accts["C"].accountID] = true
	case "root":
		allowedAcct[w.accts["A"].accountID], allowedAcct[w.accts["B"].accountID] = true, true
	}
	// An account knows its parent's id (GET /account's parentAccountId).
	switch c.key.acct {
	case "A", "B":
		allowedAcct[w.idsOf["root"][0]] = true
	case "C":
		allowedAcct[w.accts["A"].accountID] = true
	}
	check := func(ids []string, what string) string {
		for _, id := range ids {
			if id != "" && !asked[id] && !allowedAcct[id] && strings.Contains(c.raw, id) {
				return fmt.Sprintf("LEAK of %s id %s: %.300s", what, id, c.raw)
			}
		}
		return ""
	}
	for acct, ids := range w.idsOf {
		if acct != c.key.acct {
			if p := check(ids, acct+"'s"); p != "" {
				return p
			}
		}
	}
	if c.key.acct == "A" && c.key.scope >= 0 {
		if p := check(w.propIDs[1-c.key.scope], "the other property's"); p != "" {
			return p
		}
	}
	if c.status >= 300 {
		return ""
	}
	lower := strings.ToLower(c.raw)
	for name := range w.accts {
		mine := c.key.acct == name
		if strings.Contains(c.raw, "ownerOnly"+name) && !(mine && c.key.perm == "owner" && c.key.scope < 0) &&
			!strings.Contains(c.requestText(), "ownerOnly"+name) {
			return fmt.Sprintf("LEAK of an owner-only key name or webhook URL of %s: %.300s", name, c.raw)
		}
		for _, u := range []string{"U", "V", "W", "M"} {
			if strings.Contains(lower, strings.ToLower(tmPriv(name, u))) &&
				!(mine && (c.key.perm == "owner" || c.key.perm == "manage-access" || (c.key.perm == "me" && c.key.user == u))) &&
				!strings.Contains(strings.ToLower(c.requestText()), strings.ToLower(tmPriv(name, u))) {
				return fmt.Sprintf("LEAK of user %s's private data: %.300s", u, c.raw)
			}
		}
	}
	return ""
}

// judge compares a call's answer with what the README says.
func (w *tmWorld) judge(c *tmCall) []string {
	var out []string
	switch {
	case c.status >= 500:
		out = append(out, fmt.Sprintf("5xx: %.200s", c.raw))
	case c.exp.ok:
		okay := c.status >= 200 && c.status < 300
		if c.rt.write() && slices.Contains(c.rt.also, c.status) {
			okay = true
		}
		if !okay {
			out = append(out, fmt.Sprintf("want 2xx: %.200s", c.raw))
		} else if c.rt.check != nil && c.status < 300 {
			if p := c.rt.check(c, c.raw); p != "" {
				out = append(out, p)
			}
		}
		if okay && c.rt.must != "" && c.key.acct == "A" {
			slot := max(c.key.scope, 0)
			if id := w.value(c.rt, "A", slot, c.rt.must); !strings.Contains(c.raw, id) {
				out = append(out, fmt.Sprintf("the list lacks %s %s of P%d: %.200s", c.rt.must, id, slot+1, c.raw))
			}
		}
	case !slices.Contains(c.exp.codes, c.status):
		out = append(out, fmt.Sprintf("want %v: %.200s", c.exp.codes, c.raw))
	}
	if p := w.leaks(c); p != "" {
		out = append(out, p)
	}
	return out
}

// keysFor lists the keys that call a route on a variant.
func (w *tmWorld) keysFor(v tmVariant) []*tmKey {
	var out []*tmKey
	subsetAll := []string{"A owner", "A owner@P1", "A owner@P2", "A manage-access@P1", "A support", "A support@P1",
		"A provision-lock", "A manage-firmware", "A me:U", "A me:V", "A lock@P1"}
	subsetChild := []string{"A owner", "A owner@P1", "A support", "A manage-access@P1", "A me:U"}
	subsetP2 := []string{"A owner", "A owner@P2", "A support@P2", "A manage-access@P2", "A me:U", "A lock@P1"}
	subsetOne := []string{"A owner", "A owner@P1", "A owner@P2", "A support@P1", "A me:U"}
	for _, k := range w.keys {
		switch {
		case v.name == "home":
			out = append(out, k)
		case v.name == "home in P2":
			if k.acct == "A" && !k.invalid && (k.scope == 0 || slices.Contains(subsetP2, k.name)) {
				out = append(out, k)
			}
		case v.name == "all C":
			if slices.Contains(subsetChild, k.name) {
				out = append(out, k)
			}
		case v.group == "all":
			if slices.Contains(subsetAll, k.name) {
				out = append(out, k)
			}
		default:
			if slices.Contains(subsetOne, k.name) {
				out = append(out, k)
			}
		}
	}
	return out
}

// tmHead is what the log holds: its head, and the newest page of
// events of A and of B as GET /events shows them.
func (w *tmWorld) tmHead() string {
	h := w.h
	head := h.headPosition()
	// Another key's write may still be on its way to the events list.
	require.NoError(h.t, h.set.WaitFor(h.t.Context(), head))
	a := h.tmMust("GET", "/events?eventSource=all", w.accts["A"].owner, nil)
	b := h.tmMust("GET", "/events?eventSource=all", w.accts["B"].owner, nil)
	return fmt.Sprintf("%d\n%s\n%s", head, a.Data, b.Data)
}

// whatIfInner checks the command of an allowed what-if: it must have been
// answered as the endpoint answers it (addUserToUserGroup).
func (w *tmWorld) whatIfInner(c *tmCall) string {
	inner := &tmRoute{op: "addUserToUserGroup", method: "POST", path: "/properties/{propertyId}/groups/{userGroupId}/users/{other}",
		rule: ruleProperty, perms: tmManage}
	exp := w.want(inner, c.key, c.v)
	var out struct {
		Commands []struct {
			Status     string `json:"status"`
			HTTPStatus int    `json:"httpStatus"`
		} `json:"commands"`
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal([]byte(c.raw), &env) != nil || json.Unmarshal(env.Data, &out) != nil || len(out.Commands) != 1 {
		return fmt.Sprintf("what-if answer unreadable: %.200s", c.raw)
	}
	got := out.Commands[0]
	switch {
	case exp.ok && got.Status != "applied" && got.Status != "unchanged":
		return fmt.Sprintf("what-if's command %s (%d), want it to run: %.200s", got.Status, got.HTTPStatus, c.raw)
	case !exp.ok && (got.Status != "failed" || !slices.Contains(exp.codes, got.HTTPStatus)):
		return fmt.Sprintf("what-if's command %s (%d), want failed with %v: %.200s", got.Status, got.HTTPStatus, exp.codes, c.raw)
	}
	return ""
}

func TestTenancyMatrix(t *testing.T) {
	w := buildTenancyWorld(t)
	h := w.h
	// Reads first, then writes; the invitee accepts last (and so gains
	// the invitations' permissions last).
	routes := tmRoutes()
	sort.SliceStable(routes, func(i, j int) bool {
		rank := func(rt *tmRoute) int {
			switch {
			case rt.method == "GET":
				return 0
			case rt.rule == ruleAccept:
				return 2
			}
			return 1
		}
		return rank(routes[i]) < rank(routes[j])
	})

	// The table covers /openapi.json, and /openapi.json the table.
	resp, err := h.client.Get(h.srv.URL + "/openapi.json")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Security    []any  `json:"security"`
		} `json:"paths"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()
	shape := func(p string) string {
		p, _, _ = strings.Cut(p, "?")
		return tmPlaceholder.ReplaceAllString(strings.Replace(p, "9.9.9", "{version}", 1), "{}")
	}
	documented := map[string]string{}
	secured := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if len(op.Security) == 0 {
				r := h.do(strings.ToUpper(method), path, "", nil)
				require.Equal(t, http.StatusOK, r.Status, "public %s %s", method, path)
				continue
			}
			secured++
			documented[op.OperationID] = strings.ToUpper(method) + " " + shape(path)
		}
	}
	covered := map[string]bool{}
	for _, rt := range routes {
		got := rt.method + " " + shape(rt.path)
		require.Equal(t, documented[rt.op], got, "%s: the table's route is not the one /openapi.json documents", rt.name())
		covered[rt.op] = true
	}
	for op, route := range documented {
		require.True(t, covered[op], "%s (%s) is in /openapi.json but not in the tenancy matrix", op, route)
	}

	var problems []tmProblem
	var guestData []string
	calls := 0
	firstAnswer := map[string]*tmCall{}
	report := func(c *tmCall, text string) {
		problems = append(problems, tmProblem{route: c.rt.name(), key: c.key.name, variant: c.v.name, status: c.status, text: text})
	}
	send := func(c *tmCall) {
		if err := c.send(h.client, h.srv.URL); err != nil {
			c.status, c.raw = -1, err.Error()
		}
	}
	// Refused calls change nothing, so they run side by side; allowed
	// writes one at a time, each on its own fresh target where it
	// destroys one.
	runParallel := func(batch []*tmCall) {
		var wg sync.WaitGroup
		next := make(chan *tmCall)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range next {
					send(c)
				}
			}()
		}
		for _, c := range batch {
			next <- c
		}
		close(next)
		wg.Wait()
	}
	runInTurn := func(batch []*tmCall) {
		for _, c := range batch {
			c.prepare()
			send(c)
			if c.rt.after != nil && c.status >= 200 && c.status < 300 {
				c.rt.after(c)
			}
		}
	}

	nAllowed := 0
	for _, rt := range routes {
		var refused, allowed []*tmCall
		for _, v := range rt.variants(w) {
			for _, k := range w.keysFor(v) {
				c := &tmCall{w: w, rt: rt, key: k, v: v, exp: w.want(rt, k, v)}
				if c.exp.ok && rt.write() {
					// An allowed write is made once per permission, account-
					// wide and scoped to the target's property: the same
					// key on the other property, or a key scoped to the
					// other property on a route that takes any scope,
					// proves nothing more.
					if (v.slot == 1 && k.scope < 0) || (k.scope >= 0 && k.scope != v.slot) {
						continue
					}
					allowed = append(allowed, c)
				} else {
					c.prepare()
					refused = append(refused, c)
				}
			}
		}
		var before string
		if rt.write() {
			before = w.tmHead()
		}
		runParallel(refused)
		if rt.write() {
			if after := w.tmHead(); after != before {
				problems = append(problems, tmProblem{route: rt.name(), key: "-", variant: "-",
					text: "refused writes changed the log (head or GET /events)"})
			}
		}
		runInTurn(allowed)
		nAllowed += len(allowed)
		if len(refused)+len(allowed) == 0 {
			problems = append(problems, tmProblem{route: rt.name(), key: "-", variant: "-",
				text: "no key was sent to the row: it judges nothing"})
		}
		if rt.write() && rt.also == nil && !slices.ContainsFunc(allowed, func(c *tmCall) bool { return c.status >= 200 && c.status < 300 }) {
			problems = append(problems, tmProblem{route: rt.name(), key: "-", variant: "-",
				text: "no allowed call answered 2xx: the table's body or target is not one the route takes"})
		}
		for _, c := range append(refused, allowed...) {
			calls++
			for _, p := range w.judge(c) {
				report(c, p)
			}
			if c.status < 300 && strings.Contains(strings.ToLower(c.raw), "guestdata") {
				guestData = append(guestData, rt.name()+" "+c.key.name)
			}
			if rt.rule == ruleWhatIf && c.exp.ok && c.status == http.StatusOK {
				if p := w.whatIfInner(c); p != "" {
					report(c, p)
				}
			}
			// The answers of one group (another account's id, nobody's,
			// the other property's) must be the same bytes, ids left out.
			group := c.v.group
			if c.key.invalid {
				group = "invalid key" // one answer, whatever the key and the ids
			}
			if strings.HasPrefix(c.v.name, "P2@") && c.key.scope != 0 {
				group = "home" // a key that sees the other property
			}
			if c.v.over == nil {
				// A's own: alike only when the key is scoped to the other
				// property.
				group = "home"
				if rt.rule == ruleProperty && c.key.acct == "A" && c.key.perm != "me" && c.key.scope >= 0 && (rt.unplaced || c.key.scope != c.v.slot) {
					group = "all"
				}
			}
			if group != "home" {
				g := rt.name() + "|" + c.key.name + "|" + group
				if c.key.invalid {
					g = "|invalid key"
				}
				if first, ok := firstAnswer[g]; !ok {
					firstAnswer[g] = c
				} else if first.status != c.status || tmNormalized(first.raw) != tmNormalized(c.raw) {
					report(c, fmt.Sprintf("answers %d %.200s unlike %s's %d %.200s", c.status, c.raw, first.v.name, first.status, first.raw))
				}
			}
		}
	}

	if len(guestData) > 0 {
		sort.Strings(guestData)
		t.Logf("a guest's details (by name) were answered to: %s", strings.Join(slices.Compact(guestData), "; "))
	}
	t.Logf("tenancy matrix: %d secured routes of /openapi.json (%d rows), %d keys, %d calls (%d allowed writes)",
		secured, len(routes), len(w.keys), calls, nAllowed)
	if len(problems) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%d calls of the tenancy matrix went wrong:\n", len(problems))
		for _, p := range problems {
			fmt.Fprintf(&b, "  %-34s %-22s %-18s %3d  %s\n", p.route, p.key, p.variant, p.status, p.text)
		}
		t.Error(b.String())
	}
}
