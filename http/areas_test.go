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

// areaView is the area output as the tests read it.
type areaView struct {
	AreaID            string            `json:"areaId"`
	PropertyID        string            `json:"propertyId"`
	DisplayName       string            `json:"displayName"`
	AreaType          string            `json:"areaType"`
	ParentAreaID      string            `json:"parentAreaId"`
	ContainingAreaIDs []string          `json:"containingAreaIds"`
	SubAreaIDs        []string          `json:"subAreaIds"`
	LockIDs           []string          `json:"lockIds"`
	AreaUserGroupID   string            `json:"areaUserGroupId"`
	AccessList        []json.RawMessage `json:"accessList"`
	AccessListVersion int               `json:"accessListVersion"`
	Type              string            `json:"type"`
	TypeState         string            `json:"typeState"`
	CreatedAt         time.Time         `json:"createdAt"`
	LastModifiedAt    time.Time         `json:"lastModifiedAt"`
	LastModifiedBy    string            `json:"lastModifiedBy"`
}

func decodeArea(t testing.TB, r reply) areaView {
	t.Helper()
	var a areaView
	require.NoError(t, json.Unmarshal(r.Data, &a), "%s", r.Data)
	return a
}

func areasPath(propertyID string) string { return "/properties/" + propertyID + "/areas" }

func areaPath(propertyID, areaID string) string { return areasPath(propertyID) + "/" + areaID }

// mkArea creates a resident area in a property, under parent unless it is
// empty, and returns its id.
func (h *harness) mkArea(key, propertyID, name, parent string) string {
	h.t.Helper()
	body := map[string]any{"displayName": name, "areaType": "resident"}
	if parent != "" {
		body["parentAreaId"] = parent
	}
	r := h.do("POST", areasPath(propertyID), key, body)
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return r.field("areaId")
}

// viewArea reads an area, which must be there.
func (h *harness) viewArea(key, propertyID, areaID string) areaView {
	h.t.Helper()
	r := h.do("GET", areaPath(propertyID, areaID), key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	return decodeArea(h.t, r)
}

// moveArea puts an area under parent ("" for the top), keeping its other
// fields.
func (h *harness) moveArea(propertyID, areaID, parent string) reply {
	h.t.Helper()
	a := h.viewArea(rootKey, propertyID, areaID)
	body := map[string]any{"displayName": a.DisplayName, "areaType": a.AreaType, "accessList": a.AccessList}
	if parent != "" {
		body["parentAreaId"] = parent
	}
	return h.do("PUT", areaPath(propertyID, areaID), rootKey, body)
}

// eventNames lists the event types GET /events answers for a query.
func (h *harness) eventNames(query string) []string {
	h.t.Helper()
	r := h.do("GET", "/events?"+query, rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Events []struct {
			EventName string `json:"eventName"`
		} `json:"events"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	names := []string{}
	for _, e := range page.Events {
		names = append(names, e.EventName)
	}
	return names
}

func TestAreaLifecycle(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "Hotel Sol")
	created := h.do("POST", areasPath(p), rootKey, map[string]any{"displayName": "Pool", "areaType": "common"})
	require.Equal(t, http.StatusCreated, created.Status, created.Error)
	a := decodeArea(t, created)
	assert.Equal(t, p, a.PropertyID)
	assert.Equal(t, "Pool", a.DisplayName)
	assert.Equal(t, "common", a.AreaType)
	assert.Empty(t, a.ParentAreaID)
	assert.Equal(t, []string{}, a.ContainingAreaIDs)
	assert.Equal(t, []string{}, a.SubAreaIDs)
	assert.Equal(t, []string{}, a.LockIDs)
	assert.NotNil(t, a.AccessList)
	assert.Empty(t, a.AccessList)
	assert.Zero(t, a.AccessListVersion)
	assert.Equal(t, "area", a.Type)
	assert.Equal(t, "active", a.TypeState)
	require.NotEmpty(t, a.AreaUserGroupID)
	assert.Equal(t, []string{"UserGroupCreated"}, h.eventNames("eventSource=userGroup&userGroupId="+a.AreaUserGroupID),
		"the area's own group is made with it")
	assert.JSONEq(t, string(created.Data), string(h.do("GET", areaPath(p, a.AreaID), rootKey, nil).Data))

	other := h.mkArea(rootKey, p, "Gym", "")
	list := h.do("GET", areasPath(p), rootKey, nil)
	require.Equal(t, http.StatusOK, list.Status, list.Error)
	var page struct {
		Areas []areaView `json:"areas"`
	}
	require.NoError(t, json.Unmarshal(list.Data, &page))
	require.Len(t, page.Areas, 2)
	assert.Equal(t, a.AreaID, page.Areas[0].AreaID)
	assert.Equal(t, other, page.Areas[1].AreaID)

	// The access list: each change raises the version by one; the same
	// list again changes nothing.
	schedule := map[string]any{"timezone": "Europe/Madrid", "weekly": []map[string]any{{"days": []string{"mon", "tue"}, "from": "08:00", "to": "18:00"}}}
	body := map[string]any{"displayName": "Pool", "areaType": "common", "accessList": []map[string]any{
		{"accessType": "area", "areaId": other, "schedule": schedule},
		{"accessType": "group", "userGroupId": a.AreaUserGroupID, "schedule": nil},
	}}
	r := h.do("PUT", areaPath(p, a.AreaID), rootKey, body)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	u := decodeArea(t, r)
	assert.Equal(t, 1, u.AccessListVersion)
	require.Len(t, u.AccessList, 2)
	assert.JSONEq(t, `{"accessType":"area","areaId":"`+other+`","schedule":{"timezone":"Europe/Madrid","weekly":[{"days":["mon","tue"],"from":"08:00","to":"18:00"}]}}`, string(u.AccessList[0]))
	assert.JSONEq(t, `{"accessType":"group","userGroupId":"`+a.AreaUserGroupID+`","schedule":null}`, string(u.AccessList[1]))
	assert.Equal(t, 1, decodeArea(t, h.do("PUT", areaPath(p, a.AreaID), rootKey, body)).AccessListVersion)

	body["displayName"] = "Pool & spa"
	body["accessList"] = []map[string]any{{"accessType": "area", "areaId": other, "schedule": map[string]any{"weekly": []any{}}}}
	u = decodeArea(t, h.do("PUT", areaPath(p, a.AreaID), rootKey, body))
	assert.Equal(t, 2, u.AccessListVersion)
	assert.Equal(t, "Pool & spa", u.DisplayName)
	assert.Contains(t, h.eventNames("eventSource=userGroup&userGroupId="+a.AreaUserGroupID), "UserGroupUpdated",
		"the area's own group follows its name")
	body["accessList"] = []any{}
	u = decodeArea(t, h.do("PUT", areaPath(p, a.AreaID), rootKey, body))
	assert.Equal(t, 3, u.AccessListVersion)
	assert.Empty(t, u.AccessList)

	r = h.do("DELETE", areaPath(p, a.AreaID), rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, a.AreaID, r.field("areaId"))
	assert.Equal(t, http.StatusNotFound, h.do("GET", areaPath(p, a.AreaID), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", areaPath(p, a.AreaID), rootKey, body).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", areaPath(p, a.AreaID), rootKey, nil).Status)
	assert.Contains(t, h.eventNames("eventSource=userGroup&userGroupId="+a.AreaUserGroupID), "UserGroupDeleted",
		"the area's own group goes with it")
	require.NoError(t, json.Unmarshal(h.do("GET", areasPath(p), rootKey, nil).Data, &page))
	require.Len(t, page.Areas, 1)
}

func TestAreaTree(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "Hotel Sol")
	a := h.mkArea(rootKey, p, "Building A", "")
	b := h.mkArea(rootKey, p, "Floor 1", a)
	c := h.mkArea(rootKey, p, "Room 101", b)
	d := h.mkArea(rootKey, p, "Building D", "")
	tree := func(id string) ([]string, []string) {
		t.Helper()
		v := h.viewArea(rootKey, p, id)
		return v.ContainingAreaIDs, v.SubAreaIDs
	}
	check := func(id string, containing, sub []string) {
		t.Helper()
		gotContaining, gotSub := tree(id)
		assert.Equal(t, containing, gotContaining, "containingAreaIds")
		assert.ElementsMatch(t, sub, gotSub, "subAreaIds")
	}
	check(a, []string{}, []string{b})
	check(b, []string{a}, []string{c})
	check(c, []string{b, a}, []string{})
	assert.Equal(t, b, h.viewArea(rootKey, p, c).ParentAreaID)

	// Cycles are refused: under itself, under a descendant.
	for _, parent := range []string{a, b, c} {
		r := h.moveArea(p, a, parent)
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, "A under %s", parent)
		assert.Contains(t, r.Error, "parentAreaId")
	}
	assert.Equal(t, http.StatusUnprocessableEntity, h.moveArea(p, b, c).Status)

	// Move B (and C with it) under D.
	r := h.moveArea(p, b, d)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	check(a, []string{}, []string{})
	check(d, []string{}, []string{b})
	check(b, []string{d}, []string{c})
	check(c, []string{b, d}, []string{})

	// B to the top, then D under C: a fourth level.
	require.Equal(t, http.StatusOK, h.moveArea(p, b, "").Status)
	check(b, []string{}, []string{c})
	check(c, []string{b}, []string{})
	check(d, []string{}, []string{})
	require.Equal(t, http.StatusOK, h.moveArea(p, d, c).Status)
	require.Equal(t, http.StatusOK, h.moveArea(p, b, a).Status)
	check(a, []string{}, []string{b})
	check(b, []string{a}, []string{c})
	check(c, []string{b, a}, []string{d})
	check(d, []string{c, b, a}, []string{})

	// An area with sub-areas stays; deleting from the bottom up works.
	for _, id := range []string{a, b, c} {
		r := h.do("DELETE", areaPath(p, id), rootKey, nil)
		assert.Equal(t, http.StatusConflict, r.Status, "delete %s", id)
		assert.Contains(t, r.Error, "sub-areas")
	}
	require.Equal(t, http.StatusOK, h.do("DELETE", areaPath(p, d), rootKey, nil).Status)
	check(c, []string{b, a}, []string{})
	require.Equal(t, http.StatusOK, h.do("DELETE", areaPath(p, c), rootKey, nil).Status)
	check(b, []string{a}, []string{})

	// A parent in another property, missing, or of another account: 422.
	q := h.mkProperty(rootKey, "Hotel Luna")
	elsewhere := h.mkArea(rootKey, q, "Lobby", "")
	tenant := h.newAccount()
	foreign := h.mkArea(tenant, h.mkProperty(tenant, "theirs"), "Their lobby", "")
	for _, parent := range []string{elsewhere, uuid.NewString(), foreign} {
		r := h.do("POST", areasPath(p), rootKey, map[string]any{"displayName": "x", "areaType": "staff", "parentAreaId": parent})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
		assert.Contains(t, r.Error, "parentAreaId")
		r = h.moveArea(p, b, parent)
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
		assert.Contains(t, r.Error, "parentAreaId")
	}
	check(b, []string{a}, []string{})
}

func TestAreaValidation(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "Hotel Sol")
	a := h.mkArea(rootKey, p, "Room 1", "")
	creates := map[string]string{
		`{"areaType":"resident"}`:                                         "displayName",
		`{"displayName":"","areaType":"resident"}`:                        "displayName",
		`{"displayName":"r","areaType":"garage"}`:                         "areaType",
		`{"displayName":"r"}`:                                             "areaType",
		`{"displayName":"r","areaType":"resident","parentAreaId":"nope"}`: "parentAreaId",
		`{"displayName":"r","areaType":"resident","color":"red"}`:         "color",
		`{"displayName":"r","areaType":"resident","accessList":[]}`:       "accessList",
		`{"displayName":["r"],"areaType":"resident"}`:                     "displayName",
	}
	for body, field := range creates {
		r := h.do("POST", areasPath(p), rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, field, body)
	}
	entry := func(schedule string) string {
		return `{"displayName":"r","areaType":"resident","accessList":[{"accessType":"area","areaId":"` + a + `","schedule":` + schedule + `}]}`
	}
	updates := map[string]string{
		entry(`{"timezone":"Mars/Olympus","weekly":[]}`):                                                                                 "accessList[0].schedule.timezone",
		entry(`{"weekly":[{"days":["mon","funday"],"from":"08:00","to":"18:00"}]}`):                                                      "accessList[0].schedule.weekly[0].days[1]",
		entry(`{"weekly":[{"days":["mon"],"from":"18:00","to":"08:00"}]}`):                                                               "accessList[0].schedule.weekly[0].from",
		entry(`{"weekly":[{"days":["mon"],"from":"8am","to":"18:00"}]}`):                                                                 "accessList[0].schedule.weekly[0].from",
		entry(`{"weekly":[{"days":[],"from":"08:00","to":"18:00"}]}`):                                                                    "accessList[0].schedule.weekly[0].days",
		entry(`{"validFrom":"2030-01-02T00:00:00Z","validUntil":"2030-01-01T00:00:00Z"}`):                                                "accessList[0].schedule.valid",
		entry(`{"weekly":[],"color":"red"}`):                                                                                             "color",
		entry(`{"validFrom":"yesterday"}`):                                                                                               "accessList[0].schedule.validFrom",
		entry(`{"validUntil":5}`):                                                                                                        "validUntil",
		`{"displayName":"r","areaType":"resident","accessList":[{"accessType":"group","userGroupId":"nope"}]}`:                           "accessList[0].userGroupId",
		`{"displayName":"r","areaType":"resident","accessList":[{"accessType":"area","areaId":"nope"}]}`:                                 "accessList[0].areaId",
		`{"displayName":"r","areaType":"resident","accessList":[{"accessType":"everyone"}]}`:                                             "accessList[0].accessType",
		`{"displayName":"r","areaType":"resident","accessList":[{"accessType":"group"}]}`:                                                "accessList[0].userGroupId",
		`{"displayName":"r","areaType":"resident","accessList":[{"accessType":"group","userGroupId":"` + a + `","areaId":"` + a + `"}]}`: "accessList[0].areaId",
		`{"displayName":"r","areaType":"resident","parentAreaId":"x"}`:                                                                   "parentAreaId",
		`{"displayName":"","areaType":"resident"}`:                                                                                       "displayName",
		`{"displayName":"r","areaType":"resident","accessList":"none"}`:                                                                  "accessList",
		`{"displayName":"r","areaType":"resident","areaId":"` + a + `"}`:                                                                 "areaId",
		``: "body",
	}
	for body, field := range updates {
		r := h.do("PUT", areaPath(p, a), rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, field, body)
	}
	badPaths := []struct{ method, path, field string }{
		{"POST", areasPath("nope"), "propertyId"}, {"GET", areasPath("nope"), "propertyId"},
		{"GET", areaPath(p, "nope"), "areaId"}, {"PUT", areaPath(p, "nope"), "areaId"}, {"DELETE", areaPath(p, "nope"), "areaId"},
		{"GET", areaPath("nope", a), "propertyId"}, {"PUT", areaPath("nope", a), "propertyId"}, {"DELETE", areaPath("nope", a), "propertyId"},
	}
	for _, c := range badPaths {
		r := h.do(c.method, c.path, rootKey, `{"displayName":"r","areaType":"resident"}`)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s", c.method, c.path)
		assert.Contains(t, r.Error, c.field, "%s %s", c.method, c.path)
	}

	// Groups and areas an access list names must be in the area's
	// property: else 422 naming the entry.
	q := h.mkProperty(rootKey, "Hotel Luna")
	elsewhere := h.mkArea(rootKey, q, "Lobby", "")
	elsewhereGroup := h.viewArea(rootKey, q, elsewhere).AreaUserGroupID
	refused := map[string]string{
		`[{"accessType":"area","areaId":"` + elsewhere + `"}]`:                                                   "accessList[0].areaId",
		`[{"accessType":"area","areaId":"` + a + `"},{"accessType":"area","areaId":"` + uuid.NewString() + `"}]`: "accessList[1].areaId",
		`[{"accessType":"group","userGroupId":"` + elsewhereGroup + `"}]`:                                        "accessList[0].userGroupId",
		`[{"accessType":"group","userGroupId":"` + uuid.NewString() + `"}]`:                                      "accessList[0].userGroupId",
	}
	for list, field := range refused {
		r := h.do("PUT", areaPath(p, a), rootKey, `{"displayName":"r","areaType":"resident","accessList":`+list+`}`)
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, list)
		assert.Contains(t, r.Error, field, list)
	}
	v := h.viewArea(rootKey, p, a)
	assert.Equal(t, "Room 1", v.DisplayName, "no refused update changed anything")
	assert.Zero(t, v.AccessListVersion)
}

func TestAreaPermissions(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "mine")
	other := h.mkProperty(rootKey, "other")
	a := h.mkArea(rootKey, p, "Room 1", "")
	body := map[string]any{"displayName": "Room", "areaType": "staff"}
	keys := map[string]string{
		"owner":               rootKey,
		"manage-access":       h.newKey(rootKey, perm("manage-access")),
		"manage-access@p":     h.newKey(rootKey, scopedPerm("manage-access", p)),
		"manage-access@other": h.newKey(rootKey, scopedPerm("manage-access", other)),
		"support":             h.newKey(rootKey, perm("support")),
		"support@p":           h.newKey(rootKey, scopedPerm("support", p)),
		"provision-lock":      h.newKey(rootKey, perm("provision-lock")),
		"install-lock@p":      h.newKey(rootKey, scopedPerm("install-lock", p)),
		"me":                  h.newKey(rootKey, h.mePerm()),
	}
	type want struct{ read, write int }
	cases := map[string]want{
		"owner":               {http.StatusOK, http.StatusOK},
		"manage-access":       {http.StatusOK, http.StatusOK},
		"manage-access@p":     {http.StatusOK, http.StatusOK},
		"manage-access@other": {http.StatusNotFound, http.StatusNotFound},
		"support":             {http.StatusOK, http.StatusForbidden},
		"support@p":           {http.StatusOK, http.StatusForbidden},
		"provision-lock":      {http.StatusOK, http.StatusForbidden},
		"install-lock@p":      {http.StatusOK, http.StatusForbidden},
		"me":                  {http.StatusForbidden, http.StatusForbidden},
	}
	for name, w := range cases {
		k := keys[name]
		assert.Equal(t, w.read, h.do("GET", areasPath(p), k, nil).Status, "list by %s", name)
		assert.Equal(t, w.read, h.do("GET", areaPath(p, a), k, nil).Status, "get by %s", name)
		create := h.do("POST", areasPath(p), k, body)
		update := h.do("PUT", areaPath(p, a), k, body)
		if w.write == http.StatusOK {
			assert.Equal(t, http.StatusCreated, create.Status, "create by %s: %s", name, create.Error)
			assert.Equal(t, http.StatusOK, update.Status, "update by %s: %s", name, update.Error)
			r := h.do("DELETE", areaPath(p, create.field("areaId")), k, nil)
			assert.Equal(t, http.StatusOK, r.Status, "delete by %s: %s", name, r.Error)
			continue
		}
		assert.Equal(t, w.write, create.Status, "create by %s", name)
		assert.Equal(t, w.write, update.Status, "update by %s", name)
		assert.Equal(t, w.write, h.do("DELETE", areaPath(p, a), k, nil).Status, "delete by %s", name)
	}
	h.viewArea(rootKey, p, a)
}

func TestAreaCrossAccount(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "root's")
	a := h.mkArea(rootKey, p, "Room 1", "")
	q := h.mkProperty(rootKey, "root's other")
	tenant := h.newAccount()
	tp := h.mkProperty(tenant, "tenant's")
	body := map[string]any{"displayName": "x", "areaType": "resident"}
	type call struct{ method, path, key string }
	calls := []call{
		// Another account's property and area.
		{"GET", areasPath(p), tenant}, {"POST", areasPath(p), tenant},
		{"GET", areaPath(p, a), tenant}, {"PUT", areaPath(p, a), tenant}, {"DELETE", areaPath(p, a), tenant},
		// The tenant's own property, but root's area.
		{"GET", areaPath(tp, a), tenant}, {"PUT", areaPath(tp, a), tenant}, {"DELETE", areaPath(tp, a), tenant},
		// Root's area under root's other property.
		{"GET", areaPath(q, a), rootKey}, {"PUT", areaPath(q, a), rootKey}, {"DELETE", areaPath(q, a), rootKey},
		// A property that does not exist.
		{"GET", areasPath(uuid.NewString()), rootKey}, {"POST", areasPath(uuid.NewString()), rootKey},
	}
	for _, c := range calls {
		r := h.do(c.method, c.path, c.key, body)
		assert.Equal(t, http.StatusNotFound, r.Status, "%s %s", c.method, c.path)
		assert.NotContains(t, string(r.Data), a)
	}
	v := h.viewArea(rootKey, p, a)
	assert.Equal(t, "Room 1", v.DisplayName)
	assert.Equal(t, p, v.PropertyID)
}

func TestAreaLocks(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "Hotel Sol")
	a := h.mkArea(rootKey, p, "Room 1", "")
	b := h.mkArea(rootKey, p, "Room 2", "")
	l1 := h.provisionLock(rootKey, "door 1")
	l2 := h.provisionLock(rootKey, "door 2")
	for _, l := range []string{l1.LockID, l2.LockID} {
		r := h.do("PUT", installPath(p, a, l), rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	assert.ElementsMatch(t, []string{l1.LockID, l2.LockID}, h.viewArea(rootKey, p, a).LockIDs)
	assert.Equal(t, []string{}, h.viewArea(rootKey, p, b).LockIDs)

	r := h.do("DELETE", areaPath(p, a), rootKey, nil)
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Contains(t, r.Error, "locks")

	r = h.do("PUT", "/locks/"+l1.LockID+"/uninstall?uninstallMode=area", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	r = h.do("PUT", installPath(p, b, l1.LockID), rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, []string{l2.LockID}, h.viewArea(rootKey, p, a).LockIDs)
	assert.Equal(t, []string{l1.LockID}, h.viewArea(rootKey, p, b).LockIDs)

	r = h.do("PUT", "/locks/"+l2.LockID+"/uninstall?uninstallMode=owner", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, []string{}, h.viewArea(rootKey, p, a).LockIDs)
	r = h.do("DELETE", areaPath(p, a), rootKey, nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
}

// An access-list entry naming a group or area that was deleted since stays
// valid while the area's list holds it, so a PUT of the area as read
// succeeds (as a property's accessManagerIds and a user's permission
// scopes do); another area's list cannot take it up: 422.
func TestAreaPutAsReadSurvivesADeletedGroupOrArea(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "Stale")
	hall := h.mkArea(rootKey, p, "Hall", "")
	pool := h.mkArea(rootKey, p, "Pool", "")
	cleaners := h.grpGroup(rootKey, p, "Cleaners")
	r := h.do("PUT", areaPath(p, hall), rootKey, map[string]any{"displayName": "Hall", "areaType": "common", "accessList": []any{
		map[string]any{"accessType": "group", "userGroupId": cleaners, "schedule": nil},
		map[string]any{"accessType": "area", "areaId": pool, "schedule": nil},
	}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	require.Equal(t, http.StatusOK, h.do("DELETE", grpPath(p, cleaners), rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("DELETE", areaPath(p, pool), rootKey, nil).Status)

	read := h.viewArea(rootKey, p, hall)
	require.Len(t, read.AccessList, 2)
	r = h.do("PUT", areaPath(p, hall), rootKey, map[string]any{"displayName": "Main hall", "areaType": read.AreaType, "accessList": read.AccessList})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	after := decodeArea(t, r)
	assert.Equal(t, "Main hall", after.DisplayName)
	assert.Equal(t, read.AccessListVersion, after.AccessListVersion, "the list did not change")

	other := h.mkArea(rootKey, p, "Gym", "")
	r = h.do("PUT", areaPath(p, other), rootKey, map[string]any{"displayName": "Gym", "areaType": "common", "accessList": []any{
		map[string]any{"accessType": "group", "userGroupId": cleaners, "schedule": nil}}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
	assert.Equal(t, "accessList[0].userGroupId: no such user group in this property", r.Error)
}

// A parent area in a property the key does not see answers as a parent
// that does not exist, on create and on update: the key learns nothing of
// the other property. A key that sees both is told where the parent is.
func TestParentAreaOutOfScopeAnswersAsMissing(t *testing.T) {
	h := newHarness(t)
	mine, other := h.mkProperty(rootKey, "mine"), h.mkProperty(rootKey, "other")
	theirs := h.mkArea(rootKey, other, "theirs", "")
	room := h.mkArea(rootKey, mine, "room", "")
	manager := h.newKey(rootKey, scopedPerm("manage-access", mine))
	missing := uuid.NewString()
	create := func(key, parent string) reply {
		return h.do("POST", areasPath(mine), key, map[string]any{"displayName": "new", "areaType": "resident", "parentAreaId": parent})
	}
	update := func(key, parent string) reply {
		return h.do("PUT", areaPath(mine, room), key, map[string]any{"displayName": "room", "areaType": "resident",
			"parentAreaId": parent, "accessList": []any{}})
	}
	for name, try := range map[string]func(key, parent string) reply{"create": create, "update": update} {
		real, none := try(manager, theirs), try(manager, missing)
		assert.Equal(t, none.Status, real.Status, name)
		assert.Equal(t, none.Error, real.Error, name)

		seen := try(rootKey, theirs)
		assert.Equal(t, http.StatusUnprocessableEntity, seen.Status, name)
		assert.Contains(t, seen.Error, "another property", name)
	}
}

// parentAreaId left out (or null) is the top of the property; given, it
// names an area: "" is not a UUID (400) and the nil UUID names no area
// (422, as an id nobody has), on a create and on a PUT alike, which moves
// nothing.
func TestParentAreaNilOrEmptyIsNotTopLevel(t *testing.T) {
	h := newHarness(t)
	p := h.mkProperty(rootKey, "Hotel Sol")
	top := h.mkArea(rootKey, p, "Floor 1", "")
	sub := h.mkArea(rootKey, p, "Room 1", top)
	before := h.head()
	for _, c := range []struct {
		parent any
		status int
		err    string
	}{
		{uuid.Nil.String(), http.StatusUnprocessableEntity, "parentAreaId: the parent area does not exist"},
		{"", http.StatusBadRequest, "parentAreaId: must be a UUID"},
	} {
		r := h.do("POST", areasPath(p), rootKey, map[string]any{"displayName": "e", "areaType": "common", "parentAreaId": c.parent})
		assert.Equal(t, c.status, r.Status, "POST %q: %s", c.parent, r.Error)
		assert.Equal(t, c.err, r.Error, "POST %q", c.parent)
		r = h.do("PUT", areaPath(p, sub), rootKey, map[string]any{"displayName": "Room 1", "areaType": "resident",
			"accessList": []any{}, "parentAreaId": c.parent})
		assert.Equal(t, c.status, r.Status, "PUT %q: %s", c.parent, r.Error)
		assert.Equal(t, c.err, r.Error, "PUT %q", c.parent)
	}
	assert.Equal(t, before, h.head(), "nothing recorded")
	assert.Equal(t, top, h.viewArea(rootKey, p, sub).ParentAreaID, "the sub-area did not move")

	// A 400 elsewhere in the body comes first, as before an unknown id's 422.
	r := h.do("PUT", areaPath(p, sub), rootKey, map[string]any{"displayName": "Room 1", "areaType": "resident",
		"accessList": []any{map[string]any{"accessType": "group", "userGroupId": "nope"}}, "parentAreaId": uuid.Nil.String()})
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)

	// null, as left out, is the top.
	r = h.do("POST", areasPath(p), rootKey, map[string]any{"displayName": "e", "areaType": "common", "parentAreaId": nil})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	assert.Empty(t, decodeArea(t, r).ParentAreaID)
	r = h.do("PUT", areaPath(p, sub), rootKey, map[string]any{"displayName": "Room 1", "areaType": "resident",
		"accessList": []any{}, "parentAreaId": nil})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Empty(t, decodeArea(t, r).ParentAreaID)
}
