package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// auditTenant is one account's installed lock, a device and a booking's
// access code, all able to open the lock.
type auditTenant struct {
	key, lock, device, code string
}

func (h *harness) newAuditTenant(key string) auditTenant {
	h.t.Helper()
	t := auditTenant{key: key}
	property := h.lockProperty(key)
	flat := h.mkArea(key, property, "Flat 1A", "")
	t.lock = h.provisionLock(key, "Flat 1A door").LockID
	require.Equal(h.t, http.StatusOK, h.do("PUT", installPath(property, flat, t.lock), key, nil).Status)
	guest := h.grpUser(key, "Guest")
	t.device = h.provisionDevice(key, guest, "guest phone").UserDeviceID
	h.grpAdd(key, property, h.viewArea(key, property, flat).AreaUserGroupID, guest)
	start := h.clock.Now().Add(-time.Hour).Truncate(time.Second)
	r := h.do("POST", "/properties/"+property+"/bookings", key, map[string]any{
		"areaId": flat, "guest": map[string]any{"userId": guest},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(100 * time.Hour)), "source": "web",
	})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	r = h.do("POST", "/bookings/"+r.field("bookingId")+"/access-codes", key, map[string]any{"code": "482913"})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	t.code = r.field("accessCodeId")
	return t
}

// decisionBody is the raw answer to a decision about one credential.
func (h *harness) decisionBody(key, lockID, param, id string, at time.Time) (int, string) {
	h.t.Helper()
	status, _, body := h.rawGet("/audit/decisions?lockId="+lockID+"&"+param+"="+id+"&at="+url.QueryEscape(at.Format(time.RFC3339Nano)), key)
	return status, body
}

// Another account's device or access code, asked about on one's own lock,
// answers exactly as an id that never existed: same status and reason,
// and none of the other account's events. Both ways: parent and child.
func TestAuditDecisionsDoNotReachAnotherAccount(t *testing.T) {
	h := newHarness(t)
	parent := h.newAuditTenant(rootKey)
	child := h.newAuditTenant(h.newAccount())
	at := h.settle()

	for _, c := range []struct {
		name      string
		me, other auditTenant
	}{
		{"parent asks about the child's", parent, child},
		{"child asks about the parent's", child, parent},
	} {
		for _, cred := range []struct{ param, own, foreign, notFoundReason string }{
			{"userDeviceId", c.me.device, c.other.device, "deviceNotProvisioned"},
			{"accessCodeId", c.me.code, c.other.code, "codeNotCreated"},
		} {
			status, body := h.decisionBody(c.me.key, c.me.lock, cred.param, cred.own, at)
			require.Equal(t, http.StatusOK, status, body)
			assert.Contains(t, body, `"allowed":true`, "%s: %s own credential opens", c.name, cred.param)

			status, body = h.decisionBody(c.me.key, c.me.lock, cred.param, cred.foreign, at)
			randomStatus, randomBody := h.decisionBody(c.me.key, c.me.lock, cred.param, uuid.NewString(), at)
			require.Equal(t, randomStatus, status, "%s %s: %s", c.name, cred.param, body)
			var foreign, random auditDecision
			require.NoError(t, json.Unmarshal([]byte(body), &struct{ Data *auditDecision }{&foreign}))
			require.NoError(t, json.Unmarshal([]byte(randomBody), &struct{ Data *auditDecision }{&random}))
			assert.Equal(t, cred.notFoundReason, foreign.Reason, "%s %s", c.name, cred.param)
			assert.Equal(t, random.Reason, foreign.Reason, "%s %s: the reason gives nothing away", c.name, cred.param)
			assert.Equal(t, len(random.Path), len(foreign.Path), "%s %s: %s", c.name, cred.param, body)
			for _, leaked := range []string{"UserDeviceProvisioned", "AccessCodeCreated"} {
				assert.NotContains(t, body, leaked, "%s %s", c.name, cred.param)
			}
			assert.Empty(t, foreign.Path[len(foreign.Path)-1].EventID, "%s %s: no event of the other account", c.name, cred.param)
		}
	}
}

// A refusal for want of membership ends with the missing link, and names
// the UserRemovedFromGroup that removed the membership when there is one.
func TestAuditNoMembershipEndsWithTheMissingLink(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)

	d := h.auditDecide(f.lock, f.guestPhone.UserDeviceID, f.at["installed"])
	require.Equal(t, "noMembership", d.Reason)
	require.Equal(t, []string{"install", "device", "membership"}, linkNames(d.Path))
	last := d.Path[len(d.Path)-1]
	assert.True(t, last.Missing)
	assert.Empty(t, last.EventID, "never a member: no event removed it")

	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, f.at["cleanerGone"])
	require.Equal(t, "noMembership", d.Reason)
	require.Equal(t, []string{"install", "device", "membership"}, linkNames(d.Path))
	last = d.Path[len(d.Path)-1]
	assert.True(t, last.Missing)
	assert.Equal(t, "UserRemovedFromGroup", last.EventType)
	assert.NotEmpty(t, last.EventID)
	assert.NotEmpty(t, last.APIKeyID, "who removed it")
	assert.Equal(t, f.staff, last.UserGroupID)
}

func linkNames(path []auditLink) []string {
	out := make([]string, 0, len(path))
	for _, l := range path {
		out = append(out, l.Link)
	}
	return out
}

// A history window whose from is after its to is a 400 naming from, on
// every history; an empty window [t, t) is just empty.
func TestAuditHistoryFromAfterToIs400(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	l := h.provisionLock(rootKey, "door")
	user := h.grpUser(rootKey, "Ana")
	for _, history := range []string{"/audit/locks/" + l.LockID, "/audit/users/" + user, "/audit/properties/" + property} {
		r := h.do("GET", history+"/history?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", rootKey, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, history)
		assert.Contains(t, r.Error, "from", history)
		status, _, body := h.rawGet(history+"/history?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", rootKey)
		assert.Equal(t, http.StatusOK, status, history)
		assert.Empty(t, body, history)
	}
}

// A deleted user's and a deleted property's histories stay readable: the
// log keeps them, and an auditor asks about former staff most of all.
// Another account still gets 404.
func TestAuditHistoryOfDeletedUserAndProperty(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	group := h.grpGroup(rootKey, property, "Staff")
	user := h.grpUser(rootKey, "Former cleaner")
	h.provisionDevice(rootKey, user, "phone")
	h.grpAdd(rootKey, property, group, user)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+user, rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/properties/"+property, rootKey, nil).Status)
	h.settle()

	status, _, body := h.rawGet("/audit/users/"+user+"/history", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	for _, want := range []string{"UserCreated", "UserDeviceProvisioned", "UserAddedToGroup", "UserRemovedFromGroup", "UserDeleted"} {
		assert.Contains(t, body, `"eventType":"`+want+`"`)
	}
	status, _, body = h.rawGet("/audit/properties/"+property+"/history", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	for _, want := range []string{"PropertyCreated", "UserAddedToGroup", "PropertyDeleted"} {
		assert.Contains(t, body, `"eventType":"`+want+`"`)
	}

	other := h.newAccount()
	for _, p := range []string{"/audit/users/" + user + "/history", "/audit/properties/" + property + "/history"} {
		status, _, _ = h.rawGet(p, other)
		assert.Equal(t, http.StatusNotFound, status, p)
	}
}

// A member of a group that is then deleted: the refusal's missing
// membership names the group's deletion, the event that removed it.
func TestAuditNoMembershipNamesTheGroupsDeletion(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, f.lock), rootKey, nil).Status)
	h.grpAdd(rootKey, f.property, f.staff, f.cleaner)
	d := h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle())
	require.True(t, d.Allowed, d.Reason)

	require.Equal(t, http.StatusOK, h.do("DELETE", grpPath(f.property, f.staff), rootKey, nil).Status)
	d = h.auditDecide(f.lock, f.cleanerPhone.UserDeviceID, h.settle())
	require.Equal(t, "noMembership", d.Reason)
	require.Equal(t, []string{"install", "device", "membership"}, linkNames(d.Path))
	last := d.Path[len(d.Path)-1]
	assert.True(t, last.Missing)
	assert.Equal(t, "UserGroupDeleted", last.EventType)
	assert.NotEmpty(t, last.EventID)
	assert.Equal(t, f.staff, last.UserGroupID)
}

// A deprovisioned lock stays auditable: who could open it before it went,
// and its history, for an account-wide reader; another account gets 404.
func TestAuditOfADeprovisionedLock(t *testing.T) {
	h := newHarness(t)
	f := newAuditFixture(t, h)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/locks/"+f.lock, rootKey, nil).Status)
	h.settle()

	got := h.auditAccess(rootKey, f.lock, f.at["guest"])
	require.Len(t, got.Entries, 1)
	assert.Equal(t, f.guest, got.Entries[0].UserID)
	assert.Equal(t, got.KeyMapHash, got.EntriesHash)
	status, _, body := h.rawGet("/audit/locks/"+f.lock+"/history", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"eventType":"LockDeprovisioned"`)
	assert.Contains(t, body, `"causeEventType":"UserAddedToGroup"`)

	other := h.newAccount()
	status, _, _ = h.rawGet("/audit/locks/"+f.lock+"/history", other)
	assert.Equal(t, http.StatusNotFound, status)
}

// twoAuditTenants makes two properties of the root account, each with an
// installed lock, and a support key scoped to the first; property reads
// a lock's property.
func (h *harness) twoAuditTenants() (here, there auditTenant, auditor string, property func(lockID string) string) {
	h.t.Helper()
	here, there = h.newAuditTenant(rootKey), h.newAuditTenant(rootKey)
	property = func(lockID string) string {
		r := h.do("GET", "/locks/"+lockID, rootKey, nil)
		require.Equal(h.t, http.StatusOK, r.Status, r.Error)
		return r.field("propertyId")
	}
	return here, there, h.newKey(rootKey, scopedPerm("support", property(here.lock))), property
}

// An access code of another property of the account, asked about by an
// auditor scoped to the lock's property, answers exactly as a code that
// was never created: the auditor may not read that property, so neither
// its booking nor its area shows.
func TestAuditCodeOfAnotherPropertyAnswersAsMissing(t *testing.T) {
	h := newHarness(t)
	here, there, auditor, property := h.twoAuditTenants()
	at := h.settle()

	missing := uuid.NewString()
	status, body := h.decisionBody(auditor, here.lock, "accessCodeId", there.code, at)
	randomStatus, randomBody := h.decisionBody(auditor, here.lock, "accessCodeId", missing, at)
	require.Equal(t, randomStatus, status, body)
	assert.Equal(t, strings.ReplaceAll(randomBody, missing, "ID"), strings.ReplaceAll(body, there.code, "ID"))
	assert.NotContains(t, body, "AccessCodeCreated")
	assert.NotContains(t, body, property(there.lock))

	// An account-wide auditor is told where the code belongs.
	status, body = h.decisionBody(rootKey, here.lock, "accessCodeId", there.code, at)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"reason":"codeNotForThisLock"`)
}

// A resident of another property of the account, asked about on a lock of
// this one, is in no group of the lock's property: noMembership, with no
// event of the other property in the path (not the membership there, not
// its group), for an auditor scoped to the lock's property and for an
// account-wide one alike.
func TestAuditDecisionOfAnotherPropertysResident(t *testing.T) {
	h := newHarness(t)
	here, there, auditor, property := h.twoAuditTenants()
	at := h.settle()

	for _, key := range []string{auditor, rootKey} {
		status, body := h.decisionBody(key, here.lock, "userDeviceId", there.device, at)
		require.Equal(t, http.StatusOK, status, body)
		var d auditDecision
		require.NoError(t, json.Unmarshal([]byte(body), &struct{ Data *auditDecision }{&d}))
		assert.Equal(t, "noMembership", d.Reason, body)
		require.Equal(t, []string{"install", "device", "membership"}, linkNames(d.Path), body)
		last := d.Path[2]
		assert.True(t, last.Missing)
		assert.Empty(t, last.EventID, "no event of the other property")
		assert.Empty(t, last.UserGroupID, "nor its group")
		assert.NotContains(t, body, "UserAddedToGroup")
		assert.NotContains(t, body, property(there.lock))
	}
}
