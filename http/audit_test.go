package httpapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type auditAccess struct {
	LockID        string `json:"lockId"`
	KeyMapVersion int    `json:"keyMapVersion"`
	KeyMapHash    string `json:"keyMapHash"`
	EntriesHash   string `json:"entriesHash"`
	Entries       []struct {
		UserID       string `json:"userId"`
		UserDeviceID string `json:"userDeviceId"`
		Via          struct {
			AreaID      string `json:"areaId"`
			AccessType  string `json:"accessType"`
			UserGroupID string `json:"userGroupId"`
		} `json:"via"`
		Schedule json.RawMessage `json:"schedule"`
		OpenNow  bool            `json:"openNow"`
	} `json:"entries"`
}

type auditLink struct {
	Link        string     `json:"link"`
	Missing     bool       `json:"missing"`
	EventType   string     `json:"eventType"`
	EventID     string     `json:"eventId"`
	RecordedAt  *time.Time `json:"recordedAt"`
	APIKeyID    string     `json:"apiKeyId"`
	AreaID      string     `json:"areaId"`
	AccessType  string     `json:"accessType"`
	UserGroupID string     `json:"userGroupId"`
	ValidFrom   *time.Time `json:"validFrom"`
}

type auditDecision struct {
	Allowed bool        `json:"allowed"`
	Reason  string      `json:"reason"`
	Path    []auditLink `json:"path"`
}

// settle waits until every projection has applied the whole log, then
// returns an instant after everything recorded so far.
func (h *harness) settle() time.Time {
	h.t.Helper()
	ctx := context.Background()
	head, err := h.store.HeadPosition(ctx)
	require.NoError(h.t, err)
	require.NoError(h.t, h.set.WaitFor(ctx, head))
	time.Sleep(2 * time.Millisecond)
	at := time.Now().UTC()
	time.Sleep(2 * time.Millisecond)
	return at
}

func (h *harness) auditAccess(key, lockID string, at time.Time) auditAccess {
	h.t.Helper()
	r := h.do("GET", "/audit/locks/"+lockID+"/access?at="+url.QueryEscape(at.Format(time.RFC3339Nano)), key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var out auditAccess
	require.NoError(h.t, json.Unmarshal(r.Data, &out))
	return out
}

func (h *harness) auditDecide(lockID, deviceID string, at time.Time) auditDecision {
	h.t.Helper()
	r := h.do("GET", "/audit/decisions?lockId="+lockID+"&userDeviceId="+deviceID+"&at="+url.QueryEscape(at.Format(time.RFC3339Nano)), rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var out auditDecision
	require.NoError(h.t, json.Unmarshal(r.Data, &out))
	return out
}

// rawGet returns the status, content type and body of a GET.
func (h *harness) rawGet(path, key string) (int, string, string) {
	h.t.Helper()
	req, err := http.NewRequest("GET", h.srv.URL+path, nil)
	require.NoError(h.t, err)
	req.Header.Set("x-api-key", key)
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(raw)
}

// auditFixture: a building with a flat; the flat's lock; a guest in the
// flat's group; a cleaner granted on the building from tomorrow; then the
// guest's phone goes, the cleaner leaves, the lock is uninstalled. at holds
// an instant after each step.
type auditFixture struct {
	property, building, flat, lock string
	guest, cleaner                 string
	guestPhone, cleanerPhone       deviceOut
	staff, flatGroup               string
	at                             map[string]time.Time
}

func newAuditFixture(t *testing.T, h *harness) auditFixture {
	f := auditFixture{at: map[string]time.Time{}}
	f.property = h.lockProperty(rootKey)
	f.building = h.mkArea(rootKey, f.property, "Building", "")
	f.flat = h.mkArea(rootKey, f.property, "Flat 1A", f.building)
	l := h.provisionLock(rootKey, "Flat 1A door")
	f.lock = l.LockID
	f.guest = h.grpUser(rootKey, "Guest")
	f.guestPhone = h.provisionDevice(rootKey, f.guest, "guest phone")
	f.cleaner = h.grpUser(rootKey, "Cleaner")
	f.cleanerPhone = h.provisionDevice(rootKey, f.cleaner, "cleaner phone")
	f.flatGroup = h.viewArea(rootKey, f.property, f.flat).AreaUserGroupID
	f.staff = h.grpGroup(rootKey, f.property, "Cleaners")
	f.at["before"] = h.settle()

	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, f.lock), rootKey, nil).Status)
	f.at["installed"] = h.settle()

	h.grpAdd(rootKey, f.property, f.flatGroup, f.guest)
	f.at["guest"] = h.settle()

	r := h.do("PUT", "/properties/"+f.property+"/areas/"+f.building, rootKey, map[string]any{
		"displayName": "Building", "areaType": "common",
		"accessList": []any{map[string]any{"accessType": "group", "userGroupId": f.staff, "schedule": nil}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	r = h.do("POST", grpMemberPath(f.property, f.staff, f.cleaner), rootKey, map[string]any{"validFrom": tomorrow.Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	f.at["cleaner"] = h.settle()

	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+f.guest+"/devices/"+f.guestPhone.UserDeviceID, rootKey, nil).Status)
	f.at["phoneGone"] = h.settle()

	require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(f.property, f.staff, f.cleaner), rootKey, nil).Status)
	f.at["cleanerGone"] = h.settle()

	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+f.lock+"/uninstall?uninstallMode=area", rootKey, nil).Status)
	f.at["uninstalled"] = h.settle()
	return f
}

// The answer computed from the log equals, at every instant, the key map
// version the projection had in force then (same entry-set hash, so the
// same km_sets entries).
func TestAuditLockAccessMatchesKeyMapHistory(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)

	want := []struct {
		step    string
		version int
		users   []string
	}{
		{"before", 0, nil},
		{"installed", 0, nil},
		{"guest", 1, []string{f.guest}},
		{"cleaner", 2, []string{f.guest, f.cleaner}},
		{"phoneGone", 3, []string{f.cleaner}},
		{"cleanerGone", 4, nil},
		{"uninstalled", 4, nil},
	}
	for _, w := range want {
		got := h.auditAccess(rootKey, f.lock, f.at[w.step])
		assert.Equal(t, w.version, got.KeyMapVersion, w.step)
		assert.Equal(t, got.KeyMapHash, got.EntriesHash, "%s: the log and the key map projection agree", w.step)
		var users []string
		for _, e := range got.Entries {
			users = append(users, e.UserID)
		}
		assert.ElementsMatch(t, w.users, users, w.step)
	}

	got := h.auditAccess(rootKey, f.lock, f.at["cleaner"])
	require.Len(t, got.Entries, 2)
	for _, e := range got.Entries {
		switch e.UserID {
		case f.guest:
			assert.Equal(t, f.flat, e.Via.AreaID)
			assert.Equal(t, "area", e.Via.AccessType)
			assert.Equal(t, f.flatGroup, e.Via.UserGroupID)
			assert.Equal(t, f.guestPhone.UserDeviceID, e.UserDeviceID)
			assert.True(t, e.OpenNow)
		case f.cleaner:
			assert.Equal(t, f.building, e.Via.AreaID, "granted on the ancestor")
			assert.Equal(t, "group", e.Via.AccessType)
			assert.Equal(t, f.staff, e.Via.UserGroupID)
			assert.False(t, e.OpenNow, "the membership starts tomorrow")
			assert.Contains(t, string(e.Schedule), "validFrom")
		}
	}
}

func TestAuditDecisionsNameEachLink(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)

	d := h.auditDecide(f.lock, f.guestPhone.UserDeviceID, f.at["before"])
	assert.False(t, d.Allowed)
	assert.Equal(t, "lockNotInstalled", d.Reason)

	d = h.auditDecide(f.lock, f.guestPhone.UserDeviceID, f.at["installed"])
	assert.False(t, d.Allowed)
	assert.Equal(t, "noMembership", d.Reason)

	d = h.auditDecide(f.lock, f.guestPhone.UserDeviceID, f.at["guest"])
	assert.True(t, d.Allowed)
	assert.Equal(t, "allowed", d.Reason)
	links := map[string]auditLink{}
	for _, l := range d.Path {
		links[l.Link] = l
		assert.False(t, l.Missing, l.Link)
		assert.NotEmpty(t, l.EventID, l.Link)
		assert.NotNil(t, l.RecordedAt, l.Link)
	}
	assert.Equal(t, "LockInstalled", links["install"].EventType)
	assert.Equal(t, f.flat, links["install"].AreaID)
	assert.Equal(t, "AreaCreated", links["grant"].EventType, "the area's own group")
	assert.Equal(t, "UserAddedToGroup", links["membership"].EventType)
	assert.NotEmpty(t, links["membership"].APIKeyID, "the API key that added the member")
	assert.Equal(t, f.flatGroup, links["membership"].UserGroupID)
	assert.Equal(t, "UserDeviceProvisioned", links["device"].EventType)

	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, f.at["cleaner"])
	assert.False(t, d.Allowed)
	assert.Equal(t, "outsideSchedule", d.Reason)
	for _, l := range d.Path {
		if l.Link == "grant" {
			assert.Equal(t, "AreaAccessListChanged", l.EventType)
			assert.Equal(t, f.building, l.AreaID, "the grant on the ancestor")
		}
		if l.Link == "membership" {
			assert.NotNil(t, l.ValidFrom)
		}
	}

	d = h.auditDecide(f.lock, f.guestPhone.UserDeviceID, f.at["phoneGone"])
	assert.False(t, d.Allowed)
	assert.Equal(t, "deviceDeprovisioned", d.Reason)
	assert.Equal(t, "UserDeviceDeprovisioned", d.Path[len(d.Path)-1].EventType)

	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, f.at["cleanerGone"])
	assert.Equal(t, "noMembership", d.Reason)

	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, f.at["uninstalled"])
	assert.Equal(t, "lockNotInstalled", d.Reason)
	assert.Equal(t, "LockUninstalled", d.Path[0].EventType)
}

func TestAuditHistoryStreamsJSONAndCSV(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)

	status, ctype, body := h.rawGet("/audit/locks/"+f.lock+"/history?format=json", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "application/x-ndjson", ctype)
	var types, causes []string
	var last uint64
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		var it struct {
			Position      uint64            `json:"position"`
			EventType     string            `json:"eventType"`
			APIKeyID      string            `json:"apiKeyId"`
			CorrelationID string            `json:"correlationId"`
			IDs           map[string]string `json:"ids"`
			KeyMapVersion int               `json:"keyMapVersion"`
			CauseType     string            `json:"causeEventType"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &it), line)
		assert.GreaterOrEqual(t, it.Position, last, "in order")
		last = it.Position
		types = append(types, it.EventType)
		if it.EventType == "LockKeyClaimed" {
			assert.Equal(t, f.lock, it.IDs["holderLockId"], "the claim of the lock's key")
		} else {
			assert.Equal(t, f.lock, it.IDs["lockId"])
		}
		// Every item has an actor and a cause; a key-map version has
		// those of the grant or revocation that made it.
		assert.NotEmpty(t, it.APIKeyID, it.EventType)
		assert.NotEmpty(t, it.CorrelationID, it.EventType)
		if it.EventType == "KeyMapVersionChanged" {
			causes = append(causes, it.CauseType)
		}
	}
	assert.Equal(t, []string{"LockKeyClaimed", "ApiKeyCreated", "LockProvisioned", "LockInstalled", "KeyMapVersionChanged", "KeyMapVersionChanged",
		"KeyMapVersionChanged", "KeyMapVersionChanged", "LockUninstalled"}, types)
	assert.Equal(t, []string{"UserAddedToGroup", "UserAddedToGroup", "UserDeviceDeprovisioned", "UserRemovedFromGroup"}, causes,
		"the lock's history shows the grants and revocations that changed its key map")

	// (ApiKeyCreated is the lock's own key.) A window: only the install.
	from := url.QueryEscape(f.at["before"].Format(time.RFC3339Nano))
	to := url.QueryEscape(f.at["installed"].Format(time.RFC3339Nano))
	status, ctype, body = h.rawGet("/audit/locks/"+f.lock+"/history?format=csv&from="+from+"&to="+to, rootKey)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, ctype, "text/csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2, body)
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	assert.Equal(t, "LockInstalled", rows[1][col["eventType"]])
	assert.Equal(t, f.lock, rows[1][col["lockId"]])
	assert.Equal(t, f.flat, rows[1][col["areaId"]])
	assert.Equal(t, f.property, rows[1][col["propertyId"]])

	// The guest's history: added, device provisioned and removed.
	status, _, body = h.rawGet("/audit/users/"+f.guest+"/history", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	for _, want := range []string{"UserDeviceProvisioned", "UserAddedToGroup", "UserDeviceDeprovisioned"} {
		assert.Contains(t, body, `"eventType":"`+want+`"`)
	}

	// The property's history names the grant and the memberships.
	status, _, body = h.rawGet("/audit/properties/"+f.property+"/history", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	for _, want := range []string{"AreaAccessListChanged", "UserAddedToGroup", "UserRemovedFromGroup", "LockInstalled"} {
		assert.Contains(t, body, `"eventType":"`+want+`"`)
	}
}

func TestAuditPermissionsAndTenancy(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	l := h.provisionLock(rootKey, "door")
	at := url.QueryEscape(time.Now().UTC().Format(time.RFC3339))
	paths := []string{
		"/audit/locks/" + l.LockID + "/access?at=" + at,
		"/audit/decisions?lockId=" + l.LockID + "&userDeviceId=" + l.LockID + "&at=" + at,
		"/audit/locks/" + l.LockID + "/history",
		"/audit/properties/" + property + "/history",
	}
	support := h.newKey(rootKey, perm("support"))
	installer := h.newKey(rootKey, perm("install-lock"))
	other := h.newAccount()
	for _, p := range paths {
		status, _, body := h.rawGet(p, support)
		assert.Equal(t, http.StatusOK, status, "%s: %s", p, body)
		status, _, _ = h.rawGet(p, installer)
		assert.Equal(t, http.StatusForbidden, status, p)
		status, _, _ = h.rawGet(p, other)
		assert.Equal(t, http.StatusNotFound, status, p)
	}
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/audit/locks/"+l.LockID+"/access", rootKey, nil).Status, "at is required")
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/audit/locks/"+l.LockID+"/history?format=xml", rootKey, nil).Status)
}

// The grant link names the access-list change that granted the entry, not
// a later change of the same list that left the entry as it was; a change
// of the entry's schedule is a new grant.
func TestAuditDecisionGrantIsTheChangeThatMadeTheEntry(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)
	grantOf := func(d auditDecision) auditLink {
		for _, l := range d.Path {
			if l.Link == "grant" {
				return l
			}
		}
		t.Fatalf("no grant link in %+v", d.Path)
		return auditLink{}
	}
	first := grantOf(h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, f.at["cleaner"]))
	require.Equal(t, "AreaAccessListChanged", first.EventType)

	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, f.lock), rootKey, nil).Status)
	h.grpAdd(rootKey, f.property, f.staff, f.cleaner)
	other := h.grpGroup(rootKey, f.property, "Gardeners")
	owner := h.newKey(rootKey, perm("owner"))
	staff := map[string]any{"accessType": "group", "userGroupId": f.staff, "schedule": nil}
	r := h.do("PUT", "/properties/"+f.property+"/areas/"+f.building, owner, map[string]any{
		"displayName": "Building", "areaType": "common",
		"accessList": []any{staff, map[string]any{"accessType": "group", "userGroupId": other, "schedule": nil}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	d := h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle())
	require.True(t, d.Allowed, d.Reason)
	g := grantOf(d)
	assert.Equal(t, first.EventID, g.EventID, "the staff entry was granted by the first change, not by the one adding gardeners")
	assert.Equal(t, first.APIKeyID, g.APIKeyID)

	staff["schedule"] = map[string]any{"weekly": []any{}}
	r = h.do("PUT", "/properties/"+f.property+"/areas/"+f.building, owner, map[string]any{
		"displayName": "Building", "areaType": "common", "accessList": []any{staff},
	})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	g = grantOf(h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle()))
	assert.NotEqual(t, first.EventID, g.EventID, "a new schedule is a new grant")
	assert.NotEqual(t, first.APIKeyID, g.APIKeyID, "granted by the owner key")
}

// At every step of a history with an `area` entry, a scheduled grant on an
// ancestor, a re-parented area, a rotated key, a lock reinstalled
// elsewhere, a deleted user and a deleted group, the answer computed from
// the log is the key map the projection held then, version and entries.
func TestAuditLockAccessMatchesKeyMapAcrossMovesAndDeletions(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "P", "timezone": "Europe/Madrid"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	p := r.field("propertyId")
	building := h.mkArea(rootKey, p, "Building", "")
	flat := h.mkArea(rootKey, p, "Flat", building)
	annex := h.mkArea(rootKey, p, "Annex", "")
	room := h.mkArea(rootKey, p, "Room", annex)
	door, back := h.provisionLock(rootKey, "door").LockID, h.provisionLock(rootKey, "back").LockID
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p, flat, door), rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p, room, back), rootKey, nil).Status)
	resident, cleaner, neighbour := h.grpUser(rootKey, "resident"), h.grpUser(rootKey, "cleaner"), h.grpUser(rootKey, "neighbour")
	phone := h.provisionDevice(rootKey, resident, "phone")
	h.provisionDevice(rootKey, cleaner, "phone")
	h.provisionDevice(rootKey, neighbour, "phone")
	staff := h.grpGroup(rootKey, p, "Staff")

	type step struct {
		name     string
		at       time.Time
		versions map[string]int
		users    map[string][]string
	}
	var steps []step
	mark := func(name string) {
		s := step{name: name, at: h.settle(), versions: map[string]int{}, users: map[string][]string{}}
		for _, l := range []string{door, back} {
			km := h.keyMap(rootKey, l)
			s.versions[l] = km.KeyMapVersion
			for _, e := range km.KeyMapEntries {
				s.users[l] = append(s.users[l], e.UserID)
			}
		}
		steps = append(steps, s)
	}
	h.grpAdd(rootKey, p, h.viewArea(rootKey, p, flat).AreaUserGroupID, resident)
	mark("resident")
	now := time.Now().UTC()
	r = h.do("POST", grpMemberPath(p, staff, cleaner), rootKey, map[string]any{
		"validFrom": now.Add(-time.Hour).Format(time.RFC3339), "validUntil": now.Add(time.Hour).Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	r = h.do("PUT", areaPath(p, building), rootKey, map[string]any{"displayName": "Building", "areaType": "common",
		"accessList": []any{
			map[string]any{"accessType": "group", "userGroupId": staff, "schedule": map[string]any{
				"weekly": []any{map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "08:00", "to": "18:00"}}}},
			map[string]any{"accessType": "area", "areaId": annex, "schedule": nil},
		}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	mark("grants")
	h.grpAdd(rootKey, p, h.viewArea(rootKey, p, annex).AreaUserGroupID, neighbour)
	mark("neighbour")
	require.Equal(t, http.StatusOK, h.moveArea(p, flat, annex).Status)
	mark("moved")
	pub, enc := deviceKeys(t)
	r = h.do("PUT", "/users/"+resident+"/devices/"+phone.UserDeviceID, rootKey, deviceBody("phone", pub, enc))
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	mark("rotated")
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+door+"/uninstall?uninstallMode=area", rootKey, nil).Status)
	mark("uninstalled")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p, building, door), rootKey, nil).Status)
	mark("reinstalled")
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+neighbour, rootKey, nil).Status)
	mark("userDeleted")
	require.Equal(t, http.StatusOK, h.do("DELETE", grpPath(p, staff), rootKey, nil).Status)
	mark("groupDeleted")

	for _, s := range steps {
		for _, l := range []string{door, back} {
			got := h.auditAccess(rootKey, l, s.at)
			assert.Equal(t, s.versions[l], got.KeyMapVersion, "%s: %s", s.name, l)
			assert.Equal(t, got.KeyMapHash, got.EntriesHash, "%s: %s: the log and the key map projection agree", s.name, l)
			var users []string
			for _, e := range got.Entries {
				users = append(users, e.UserID)
			}
			assert.ElementsMatch(t, s.users[l], users, "%s: %s", s.name, l)
		}
	}
	// Moved under the annex, the flat's door is opened by the annex's own
	// group, no longer by the building's grants.
	moved := h.auditAccess(rootKey, door, steps[3].at)
	var vias []string
	for _, e := range moved.Entries {
		vias = append(vias, e.Via.AreaID+"/"+e.Via.AccessType)
	}
	assert.ElementsMatch(t, []string{flat + "/area", annex + "/area"}, vias)
}

// A history that fails before anything was sent (here the event log is
// gone) answers the error, not a 200 that reads as an empty history: a
// closed store (a server shutting down) is a 503.
func TestAuditHistoryFailingBeforeTheFirstItemIsAnError(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	h.settle()
	require.NoError(t, h.store.Close())
	for _, format := range []string{"json", "csv"} {
		status, ctype, body := h.rawGet("/audit/locks/"+f.lock+"/history?format="+format, rootKey)
		assert.Equal(t, http.StatusServiceUnavailable, status, "%s: %s", format, body)
		assert.Equal(t, "application/json", ctype, format)
		assert.NotContains(t, body, "position,recordedAt", format)
	}
}
