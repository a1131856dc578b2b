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

// tlEntry is one entry of the activity feed.
type tlEntry struct {
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`
	Action     string         `json:"action"`
	Subject    string         `json:"subject"`
	PropertyID string         `json:"propertyId"`
	Details    map[string]any `json:"details"`
}

func (h *harness) tlPage(key, query string) ([]tlEntry, string) {
	h.t.Helper()
	r := h.do("GET", "/timeline/activity"+query, key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Activity  []tlEntry `json:"activity"`
		PageToken string    `json:"pageToken"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	require.NotNil(h.t, page.Activity, "activity is an array, even empty")
	return page.Activity, page.PageToken
}

func TestActivityFeed(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	now := time.Now()
	granted, denied := uuid.NewString(), uuid.NewString()
	h.lsSync(s.lock, 1,
		lsEntry(s.lock.ID, s.phone, granted, now.Add(time.Millisecond), "granted"),
		lsEntry(s.lock.ID, s.phone, denied, now.Add(2*time.Millisecond), "denied"))
	other := h.grpProperty(rootKey)

	all, _ := h.tlPage(rootKey, "?propertyId="+s.property+"&pageSize=500")
	require.NotEmpty(t, all)
	actions := map[string]tlEntry{}
	for i, e := range all {
		assert.Equal(t, s.property, e.PropertyID, "only the property's entries: %+v", e)
		if i > 0 {
			assert.False(t, e.At.After(all[i-1].At.Add(time.Minute)), "newest first")
		}
		actions[e.Action] = e
	}
	for _, a := range []string{"property.created", "area.created", "lock.installed", "user-group.member-added",
		"lock.access-granted", "lock.access-denied", "lock.synced"} {
		assert.Contains(t, actions, a)
	}
	assert.Equal(t, "lock.access-denied", all[0].Action, "the newest entry first")
	assert.Equal(t, "lock "+s.lock.ID, actions["lock.access-granted"].Actor)
	assert.Equal(t, "lock "+s.lock.ID, actions["lock.access-granted"].Subject)
	assert.Equal(t, s.user, actions["lock.access-granted"].Details["userId"])
	assert.NotContains(t, actions["lock.access-granted"].Details, "deviceSignature")
	assert.Equal(t, "lock "+s.lock.ID, actions["lock.installed"].Subject)
	assert.Equal(t, "lock "+s.lock.ID, actions["lock.synced"].Actor, "a lock's sync names no property; its installation did")
	assert.NotEmpty(t, actions["area.created"].Actor)

	// Paging is stable while events are appended.
	first, token := h.tlPage(rootKey, "?propertyId="+s.property+"&pageSize=3")
	require.Len(t, first, 3)
	require.NotEmpty(t, token)
	h.mkArea(rootKey, s.property, "Room 102", "")
	second, _ := h.tlPage(rootKey, "?propertyId="+s.property+"&pageSize=3&pageToken="+token)
	assert.Equal(t, all[3:6], second)

	// Scope: a key of another property sees none of it; a `me` key reads nothing.
	scoped := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": other})
	mine, _ := h.tlPage(scoped, "")
	for _, e := range mine {
		assert.Equal(t, other, e.PropertyID)
	}
	assert.NotEmpty(t, mine)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/timeline/activity?propertyId="+s.property, scoped, nil).Status)
	me := h.newKey(rootKey, map[string]string{"permission": "me", "userId": s.user})
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/timeline/activity", me, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/timeline/activity?propertyId=x", rootKey, nil).Status)
}
