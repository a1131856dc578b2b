package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grpView is a user group as answered.
type grpView struct {
	UserGroupID    string `json:"userGroupId"`
	PropertyID     string `json:"propertyId"`
	DisplayName    string `json:"displayName"`
	GroupType      string `json:"groupType"`
	GroupSource    string `json:"groupSource"`
	AreaID         string `json:"areaId"`
	Type           string `json:"type"`
	TypeState      string `json:"typeState"`
	CreatedAt      string `json:"createdAt"`
	LastModifiedAt string `json:"lastModifiedAt"`
	LastModifiedBy string `json:"lastModifiedBy"`
}

// grpMemberView is one entry of listUsersForGroup.
type grpMemberView struct {
	UserID      string     `json:"userId"`
	DisplayName string     `json:"displayName"`
	ValidFrom   *time.Time `json:"validFrom"`
	ValidUntil  *time.Time `json:"validUntil"`
}

func grpListPath(propertyID string) string { return "/properties/" + propertyID + "/groups" }

func grpPath(propertyID, groupID string) string { return grpListPath(propertyID) + "/" + groupID }

func grpMemberPath(propertyID, groupID, userID string) string {
	return grpPath(propertyID, groupID) + "/users/" + userID
}

// grpProperty creates a property and returns its id.
func (h *harness) grpProperty(key string) string {
	h.t.Helper()
	r := h.do("POST", "/properties", key, map[string]any{"displayName": "Hotel Luna"})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return r.field("propertyId")
}

// grpUser creates a user with no permissions and returns its id.
func (h *harness) grpUser(key, name string) string {
	h.t.Helper()
	r := h.do("POST", "/users", key, map[string]any{"displayName": name, "userPermissions": []any{}})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return r.field("userId")
}

// grpGroup creates a staff group and returns its id.
func (h *harness) grpGroup(key, propertyID, name string) string {
	h.t.Helper()
	r := h.do("POST", grpListPath(propertyID), key, map[string]any{"displayName": name, "groupType": "staff"})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return r.field("userGroupId")
}

// grpAdd adds a user to a group with no window.
func (h *harness) grpAdd(key, propertyID, groupID, userID string) {
	h.t.Helper()
	r := h.do("POST", grpMemberPath(propertyID, groupID, userID), key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
}

// grpGroups decodes a `groups` page.
func grpGroups(t *testing.T, r reply) ([]grpView, string) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Groups    []grpView `json:"groups"`
		PageToken string    `json:"pageToken"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &page))
	require.NotNil(t, page.Groups, "an empty list is [], not null: %s", r.Data)
	return page.Groups, page.PageToken
}

// grpMembers decodes a `users` page.
func grpMembers(t *testing.T, r reply) ([]grpMemberView, string) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Users     []grpMemberView `json:"users"`
		PageToken string          `json:"pageToken"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &page))
	require.NotNil(t, page.Users, "an empty list is [], not null: %s", r.Data)
	return page.Users, page.PageToken
}

func grpIDsOf(gs []grpView) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.UserGroupID
	}
	return out
}

func grpMemberIDsOf(ms []grpMemberView) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.UserID
	}
	return out
}

func TestUserGroupLifecycle(t *testing.T) {
	h := newHarness(t)
	p := h.grpProperty(rootKey)
	created := h.do("POST", grpListPath(p), rootKey, map[string]any{"displayName": "Cleaners", "groupType": "staff", "groupSource": "custom"})
	require.Equal(t, http.StatusCreated, created.Status, created.Error)
	var g grpView
	require.NoError(t, json.Unmarshal(created.Data, &g))
	_, err := uuid.Parse(g.UserGroupID)
	require.NoError(t, err)
	assert.Equal(t, grpView{
		UserGroupID: g.UserGroupID, PropertyID: p, DisplayName: "Cleaners", GroupType: "staff", GroupSource: "custom",
		Type: "userGroup", TypeState: "active", CreatedAt: g.CreatedAt, LastModifiedAt: g.CreatedAt, LastModifiedBy: g.LastModifiedBy,
	}, g)
	assert.NotEmpty(t, g.CreatedAt)
	assert.NotEmpty(t, g.LastModifiedBy)
	assert.NotContains(t, string(created.Data), "areaId", "a custom group has no area")

	got := h.do("GET", grpPath(p, g.UserGroupID), rootKey, nil)
	require.Equal(t, http.StatusOK, got.Status, got.Error)
	assert.JSONEq(t, string(created.Data), string(got.Data))

	groups, _ := grpGroups(t, h.do("GET", grpListPath(p), rootKey, nil))
	assert.Equal(t, []string{g.UserGroupID}, grpIDsOf(groups))

	updated := h.do("PUT", grpPath(p, g.UserGroupID), rootKey, map[string]any{"displayName": "Housekeeping", "groupType": "common"})
	require.Equal(t, http.StatusOK, updated.Status, updated.Error)
	assert.Equal(t, "Housekeeping", updated.field("displayName"))
	assert.Equal(t, "common", updated.field("groupType"))
	assert.Equal(t, "custom", updated.field("groupSource"))
	assert.Equal(t, "Housekeeping", h.do("GET", grpPath(p, g.UserGroupID), rootKey, nil).field("displayName"))

	deleted := h.do("DELETE", grpPath(p, g.UserGroupID), rootKey, nil)
	require.Equal(t, http.StatusOK, deleted.Status, deleted.Error)
	assert.Equal(t, g.UserGroupID, deleted.field("userGroupId"))
	assert.Equal(t, http.StatusNotFound, h.do("GET", grpPath(p, g.UserGroupID), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", grpPath(p, g.UserGroupID), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("PUT", grpPath(p, g.UserGroupID), rootKey, map[string]any{"displayName": "x", "groupType": "staff"}).Status)
	groups, _ = grpGroups(t, h.do("GET", grpListPath(p), rootKey, nil))
	assert.Empty(t, groups)

	// Group events are listed under eventSource userGroup.
	events := h.do("GET", "/events?eventSource=userGroup&userGroupId="+g.UserGroupID, rootKey, nil)
	require.Equal(t, http.StatusOK, events.Status, events.Error)
	for _, name := range []string{"UserGroupCreated", "UserGroupUpdated", "UserGroupDeleted"} {
		assert.Contains(t, string(events.Data), `"eventName":"`+name+`"`)
	}
}

func TestUserGroupValidation(t *testing.T) {
	h := newHarness(t)
	p := h.grpProperty(rootKey)
	g := h.grpGroup(rootKey, p, "Cleaners")
	bad := map[string]string{
		`{"groupType":"staff"}`:                                                  "displayName",
		`{"displayName":"  ","groupType":"staff"}`:                               "displayName",
		`{"displayName":"G","groupType":"vip"}`:                                  "groupType",
		`{"displayName":"G"}`:                                                    "groupType",
		`{"displayName":"G","groupType":"staff","groupSource":"area"}`:           "groupSource",
		`{"displayName":"G","groupType":"staff","groupSource":"nope"}`:           "groupSource",
		`{"displayName":"G","groupType":"staff","areaId":"` + p + `"}`:           "areaId",
		`{"displayName":5,"groupType":"staff"}`:                                  "displayName",
		`{"displayName":"G","groupType":"staff"`:                                 "body",
		``:                                                                       "body",
		`{"displayName":"` + strings.Repeat("n", 201) + `","groupType":"staff"}`: "displayName",
	}
	for body, field := range bad {
		r := h.do("POST", grpListPath(p), rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, field, body)
	}
	for body, field := range map[string]string{
		`{"displayName":"G","groupType":"vip"}`:                          "groupType",
		`{"displayName":"","groupType":"staff"}`:                         "displayName",
		`{"displayName":"G","groupType":"staff","groupSource":"custom"}`: "groupSource",
	} {
		r := h.do("PUT", grpPath(p, g), rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, field, body)
	}
	r := h.do("POST", grpListPath("not-a-uuid"), rootKey, map[string]any{"displayName": "G", "groupType": "staff"})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Error, "propertyId")
	r = h.do("GET", grpPath(p, "nope"), rootKey, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Error, "userGroupId")
	r = h.do("POST", grpMemberPath(p, g, "nope"), rootKey, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Error, "userId")
	assert.Equal(t, http.StatusNotFound, h.do("POST", grpListPath(uuid.NewString()), rootKey, map[string]any{"displayName": "G", "groupType": "staff"}).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", grpListPath(uuid.NewString()), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", grpPath(p, uuid.NewString()), rootKey, nil).Status)
	// A group exists only under its own property.
	p2 := h.grpProperty(rootKey)
	assert.Equal(t, http.StatusNotFound, h.do("GET", grpPath(p2, g), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", grpPath(p2, g), rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", grpListPath(p)+"?pageSize=0", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", grpPath(p, g)+"/users?pageToken=x", rootKey, nil).Status)
}

func TestAreaGroups(t *testing.T) {
	h := newHarness(t)
	p := h.grpProperty(rootKey)
	ar := h.do("POST", "/properties/"+p+"/areas", rootKey, map[string]any{"displayName": "Room 101", "areaType": "resident"})
	require.Equal(t, http.StatusCreated, ar.Status, ar.Error)
	areaID, areaGroup := ar.field("areaId"), ar.field("areaUserGroupId")
	require.NotEmpty(t, areaGroup)

	got := h.do("GET", grpPath(p, areaGroup), rootKey, nil)
	require.Equal(t, http.StatusOK, got.Status, got.Error)
	assert.Equal(t, "area", got.field("groupSource"))
	assert.Equal(t, areaID, got.field("areaId"))
	groups, _ := grpGroups(t, h.do("GET", grpListPath(p), rootKey, nil))
	assert.Equal(t, []string{areaGroup}, grpIDsOf(groups))

	// An area's own group cannot be deleted on its own, but takes members.
	r := h.do("DELETE", grpPath(p, areaGroup), rootKey, nil)
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.NotEmpty(t, r.Error)
	u := h.grpUser(rootKey, "Guest")
	h.grpAdd(rootKey, p, areaGroup, u)
	members, _ := grpMembers(t, h.do("GET", grpPath(p, areaGroup)+"/users", rootKey, nil))
	assert.Equal(t, []string{u}, grpMemberIDsOf(members))
	assert.Equal(t, http.StatusOK, h.do("GET", grpPath(p, areaGroup), rootKey, nil).Status)

	// Deleting the area takes its group and the memberships.
	require.Equal(t, http.StatusOK, h.do("DELETE", "/properties/"+p+"/areas/"+areaID, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", grpPath(p, areaGroup), rootKey, nil).Status)
	mine, _ := grpGroups(t, h.do("GET", "/users/"+u+"/groups", rootKey, nil))
	assert.Empty(t, mine)
}

func TestMemberships(t *testing.T) {
	h := newHarness(t)
	p, p2 := h.grpProperty(rootKey), h.grpProperty(rootKey)
	g, g2 := h.grpGroup(rootKey, p, "Cleaners"), h.grpGroup(rootKey, p2, "Porters")
	ana, ben := h.grpUser(rootKey, "Ana"), h.grpUser(rootKey, "Ben")

	// No body, an empty body and {} all add without a window.
	added := h.do("POST", grpMemberPath(p, g, ana), rootKey, nil)
	require.Equal(t, http.StatusOK, added.Status, added.Error)
	assert.JSONEq(t, `{"userGroupId":"`+g+`","userId":"`+ana+`"}`, string(added.Data))
	assert.Equal(t, http.StatusOK, h.do("POST", grpMemberPath(p, g, ana), rootKey, " \n").Status)
	assert.Equal(t, http.StatusOK, h.do("POST", grpMemberPath(p, g, ana), rootKey, "{}").Status)

	window := map[string]any{"validFrom": "2030-03-02T16:00:00+01:00", "validUntil": "2030-03-05T11:00:00Z"}
	withWindow := h.do("POST", grpMemberPath(p, g, ben), rootKey, window)
	require.Equal(t, http.StatusOK, withWindow.Status, withWindow.Error)
	assert.Equal(t, "2030-03-02T15:00:00Z", withWindow.field("validFrom"), "answered in UTC")
	assert.Equal(t, "2030-03-05T11:00:00Z", withWindow.field("validUntil"))
	h.grpAdd(rootKey, p2, g2, ana)

	members, _ := grpMembers(t, h.do("GET", grpPath(p, g)+"/users", rootKey, nil))
	require.Len(t, members, 2)
	assert.Equal(t, grpMemberView{UserID: ana, DisplayName: "Ana"}, members[0], "oldest membership first")
	assert.Equal(t, ben, members[1].UserID)
	assert.Equal(t, "Ben", members[1].DisplayName)
	require.NotNil(t, members[1].ValidFrom)
	assert.Equal(t, "2030-03-02T15:00:00Z", members[1].ValidFrom.Format(time.RFC3339))
	assert.Equal(t, "2030-03-05T11:00:00Z", members[1].ValidUntil.Format(time.RFC3339))

	// Re-adding with the same window records nothing; a new window does.
	count := func() int {
		r := h.do("GET", "/events?eventSource=userGroup&userGroupId="+g+"&userId="+ben, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		return strings.Count(string(r.Data), `"eventId"`)
	}
	before := count()
	assert.Equal(t, http.StatusOK, h.do("POST", grpMemberPath(p, g, ben), rootKey, window).Status)
	assert.Equal(t, before, count(), "an idempotent re-add")
	assert.Equal(t, http.StatusOK, h.do("POST", grpMemberPath(p, g, ben), rootKey, nil).Status)
	assert.Equal(t, before+1, count())
	assert.Contains(t, string(h.do("GET", "/events?eventSource=userGroup&userGroupId="+g, rootKey, nil).Data), "UserGroupMembershipChanged")
	members, _ = grpMembers(t, h.do("GET", grpPath(p, g)+"/users", rootKey, nil))
	assert.Equal(t, []string{ana, ben}, grpMemberIDsOf(members), "a new window keeps the member's place")
	assert.Nil(t, members[1].ValidFrom)

	// Windows are checked, naming the field.
	for body, field := range map[string]string{
		`{"validFrom":"2030-03-05T11:00:00Z","validUntil":"2030-03-02T11:00:00Z"}`: "validUntil",
		`{"validFrom":"2030-03-05T11:00:00Z","validUntil":"2030-03-05T11:00:00Z"}`: "validUntil",
		`{"validFrom":"tomorrow"}`:            "validFrom",
		`{"validUntil":"2030-03-05"}`:         "validUntil",
		`{"validFrom":5}`:                     "validFrom",
		`{"validTo":"2030-03-05T11:00:00Z"}`:  "validTo",
		`{"validFrom":"2030-03-05T11:00:00Z"`: "body",
	} {
		r := h.do("POST", grpMemberPath(p, g, ana), rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, field, body)
	}

	// Unknown users and groups.
	assert.Equal(t, http.StatusNotFound, h.do("POST", grpMemberPath(p, g, uuid.NewString()), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("POST", grpMemberPath(p, uuid.NewString(), ana), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("POST", grpMemberPath(p2, g, ana), rootKey, nil).Status, "the group is not in that property")

	// A user's groups, everywhere and at one property.
	mine, _ := grpGroups(t, h.do("GET", "/users/"+ana+"/groups", rootKey, nil))
	assert.Equal(t, []string{g, g2}, grpIDsOf(mine))
	assert.Equal(t, "Cleaners", mine[0].DisplayName)
	mine, _ = grpGroups(t, h.do("GET", "/users/"+ana+"/properties/"+p2+"/groups", rootKey, nil))
	assert.Equal(t, []string{g2}, grpIDsOf(mine))
	mine, _ = grpGroups(t, h.do("GET", "/users/"+ben+"/properties/"+p2+"/groups", rootKey, nil))
	assert.Empty(t, mine)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+uuid.NewString()+"/groups", rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+ana+"/properties/"+uuid.NewString()+"/groups", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/users/x/groups", rootKey, nil).Status)

	// Removal.
	removed := h.do("DELETE", grpMemberPath(p, g, ana), rootKey, nil)
	require.Equal(t, http.StatusOK, removed.Status, removed.Error)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", grpMemberPath(p, g, ana), rootKey, nil).Status, "not a member any more")
	members, _ = grpMembers(t, h.do("GET", grpPath(p, g)+"/users", rootKey, nil))
	assert.Equal(t, []string{ben}, grpMemberIDsOf(members))
	mine, _ = grpGroups(t, h.do("GET", "/users/"+ana+"/groups", rootKey, nil))
	assert.Equal(t, []string{g2}, grpIDsOf(mine))

	// Deleting a group ends its memberships.
	require.Equal(t, http.StatusOK, h.do("DELETE", grpPath(p2, g2), rootKey, nil).Status)
	mine, _ = grpGroups(t, h.do("GET", "/users/"+ana+"/groups", rootKey, nil))
	assert.Empty(t, mine)
}

func TestDeletingAUserEndsTheirMemberships(t *testing.T) {
	h := newHarness(t)
	p, p2 := h.grpProperty(rootKey), h.grpProperty(rootKey)
	g, g2 := h.grpGroup(rootKey, p, "Cleaners"), h.grpGroup(rootKey, p2, "Porters")
	ana, ben := h.grpUser(rootKey, "Ana"), h.grpUser(rootKey, "Ben")
	h.grpAdd(rootKey, p, g, ana)
	h.grpAdd(rootKey, p2, g2, ana)
	h.grpAdd(rootKey, p, g, ben)

	r := h.do("DELETE", "/users/"+ana, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	members, _ := grpMembers(t, h.do("GET", grpPath(p, g)+"/users", rootKey, nil))
	assert.Equal(t, []string{ben}, grpMemberIDsOf(members))
	members, _ = grpMembers(t, h.do("GET", grpPath(p2, g2)+"/users", rootKey, nil))
	assert.Empty(t, members)
	// The groups' own logs record the removals.
	events := h.do("GET", "/events?eventSource=userGroup&userId="+ana, rootKey, nil)
	require.Equal(t, http.StatusOK, events.Status, events.Error)
	assert.Equal(t, 2, strings.Count(string(events.Data), `"eventName":"UserRemovedFromGroup"`))
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/users/"+ana+"/groups", rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("POST", grpMemberPath(p, g, ana), rootKey, nil).Status)
}

func TestGroupMembersPageStably(t *testing.T) {
	h := newHarness(t)
	p := h.grpProperty(rootKey)
	g := h.grpGroup(rootKey, p, "Staff")
	var want []string
	for i := range 5 {
		u := h.grpUser(rootKey, "U"+string(rune('a'+i)))
		h.grpAdd(rootKey, p, g, u)
		want = append(want, u)
	}
	var got []string
	token := ""
	for pages := 0; pages < 10; pages++ {
		path := grpPath(p, g) + "/users?pageSize=2"
		if token != "" {
			path += "&pageToken=" + token
		}
		members, next := grpMembers(t, h.do("GET", path, rootKey, nil))
		assert.LessOrEqual(t, len(members), 2)
		got = append(got, grpMemberIDsOf(members)...)
		if pages == 0 {
			// Appended between pages: seen once, at the end.
			u := h.grpUser(rootKey, "Late")
			h.grpAdd(rootKey, p, g, u)
			want = append(want, u)
			// A member of the first page gets a new window: not repeated.
			require.Equal(t, http.StatusOK, h.do("POST", grpMemberPath(p, g, want[0]), rootKey,
				map[string]any{"validUntil": "2031-01-01T00:00:00Z"}).Status)
		}
		if next == "" {
			break
		}
		token = next
	}
	assert.Equal(t, want, got)

	// A user's groups page the same way.
	u := want[0]
	var groups []string
	for range 3 {
		id := h.grpGroup(rootKey, p, "More")
		h.grpAdd(rootKey, p, id, u)
		groups = append(groups, id)
	}
	page, next := grpGroups(t, h.do("GET", "/users/"+u+"/groups?pageSize=3", rootKey, nil))
	require.NotEmpty(t, next)
	rest, last := grpGroups(t, h.do("GET", "/users/"+u+"/groups?pageSize=3&pageToken="+next, rootKey, nil))
	assert.Empty(t, last)
	assert.Equal(t, append([]string{g}, groups...), append(grpIDsOf(page), grpIDsOf(rest)...))
}

// TestGroupPermissions runs every group route with each kind of key.
func TestGroupPermissions(t *testing.T) {
	h := newHarness(t)
	p, p2 := h.grpProperty(rootKey), h.grpProperty(rootKey)
	g := h.grpGroup(rootKey, p, "Cleaners")
	u, stranger, worker := h.grpUser(rootKey, "Ana"), h.grpUser(rootKey, "Ben"), h.grpUser(rootKey, "Cy")
	h.grpAdd(rootKey, p, g, u)
	g2 := h.grpGroup(rootKey, p2, "Porters")
	h.grpAdd(rootKey, p2, g2, u)

	keys := map[string]string{
		"owner":           rootKey,
		"manage-access":   h.newKey(rootKey, perm("manage-access")),
		"manage-access@p": h.newKey(rootKey, scopedPerm("manage-access", p)),
		"manage-access@2": h.newKey(rootKey, scopedPerm("manage-access", p2)),
		"support":         h.newKey(rootKey, perm("support")),
		"support@p":       h.newKey(rootKey, scopedPerm("support", p)),
		"install-lock@p":  h.newKey(rootKey, scopedPerm("install-lock", p)),
		"me":              h.newKey(rootKey, map[string]string{"permission": "me", "userId": u}),
		"me-other":        h.newKey(rootKey, map[string]string{"permission": "me", "userId": stranger}),
	}
	const ok, created, forbidden, missing = http.StatusOK, http.StatusCreated, http.StatusForbidden, http.StatusNotFound
	type expect map[string]int
	writers := expect{"owner": ok, "manage-access": ok, "manage-access@p": ok, "manage-access@2": missing,
		"support": forbidden, "support@p": forbidden, "install-lock@p": forbidden, "me": forbidden, "me-other": forbidden}
	readers := expect{"owner": ok, "manage-access": ok, "manage-access@p": ok, "manage-access@2": missing,
		"support": ok, "support@p": ok, "install-lock@p": ok, "me": forbidden, "me-other": forbidden}

	// Writes run against a fresh group each, so one key's success does not
	// change another's case.
	fresh := func() string {
		id := h.grpGroup(rootKey, p, "Fresh")
		h.grpAdd(rootKey, p, id, worker)
		return id
	}
	writes := map[string]func(key, group string) reply{
		"createUserGroup": func(key, _ string) reply {
			return h.do("POST", grpListPath(p), key, map[string]any{"displayName": "G", "groupType": "staff"})
		},
		"updateUserGroup": func(key, group string) reply {
			return h.do("PUT", grpPath(p, group), key, map[string]any{"displayName": "Renamed", "groupType": "staff"})
		},
		"deleteUserGroup": func(key, group string) reply { return h.do("DELETE", grpPath(p, group), key, nil) },
		"addUserToUserGroup": func(key, group string) reply {
			return h.do("POST", grpMemberPath(p, group, stranger), key, nil)
		},
		"removeUserFromUserGroup": func(key, group string) reply {
			return h.do("DELETE", grpMemberPath(p, group, worker), key, nil)
		},
	}
	for op, call := range writes {
		for name, key := range keys {
			want := writers[name]
			if op == "createUserGroup" && want == ok {
				want = created
			}
			r := call(key, fresh())
			assert.Equal(t, want, r.Status, "%s by %s: %s", op, name, r.Error)
		}
	}

	reads := map[string]string{
		"listUserGroups":    grpListPath(p),
		"getUserGroup":      grpPath(p, g),
		"listUsersForGroup": grpPath(p, g) + "/users",
	}
	for op, path := range reads {
		for name, key := range keys {
			r := h.do("GET", path, key, nil)
			assert.Equal(t, readers[name], r.Status, "%s by %s: %s", op, name, r.Error)
			if r.Status != ok {
				assert.NotContains(t, string(r.Data), "Cleaners", "%s by %s", op, name)
			}
		}
	}

	// A user's groups: each reader sees the properties in its scope; `me`
	// sees its own user's groups everywhere, and no one else's.
	everywhere := []string{g, g2}
	userGroups := map[string][]string{
		"owner": everywhere, "manage-access": everywhere, "manage-access@p": {g}, "manage-access@2": {g2},
		"support": everywhere, "support@p": {g}, "install-lock@p": {g}, "me": everywhere,
	}
	for name, key := range keys {
		r := h.do("GET", "/users/"+u+"/groups", key, nil)
		want, allowed := userGroups[name]
		if !allowed {
			assert.Equal(t, forbidden, r.Status, "listGroupsForUser by %s", name)
			continue
		}
		got, _ := grpGroups(t, r)
		assert.ElementsMatch(t, want, grpIDsOf(got), "listGroupsForUser by %s", name)
	}
	atP := expect{"owner": ok, "manage-access": ok, "manage-access@p": ok, "manage-access@2": missing,
		"support": ok, "support@p": ok, "install-lock@p": ok, "me": ok, "me-other": forbidden}
	for name, key := range keys {
		r := h.do("GET", "/users/"+u+"/properties/"+p+"/groups", key, nil)
		require.Equal(t, atP[name], r.Status, "listGroupsForUserAtProperty by %s: %s", name, r.Error)
		if r.Status == ok {
			got, _ := grpGroups(t, r)
			assert.Contains(t, grpIDsOf(got), g, "listGroupsForUserAtProperty by %s", name)
			assert.NotContains(t, grpIDsOf(got), g2, "listGroupsForUserAtProperty by %s", name)
		}
	}
	// `me` reads its own memberships, but not another user's.
	me := keys["me"]
	assert.Equal(t, forbidden, h.do("GET", "/users/"+stranger+"/groups", me, nil).Status)
	assert.Equal(t, forbidden, h.do("GET", "/users/"+stranger+"/properties/"+p+"/groups", me, nil).Status)
}

// TestGroupsOfAnotherAccountAreNotFound tries every route with an id from
// another account: each answers 404 and no data.
func TestGroupsOfAnotherAccountAreNotFound(t *testing.T) {
	h := newHarness(t)
	p := h.grpProperty(rootKey)
	g := h.grpGroup(rootKey, p, "Secret Cleaners")
	u := h.grpUser(rootKey, "Secret Ana")
	h.grpAdd(rootKey, p, g, u)

	other := h.newAccount()
	op := h.grpProperty(other)
	og := h.grpGroup(other, op, "Theirs")
	ou := h.grpUser(other, "Them")

	calls := []struct {
		method, path string
		body         any
	}{
		{"POST", grpListPath(p), map[string]any{"displayName": "G", "groupType": "staff"}},
		{"GET", grpListPath(p), nil},
		{"GET", grpPath(p, g), nil},
		{"PUT", grpPath(p, g), map[string]any{"displayName": "G", "groupType": "staff"}},
		{"DELETE", grpPath(p, g), nil},
		{"POST", grpMemberPath(p, g, u), nil},
		{"POST", grpMemberPath(p, g, ou), nil},
		{"DELETE", grpMemberPath(p, g, u), nil},
		{"GET", grpPath(p, g) + "/users", nil},
		{"GET", "/users/" + u + "/groups", nil},
		{"GET", "/users/" + u + "/properties/" + p + "/groups", nil},
		{"GET", "/users/" + ou + "/properties/" + p + "/groups", nil},
		// Their ids under our property, and ours under theirs.
		{"GET", grpPath(op, g), nil},
		{"GET", grpPath(p, og), nil},
		{"POST", grpMemberPath(op, og, u), nil},
	}
	for _, c := range calls {
		r := h.do(c.method, c.path, other, c.body)
		assert.Equal(t, http.StatusNotFound, r.Status, "%s %s: %s", c.method, c.path, r.Error)
		assert.NotContains(t, string(r.Data), "Secret", "%s %s", c.method, c.path)
	}
	// Nor can our group take their user.
	assert.Equal(t, http.StatusNotFound, h.do("POST", grpMemberPath(p, g, ou), rootKey, nil).Status)
	// Nothing changed.
	members, _ := grpMembers(t, h.do("GET", grpPath(p, g)+"/users", rootKey, nil))
	assert.Equal(t, []string{u}, grpMemberIDsOf(members))
	assert.Equal(t, "Secret Cleaners", h.do("GET", grpPath(p, g), rootKey, nil).field("displayName"))
}

// DELETE answers the deleted group (the reference's UserGroupOutput), as
// deleting a user or a device answers it: typeState deleted, the time and
// key of the deletion.
func TestDeletingAGroupAnswersItAsDeleted(t *testing.T) {
	h := newHarness(t)
	p := h.grpProperty(rootKey)
	g := h.grpGroup(rootKey, p, "Cleaners")
	manager := h.newKey(rootKey, perm("manage-access"))
	deleted := h.do("DELETE", grpPath(p, g), manager, nil)
	require.Equal(t, http.StatusOK, deleted.Status, deleted.Error)
	var out grpView
	require.NoError(t, json.Unmarshal(deleted.Data, &out))
	assert.Equal(t, g, out.UserGroupID)
	assert.Equal(t, p, out.PropertyID)
	assert.Equal(t, "Cleaners", out.DisplayName)
	assert.Equal(t, "userGroup", out.Type)
	assert.Equal(t, "deleted", out.TypeState)
	assert.NotEqual(t, out.CreatedAt, out.LastModifiedAt)
	keys := h.do("GET", "/accounts/keys", rootKey, nil)
	assert.Contains(t, string(keys.Data), `"apiKeyId":"`+out.LastModifiedBy+`"`, "lastModifiedBy is the deleting key")
	assert.NotEqual(t, h.do("GET", "/account", rootKey, nil).field("lastModifiedBy"), out.LastModifiedBy)
}

// A deleted property's groups are gone with it: GET /users/{userId}/groups
// no longer lists them (nor their user's `me` key sees them), as
// GET /properties/{propertyId}/groups/{userGroupId} answers 404.
func TestDeletedPropertysGroupsAreNotAUsersGroups(t *testing.T) {
	h := newHarness(t)
	p, gone := h.grpProperty(rootKey), h.grpProperty(rootKey)
	g, g2 := h.grpGroup(rootKey, p, "Cleaners"), h.grpGroup(rootKey, gone, "Porters")
	area := h.mkArea(rootKey, gone, "Hall", "")
	areaGroup := h.viewArea(rootKey, gone, area).AreaUserGroupID
	ana := h.grpUser(rootKey, "Ana")
	h.grpAdd(rootKey, p, g, ana)
	h.grpAdd(rootKey, gone, g2, ana)
	h.grpAdd(rootKey, gone, areaGroup, ana)
	groups, _ := grpGroups(t, h.do("GET", "/users/"+ana+"/groups", rootKey, nil))
	require.ElementsMatch(t, []string{g, g2, areaGroup}, grpIDsOf(groups))

	require.Equal(t, http.StatusOK, h.do("DELETE", "/properties/"+gone, rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", grpPath(gone, g2), rootKey, nil).Status)
	groups, _ = grpGroups(t, h.do("GET", "/users/"+ana+"/groups", rootKey, nil))
	assert.Equal(t, []string{g}, grpIDsOf(groups))
	groups, _ = grpGroups(t, h.do("GET", "/users/"+ana+"/groups", h.meKey(ana), nil))
	assert.Equal(t, []string{g}, grpIDsOf(groups), "nor for the user's own key")
	assert.Equal(t, http.StatusNotFound, h.do("GET", grpPath(gone, g2)+"/users", rootKey, nil).Status)

	// Nor can they be changed: nothing is recorded.
	ben := h.grpUser(rootKey, "Ben")
	before := h.head()
	assert.Equal(t, http.StatusNotFound, h.do("PUT", grpPath(gone, g2), rootKey, map[string]any{"displayName": "x", "groupType": "staff"}).Status)
	assert.Equal(t, http.StatusNotFound, h.do("POST", grpMemberPath(gone, g2, ben), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", grpMemberPath(gone, g2, ana), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", grpPath(gone, g2), rootKey, nil).Status)
	assert.Equal(t, before, h.head())
}
