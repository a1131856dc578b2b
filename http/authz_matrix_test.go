package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"
)

// The authorization matrix: every operation of /openapi.json is called by
// every kind of caller that must be refused, in a world of two accounts,
// and any answer that lets data of another account (or of a property out
// of the key's scope) through, or any 5xx, fails the test. Operations come
// from the document, so a new route is in the matrix from its first
// commit; one the matrix cannot fill (an unknown path parameter, no
// permission recorded, no body) fails the test too.

// leakA marks the names of everything of account A; leakP1 those of A's
// first property: an answer to another account (or to a key scoped to A's
// second property) that contains them leaks.
const (
	leakA  = "AccountAleak"
	leakP1 = "FirstPropertyOnly"
	// leakDomain is in A's e-mails and webhook URL.
	leakDomain = "aleak.example"
)

// matrixOp is one secured operation of /openapi.json.
type matrixOp struct {
	Method, Path string
	OperationID  string                 `json:"operationId"`
	Permissions  []string               `json:"x-permissions"`
	LockKey      bool                   `json:"x-lock-key"`
	Security     []map[string][]string  `json:"security"`
	RequestBody  *struct{ Content any } `json:"requestBody"`
}

// matrixBody is the body an operation is called with.
type matrixBody struct {
	json        any
	raw         []byte
	contentType string
	header      map[string]string
}

// noBody marks an operation whose requestBody is optional and sent empty.
var noBody = func(*matrixWorld) matrixBody { return matrixBody{} }

// matrixWorld is account A's world and the keys that call into it.
type matrixWorld struct {
	ownerA, ownerB, scopedP2 string
	// meUser is a `me` key of the user in the paths; lockKey the own key
	// of the lock in the paths.
	meUser, lockKey string
	// lacking holds, per permission, a key of A with only that permission
	// ("me": a `me` key of a user with no permissions).
	lacking map[string]string
	// ids fills path parameters with A's entities; p1 lists the ids of
	// what is in A's first property; all every id of A.
	ids     map[string]string
	p1, all []string
	// p2 is A's second property, the one scopedP2 owns.
	p2       string
	start    time.Time
	lockKeys [2]string
	devKeys  [2]string
	// deleted holds the ids of the world's entities a request deleted
	// (FuzzRequests).
	deleted map[string]bool
}

// matrixBodies is the minimal valid body of every operation that takes one.
var matrixBodies = map[string]func(w *matrixWorld) matrixBody{
	"updateAccount":      jsonBody(map[string]any{"displayName": "matrix"}),
	"createApiKey":       jsonBody(map[string]any{"displayName": "matrix", "apiPermissions": []any{perm("support")}}),
	"registerAccount":    jsonBody(map[string]any{"displayName": "matrix"}),
	"createProperty":     jsonBody(map[string]any{"displayName": "matrix"}),
	"updateProperty":     jsonBody(map[string]any{"displayName": "matrix"}),
	"createArea":         jsonBody(map[string]any{"displayName": "matrix", "areaType": "resident"}),
	"updateArea":         jsonBody(map[string]any{"displayName": "matrix", "areaType": "resident", "accessList": []any{}}),
	"createUserGroup":    jsonBody(map[string]any{"displayName": "matrix", "groupType": "staff"}),
	"updateUserGroup":    jsonBody(map[string]any{"displayName": "matrix", "groupType": "staff"}),
	"addUserToUserGroup": noBody,
	"createUser":         jsonBody(map[string]any{"displayName": "matrix", "userPermissions": []any{}}),
	"updateUser":         jsonBody(map[string]any{"displayName": "matrix", "userPermissions": []any{}}),
	"provisionUserDevice": func(w *matrixWorld) matrixBody {
		return matrixBody{json: deviceBody("matrix", w.devKeys[0], w.devKeys[1])}
	},
	"updateUserDevice": func(w *matrixWorld) matrixBody {
		return matrixBody{json: deviceBody("matrix", w.devKeys[0], w.devKeys[1])}
	},
	"syncUserDevice": func(*matrixWorld) matrixBody {
		return matrixBody{raw: []byte(`{"deviceType":"iOS","currentUserAccessMapVersion":0}`), contentType: "application/json",
			header: map[string]string{"x-device-signature": "c2lnbmF0dXJl"}}
	},
	"provisionLock": func(w *matrixWorld) matrixBody {
		return matrixBody{json: map[string]any{"displayName": "matrix", "publicKey": w.lockKeys[0], "encryptionPublicKey": w.lockKeys[1]}}
	},
	"updateLock":  jsonBody(map[string]any{"displayName": "matrix"}),
	"installLock": noBody, "uninstallLock": noBody,
	"syncLock": func(*matrixWorld) matrixBody {
		return matrixBody{raw: []byte(`{"currentFirmwareVersion":"1.0.0","currentKeyMapVersion":0}`), contentType: "application/json",
			header: map[string]string{"x-lock-signature": "c2lnbmF0dXJl"}}
	},
	"triggerEventProcessing": noBody,
	"uploadFirmwareVersion": func(*matrixWorld) matrixBody {
		return matrixBody{raw: bytes.Repeat([]byte{0x5a}, 512), contentType: "application/octet-stream"}
	},
	"assignFirmwareVersion": noBody, "unassignFirmwareVersion": noBody,
	"createPropertyInvitation": jsonBody(map[string]any{"email": "matrix@example.com", "role": "staff"}),
	"acceptPropertyInvitation": jsonBody(map[string]any{"token": "matrix"}),
	"updatePropertyMember":     jsonBody(map[string]any{"role": "staff"}),
	"createBooking": func(w *matrixWorld) matrixBody {
		return matrixBody{json: map[string]any{"areaId": w.ids["areaId"], "guest": map[string]any{"userId": w.ids["userId"]},
			"startDateTime": rfc(w.start.Add(100 * 24 * time.Hour)), "endDateTime": rfc(w.start.Add(101 * 24 * time.Hour)), "source": "web"}}
	},
	"updateBooking": func(w *matrixWorld) matrixBody {
		return matrixBody{json: map[string]any{"endDateTime": rfc(w.start.Add(72 * time.Hour))}}
	},
	"checkInBooking":        jsonBody(map[string]any{"method": "manual"}),
	"checkOutBooking":       jsonBody(map[string]any{"method": "manual"}),
	"cancelBooking":         jsonBody(map[string]any{"reason": "byUser"}),
	"createAccessCode":      jsonBody(map[string]any{"code": "739146"}),
	"registerGuest":         jsonBody(map[string]any{"displayName": "matrix"}),
	"createWebhook":         jsonBody(map[string]any{"url": "https://hooks.example.com/matrix", "eventTypes": []string{"LockInstalled"}}),
	"replayWebhookDelivery": noBody,
	"auditWhatIf": func(w *matrixWorld) matrixBody {
		return matrixBody{json: map[string]any{"commands": []any{map[string]any{
			"method": "POST", "path": grpMemberPath(w.ids["propertyId"], w.ids["userGroupId"], w.ids["userId"]),
		}}}}
	},
}

// matrixQueries are query strings an operation needs to reach its
// authorization; {name} is filled like a path parameter.
var matrixQueries = map[string]string{
	"listLocks":               "?propertyId={propertyId}",
	"listEvents":              "?eventSource=all",
	"auditDecision":           "?lockId={lockId}&userDeviceId={userDeviceId}&at={at}",
	"auditLockAccess":         "?at={at}",
	"assignFirmwareVersion":   "?scope=lock&lockId={lockId}",
	"unassignFirmwareVersion": "?scope=lock&lockId={lockId}",
	"uninstallLock":           "?uninstallMode=area",
}

// matrixOwnerMiss lists the reads A's own owner key is not answered 2xx,
// and why; every other read must answer A's owner, so the refusals the
// matrix sees are not refusals of ids that do not exist.
var matrixOwnerMiss = map[string]string{
	"getMe": "an owner key acts for no user",
}

// matrixOthers is what a key that may not call an operation at all gets
// where that is not 403, and why.
var matrixOthers = map[string]int{
	// /me is the key's own user: a key acting for no user has none
	// (users_test.go), as a `me` key of a deleted user.
	"getMe": http.StatusNotFound,
}

func jsonBody(v any) func(*matrixWorld) matrixBody {
	return func(*matrixWorld) matrixBody { return matrixBody{json: v} }
}

// buildMatrixWorld creates accounts A and B; A gets two properties, the
// first with an area, an installed lock, a group, a user with a phone who
// is a member, a booking with an access code, a pending invitation; and a
// firmware version.
func (h *harness) buildMatrixWorld() *matrixWorld {
	h.t.Helper()
	t := h.t
	w := &matrixWorld{ownerA: h.newAccount(), ownerB: h.newAccount(), lacking: map[string]string{}, ids: map[string]string{},
		start: h.clock.Now().Truncate(time.Second)}
	w.lockKeys[0], w.lockKeys[1] = lockKeys(t)
	w.devKeys[0], w.devKeys[1] = deviceKeys(t)
	a := w.ownerA
	mk := func(method, path string, body any, field string) string {
		r := h.do(method, path, a, body)
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.Status, "%s %s: %s", method, path, r.Error)
		id := r.field(field)
		require.NotEmpty(t, id, "%s %s: no %s in %s", method, path, field, r.Data)
		return id
	}
	p1 := mk("POST", "/properties", map[string]any{"displayName": leakA + "-" + leakP1 + " house"}, "propertyId")
	p2 := mk("POST", "/properties", map[string]any{"displayName": leakA + " second house"}, "propertyId")
	area := mk("POST", areasPath(p1), map[string]any{"displayName": leakA + "-" + leakP1 + " flat", "areaType": "resident"}, "areaId")
	pub, enc := lockKeys(t)
	provisioned := h.do("POST", "/locks", a, map[string]any{"displayName": leakA + "-" + leakP1 + " door", "publicKey": pub, "encryptionPublicKey": enc})
	require.Equal(t, http.StatusCreated, provisioned.Status, provisioned.Error)
	lock := decodeLock(t, provisioned)
	require.NotNil(t, lock.Private)
	lockID := lock.LockID
	w.lockKey = lock.Private.APIKey
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p1, area, lockID), a, nil).Status)
	userID := mk("POST", "/users", map[string]any{"displayName": leakA + " guest", "userPermissions": []any{},
		"private": map[string]string{"email": "guest@" + leakDomain}}, "userId")
	pub, enc = deviceKeys(t)
	deviceID := mk("POST", "/users/"+userID+"/devices", deviceBody(leakA+" phone", pub, enc), "userDeviceId")
	group := mk("POST", grpListPath(p1), map[string]any{"displayName": leakA + "-" + leakP1 + " staff", "groupType": "staff"}, "userGroupId")
	require.Equal(t, http.StatusOK, h.do("POST", grpMemberPath(p1, group, userID), a, nil).Status)
	booking := mk("POST", "/properties/"+p1+"/bookings", map[string]any{"areaId": area, "guest": map[string]any{"userId": userID},
		"startDateTime": rfc(w.start.Add(-time.Hour)), "endDateTime": rfc(w.start.Add(48 * time.Hour)), "source": "web"}, "bookingId")
	code := mk("POST", "/bookings/"+booking+"/access-codes", map[string]any{}, "accessCodeId")
	guestReg := h.do("POST", "/bookings/"+booking+"/guests", a, map[string]any{"displayName": leakA + " visitor"})
	require.Equal(t, http.StatusCreated, guestReg.Status, guestReg.Error)
	var guestOut struct {
		Guest struct {
			GuestID string `json:"guestId"`
		} `json:"guest"`
	}
	require.NoError(t, json.Unmarshal(guestReg.Data, &guestOut))
	// The guest joins the first property through an invitation; another
	// stays pending.
	w.meUser = h.newKey(a, map[string]string{"permission": "me", "userId": userID})
	meUser := w.meUser
	inv := h.do("POST", "/properties/"+p1+"/invitations", a, map[string]any{"email": "guest@" + leakDomain, "role": "staff"})
	require.Equal(t, http.StatusCreated, inv.Status, inv.Error)
	acc := h.do("POST", "/invitations/"+inv.field("invitationId")+"/accept", meUser, map[string]string{"token": inv.field("token")})
	require.Equal(t, http.StatusOK, acc.Status, acc.Error)
	invitation := mk("POST", "/properties/"+p1+"/invitations", map[string]any{"email": "pending@" + leakDomain, "role": "staff"}, "invitationId")
	h.fwMustUpload(a, "1.0.0")
	keyID := mk("POST", "/accounts/keys", map[string]any{"displayName": leakA + " key", "apiPermissions": []any{perm("support")}}, "apiKeyId")

	other := mk("POST", "/users", map[string]any{"displayName": leakA + " nobody", "userPermissions": []any{}}, "userId")
	for _, p := range []string{"support", "install-lock", "provision-lock", "manage-firmware", "manage-access"} {
		w.lacking[p] = h.newKey(a, perm(p))
	}
	w.lacking["me"] = h.newKey(a, map[string]string{"permission": "me", "userId": other})
	w.scopedP2 = h.newKey(a, scopedPerm("owner", p2))

	events := h.do("GET", "/events?eventSource=all", a, nil)
	require.Equal(t, http.StatusOK, events.Status, events.Error)
	var page struct {
		Events []struct {
			EventID string `json:"eventId"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal(events.Data, &page))
	require.NotEmpty(t, page.Events)
	eventID := page.Events[0].EventID

	hook := h.do("POST", "/accounts/webhooks", a, map[string]any{"url": "https://" + leakDomain + "/hook", "eventTypes": []string{"LockInstalled"}})
	require.Equal(t, http.StatusCreated, hook.Status, hook.Error)
	webhookID := hook.field("webhookId")

	// B has a world of its own, so its lists are not empty by accident.
	h.mkProperty(w.ownerB, "B house")

	w.ids = map[string]string{
		"propertyId": p1, "areaId": area, "lockId": lockID, "userId": userID, "userDeviceId": deviceID,
		"userGroupId": group, "bookingId": booking, "accessCodeId": code, "invitationId": invitation,
		"key": keyID, "eventId": eventID, "version": "1.0.0", "at": rfc(w.start),
		"webhookId": webhookID, "deliveryId": uuid.NewString(), "guestId": guestOut.Guest.GuestID,
	}
	w.p1, w.p2 = []string{p1, area, lockID, group, booking, code, invitation}, p2
	w.all = append([]string{p2, other, h.do("GET", "/account", a, nil).field("accountId")}, w.p1...)
	w.all = append(w.all, userID, deviceID, keyID, eventID, webhookID)
	return w
}

// matrixOps reads the secured operations of /openapi.json, GETs first and
// DELETEs last, so what the refused calls would have removed is there for
// every other call.
func (h *harness) matrixOps() []matrixOp {
	h.t.Helper()
	resp, err := h.client.Get(h.srv.URL + "/openapi.json")
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]matrixOp `json:"paths"`
	}
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&doc))
	var ops []matrixOp
	for path, byMethod := range doc.Paths {
		for method, op := range byMethod {
			op.Method, op.Path = strings.ToUpper(method), path
			ops = append(ops, op)
		}
	}
	order := map[string]int{"GET": 0, "PUT": 1, "PATCH": 2, "POST": 3, "DELETE": 4}
	sort.Slice(ops, func(i, j int) bool {
		if order[ops[i].Method] != order[ops[j].Method] {
			return order[ops[i].Method] < order[ops[j].Method]
		}
		return ops[i].Path < ops[j].Path
	})
	return ops
}

var matrixParam = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// fill replaces {name} with A's id of that name; missing names are
// returned.
func (w *matrixWorld) fill(s string) (string, []string) {
	var missing []string
	out := matrixParam.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := w.ids[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	return out, missing
}

// containsAny reports the first of needles in s.
func containsAny(s string, needles ...string) string {
	for _, n := range needles {
		if n != "" && strings.Contains(s, n) {
			return n
		}
	}
	return ""
}

// matrixCall sends one request and answers its status and raw body.
func (h *harness) matrixCall(method, url, key string, b matrixBody) (int, string) {
	h.t.Helper()
	var rd io.Reader
	contentType := b.contentType
	switch {
	case b.raw != nil:
		rd = bytes.NewReader(b.raw)
	case b.json != nil:
		raw, err := json.Marshal(b.json)
		require.NoError(h.t, err)
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, h.srv.URL+url, rd)
	require.NoError(h.t, err)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range b.header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, string(raw)
}

// matrixRow is one call of the matrix that went wrong.
type matrixRow struct {
	op, caller string
	status     int
	problem    string
}

func TestAuthorizationMatrix(t *testing.T) {
	h := newHarness(t)
	w := h.buildMatrixWorld()
	ops := h.matrixOps()

	// Every route the router serves is in the document the matrix reads.
	documented := map[string]bool{}
	for _, op := range ops {
		documented[op.Method+" "+op.Path] = true
	}
	require.NoError(t, h.srv.Config.Handler.(interface{ Walk(mux.WalkFunc) error }).Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, _ := route.GetPathTemplate()
		methods, _ := route.GetMethods()
		for _, m := range methods {
			if path != "/openapi.json" && !documented[m+" "+path] {
				t.Errorf("%s %s is served but not in /openapi.json, so not in the matrix", m, path)
			}
		}
		return nil
	}))

	var rows []matrixRow
	secured := 0
	for _, op := range ops {
		if len(op.Security) == 0 {
			continue // public: health, metrics, the server's key
		}
		secured++
		name := op.OperationID + " (" + op.Method + " " + op.Path + ")"
		fail := func(caller string, status int, format string, args ...any) {
			rows = append(rows, matrixRow{op: name, caller: caller, status: status, problem: fmt.Sprintf(format, args...)})
		}
		path, missing := w.fill(op.Path)
		query, missingQ := w.fill(matrixQueries[op.OperationID])
		if len(missing)+len(missingQ) > 0 {
			fail("-", 0, "no id of account A for path parameter(s) %v: add it to buildMatrixWorld", append(missing, missingQ...))
			continue
		}
		if op.Permissions == nil && !op.LockKey {
			fail("-", 0, "no x-permissions in /openapi.json: add the operation to routePermissions")
			continue
		}
		body := matrixBody{}
		if op.RequestBody != nil {
			mkBody, ok := matrixBodies[op.OperationID]
			if !ok {
				fail("-", 0, "no body in matrixBodies")
				continue
			}
			body = mkBody(w)
		}
		url := path + query
		params := matrixParam.FindAllStringSubmatch(op.Path, -1)
		var idsInPath []string
		for _, p := range params {
			// A firmware version is named within its account: B's upload of
			// 1.0.0 makes B's own (after the GETs and PUTs, which find none).
			if p[1] != "version" || op.OperationID != "uploadFirmwareVersion" {
				idsInPath = append(idsInPath, w.ids[p[1]])
			}
		}
		inP1 := containsAny(url, w.p1...) != ""

		// No key: 401.
		if status, raw := h.matrixCall(op.Method, url, "", body); status != http.StatusUnauthorized {
			fail("no key", status, "want 401: %.120s", raw)
		}

		others, hasOthers := matrixOthers[op.OperationID]

		// Account B's owner: A's ids are not found; B's lists show B's.
		status, raw := h.matrixCall(op.Method, url, w.ownerB, body)
		leak := containsAny(raw, append([]string{leakA, leakDomain}, w.all...)...)
		switch {
		case status >= 500:
			fail("B owner", status, "5xx: %.120s", raw)
		case status < 300 && leak != "":
			fail("B owner", status, "LEAK of A's %q: %.200s", leak, raw)
		case len(idsInPath) > 0 && !slices.Contains(op.Permissions, "owner") && status == http.StatusForbidden:
			// No owner may call it (a lock's own key, a `me` key): 403
			// whether the resource exists or not.
			if s, _ := h.matrixCall(op.Method, w.randomized(url), w.ownerB, body); s != status {
				fail("B owner", status, "answers %d where the resource does not exist: the status tells A's exists", s)
			}
		case len(idsInPath) > 0 && status != http.StatusNotFound:
			fail("B owner", status, "want 404 for A's ids: %.120s", raw)
		case status < 300 && containsAny(query, w.all...) != "" && op.Method != "GET":
			fail("B owner", status, "acted on A's ids in the query: %.120s", raw)
		case hasOthers:
			if status != others {
				fail("B owner", status, "want %d: %.120s", others, raw)
			}
		case op.Method == "GET" && len(params) == 0 && query == "" && status != http.StatusOK:
			fail("B owner", status, "want 200 with B's own: %.120s", raw)
		}

		// Every key of A without the permission: 403. Reads with a key
		// that holds one: not 403, so x-permissions is not narrower than
		// what the handler lets through.
		for _, lacking := range w.lackingKeys(op) {
			want := http.StatusForbidden
			if hasOthers {
				want = others
			}
			if status, raw := h.matrixCall(op.Method, url, w.lacking[lacking], body); status != want {
				fail("A "+lacking, status, "want %d (needs %v): %.120s", want, op.Permissions, raw)
			}
		}
		if op.Method == "GET" {
			for _, p := range op.Permissions {
				key := w.lacking[p]
				if p == "me" {
					key = w.meUser
				}
				if key == "" {
					continue // owner: below
				}
				if status, raw := h.matrixCall(op.Method, url, key, body); status == http.StatusForbidden || status == http.StatusUnauthorized {
					fail("A "+p, status, "x-permissions lets it through: %.120s", raw)
				}
			}
		}

		// The lock's own key: only for the lock's own routes.
		if !op.LockKey {
			if status, raw := h.matrixCall(op.Method, url, w.lockKey, body); status != http.StatusForbidden {
				fail("A lock's key", status, "want 403: %.120s", raw)
			}
		}

		// An owner of A's second property: the first's resources are not
		// found, and nothing of the first shows.
		status, raw = h.matrixCall(op.Method, url, w.scopedP2, body)
		leak = containsAny(raw, append([]string{leakP1}, w.p1...)...)
		switch {
		case status >= 500:
			fail("A owner of P2", status, "5xx: %.120s", raw)
		case inP1 && !slices.Contains(op.Permissions, "owner") && status == http.StatusForbidden:
			// No owner may call it (a lock's own key, a `me` key): 403
			// whether the resource exists or not.
			if s, _ := h.matrixCall(op.Method, w.randomized(url), w.scopedP2, body); s != status {
				fail("A owner of P2", status, "answers %d where the resource does not exist: the status tells it exists", s)
			}
		case inP1 && status != http.StatusNotFound:
			fail("A owner of P2", status, "want 404 for the first property's resources: %.120s", raw)
		case status < 300 && leak != "":
			fail("A owner of P2", status, "LEAK of P1's %q: %.200s", leak, raw)
		}

		// A's own owner reads it: the ids are real.
		if op.Method == "GET" {
			if _, miss := matrixOwnerMiss[op.OperationID]; !miss {
				if status, raw := h.matrixCall(op.Method, url, w.ownerA, body); status != http.StatusOK {
					fail("A owner", status, "want 200, the matrix's ids must be real: %.120s", raw)
				}
			}
		}
	}
	require.Greater(t, secured, 80, "the matrix must cover the whole API")
	if len(rows) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%d of %d operations failed the authorization matrix:\n", len(rows), secured)
		for _, r := range rows {
			fmt.Fprintf(&b, "  %-70s %-16s %3d  %s\n", r.op, r.caller, r.status, r.problem)
		}
		t.Error(b.String())
	}
	t.Logf("authorization matrix: %d secured operations", secured)
}

// randomized replaces A's ids in url by ids that exist nowhere.
func (w *matrixWorld) randomized(url string) string {
	for _, id := range w.all {
		url = strings.ReplaceAll(url, id, uuid.NewString())
	}
	return url
}

// lackingKeys lists the keys of A that hold none of the operation's
// permissions.
func (w *matrixWorld) lackingKeys(op matrixOp) []string {
	var out []string
	for _, p := range []string{"support", "install-lock", "provision-lock", "manage-firmware", "manage-access", "me"} {
		if !slices.Contains(op.Permissions, p) {
			out = append(out, p)
		}
	}
	return out
}
