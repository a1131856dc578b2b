package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// alEntry is an access-log entry as the tests read it.
type alEntry struct {
	LockAccessLogID        string    `json:"lockAccessLogId"`
	LockID                 string    `json:"lockId"`
	PropertyID             string    `json:"propertyId"`
	AreaID                 string    `json:"areaId"`
	UserGroupID            string    `json:"userGroupId"`
	UserID                 string    `json:"userId"`
	UserDeviceID           string    `json:"userDeviceId"`
	AccessKeyID            string    `json:"accessKeyId"`
	AccessDate             time.Time `json:"accessDate"`
	RecordedAt             time.Time `json:"recordedAt"`
	Result                 string    `json:"result"`
	DenyReason             string    `json:"denyReason"`
	DeviceSignature        string    `json:"deviceSignature"`
	DeviceSignatureFailure bool      `json:"deviceSignatureFailure"`
	StaleCredential        bool      `json:"staleCredential"`
	FutureDate             bool      `json:"futureDate"`
	KeyMapVersion          int       `json:"keyMapVersion"`
}

// alPage reads one page of access logs.
func (h *harness) alPage(key, path string) ([]alEntry, string) {
	h.t.Helper()
	r := h.do("GET", path, key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var page struct {
		AccessLogs []alEntry `json:"accessLogs"`
		PageToken  string    `json:"pageToken"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	require.NotNil(h.t, page.AccessLogs, "accessLogs is an array, even empty")
	return page.AccessLogs, page.PageToken
}

func alIDs(es []alEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.LockAccessLogID)
	}
	return out
}

func TestAccessLogsKeepEveryAttemptWithTheServersChecks(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	assert.Empty(t, h.lsSync(s.lock, 0).AcceptedAccessLogIDs, "nothing sent")

	// The lock's clock runs a little ahead of the grant's recording.
	now := time.Now().Add(10 * time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	granted, forged, future, denied := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	forgedEntry := lsEntry(s.lock.ID, s.phone, forged, now.Add(2*time.Millisecond), "granted")
	forgedEntry["deviceSignature"] = lsEntry(uuid.NewString(), s.phone, forged, now.Add(2*time.Millisecond), "granted")["deviceSignature"] // signed for another lock
	out := h.lsSync(s.lock, 1,
		lsEntry(s.lock.ID, s.phone, granted, now.Add(time.Millisecond), "granted"),
		forgedEntry,
		lsEntry(s.lock.ID, s.phone, denied, now.Add(3*time.Millisecond), "denied"),
		lsEntry(s.lock.ID, s.phone, future, now.Add(time.Hour), "granted"),
	)
	assert.Equal(t, []string{granted, forged, denied, future}, out.AcceptedAccessLogIDs)

	logs, next := h.alPage(rootKey, "/locks/"+s.lock.ID+"/logs")
	assert.Empty(t, next)
	require.Equal(t, []string{future, denied, forged, granted}, alIDs(logs), "newest first by accessDate")
	byID := map[string]alEntry{}
	for _, e := range logs {
		byID[e.LockAccessLogID] = e
	}
	g := byID[granted]
	assert.Equal(t, s.lock.ID, g.LockID)
	assert.Equal(t, s.property, g.PropertyID)
	assert.Equal(t, s.area, g.AreaID)
	assert.Equal(t, s.group, g.UserGroupID)
	assert.Equal(t, s.user, g.UserID)
	assert.Equal(t, s.phone.UserDeviceID, g.UserDeviceID)
	assert.Equal(t, s.phone.AccessKeyID, g.AccessKeyID)
	assert.Equal(t, "granted", g.Result)
	assert.Equal(t, 1, g.KeyMapVersion)
	assert.NotEmpty(t, g.DeviceSignature)
	assert.False(t, g.DeviceSignatureFailure || g.StaleCredential || g.FutureDate, "%+v", g)
	assert.WithinDuration(t, now.Add(time.Millisecond), g.AccessDate, time.Millisecond, "when it happened, by the lock")
	assert.WithinDuration(t, time.Now(), g.RecordedAt, 10*time.Second, "when the server learned it")
	assert.True(t, g.RecordedAt.After(g.AccessDate))

	assert.True(t, byID[forged].DeviceSignatureFailure, "a signature over another lock id")
	assert.False(t, byID[forged].StaleCredential)
	assert.True(t, byID[future].FutureDate)
	assert.False(t, byID[future].DeviceSignatureFailure)
	assert.Equal(t, "denied", byID[denied].Result)
	assert.Equal(t, "outside schedule", byID[denied].DenyReason)

	// The lock did not get the answer and sends the first entry again,
	// with a new one: both accepted, the first stored once.
	again := uuid.NewString()
	out = h.lsSync(s.lock, 1,
		lsEntry(s.lock.ID, s.phone, granted, now.Add(time.Millisecond), "granted"),
		lsEntry(s.lock.ID, s.phone, again, now.Add(4*time.Millisecond), "granted"),
		lsEntry(s.lock.ID, s.phone, again, now.Add(4*time.Millisecond), "granted"),
	)
	assert.Equal(t, []string{granted, again}, out.AcceptedAccessLogIDs)
	logs, _ = h.alPage(rootKey, "/locks/"+s.lock.ID+"/logs")
	assert.Equal(t, []string{future, again, denied, forged, granted}, alIDs(logs))
	assert.Len(t, h.streamEvents("accesslog-"+s.lock.ID), 5, "each entry is one event in the lock's access log")

	// The same entries by user and by property.
	users, _ := h.alPage(rootKey, "/users/"+s.user+"/logs")
	assert.Equal(t, alIDs(logs), alIDs(users))
	props, _ := h.alPage(rootKey, "/properties/"+s.property+"/logs")
	assert.Equal(t, alIDs(logs), alIDs(props))
	assert.Equal(t, logs, props)
}

// The tamper-evidence chain of a lock's access log holds across syncs and
// entries sent again.
func TestAccessLogStreamIsChained(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	first := uuid.NewString()
	h.lsSync(s.lock, 1, lsEntry(s.lock.ID, s.phone, first, time.Now(), "granted"))
	h.lsSync(s.lock, 1, lsEntry(s.lock.ID, s.phone, first, time.Now(), "granted"), lsEntry(s.lock.ID, s.phone, uuid.NewString(), time.Now(), "denied"))
	recs := h.streamEvents("accesslog-" + s.lock.ID)
	require.Len(t, recs, 2)
	prev := ""
	for _, rec := range recs {
		var meta eventstore.Metadata
		require.NoError(t, json.Unmarshal(rec.Metadata, &meta))
		assert.Equal(t, eventstore.ChainHash(prev, rec.ID, rec.Type, rec.Stream, rec.Revision, rec.Data, meta), meta.Hash, "revision %d", rec.Revision)
		prev = meta.Hash
	}
}

func TestAccessLogsFlagStaleCredentials(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	h.lsSync(s.lock, 0) // the lock gets version 1 and keeps it

	beforeRevocation := time.Now().Add(-time.Millisecond)
	require.Equal(t, http.StatusOK, h.do("DELETE", grpMemberPath(s.property, s.group, s.user), rootKey, nil).Status)
	require.Equal(t, 2, h.keyMap(rootKey, s.lock.ID).KeyMapVersion)
	time.Sleep(5 * time.Millisecond)
	afterRevocation := time.Now()

	// Before the lock syncs again, the guest still opens it.
	before, after := uuid.NewString(), uuid.NewString()
	out := h.lsSync(s.lock, 1,
		lsEntry(s.lock.ID, s.phone, before, beforeRevocation, "granted"),
		lsEntry(s.lock.ID, s.phone, after, afterRevocation, "granted"),
	)
	assert.Equal(t, []string{before, after}, out.AcceptedAccessLogIDs)
	assert.NotNil(t, out.EncryptedKeyMapEntries, "the lock gets version 2 now")

	logs, _ := h.alPage(rootKey, "/locks/"+s.lock.ID+"/logs")
	require.Len(t, logs, 2)
	assert.Equal(t, after, logs[0].LockAccessLogID)
	assert.True(t, logs[0].StaleCredential, "opened after the revocation")
	assert.Equal(t, 2, logs[0].KeyMapVersion)
	assert.False(t, logs[0].DeviceSignatureFailure, "the device is still known")
	assert.Equal(t, s.user, logs[0].UserID)
	assert.Equal(t, s.area, logs[0].AreaID, "the lock's area")
	assert.Empty(t, logs[0].UserGroupID, "no grant admitted it")
	assert.Equal(t, before, logs[1].LockAccessLogID)
	assert.False(t, logs[1].StaleCredential, "opened while the grant stood")
	assert.Equal(t, 1, logs[1].KeyMapVersion)
	assert.Equal(t, s.group, logs[1].UserGroupID)

	// A removed device is still checked by the key it had.
	require.Equal(t, http.StatusOK, h.do("DELETE", "/users/"+s.user+"/devices/"+s.phone.UserDeviceID, rootKey, nil).Status)
	gone := uuid.NewString()
	h.lsSync(s.lock, 2, lsEntry(s.lock.ID, s.phone, gone, time.Now(), "granted"))
	logs, _ = h.alPage(rootKey, "/locks/"+s.lock.ID+"/logs")
	require.Equal(t, gone, logs[0].LockAccessLogID)
	assert.True(t, logs[0].StaleCredential)
	assert.False(t, logs[0].DeviceSignatureFailure)
	assert.Equal(t, s.phone.UserDeviceID, logs[0].UserDeviceID)

	// An access key nobody registered: flagged both ways.
	stranger := lsDevice{deviceOut: deviceOut{AccessKeyID: uuid.NewString(), UserDeviceID: uuid.NewString()}, sign: s.phone.sign}
	unknown := uuid.NewString()
	h.lsSync(s.lock, 2, lsEntry(s.lock.ID, stranger, unknown, time.Now(), "granted"))
	logs, _ = h.alPage(rootKey, "/locks/"+s.lock.ID+"/logs")
	require.Equal(t, unknown, logs[0].LockAccessLogID)
	assert.True(t, logs[0].StaleCredential)
	assert.True(t, logs[0].DeviceSignatureFailure)
	assert.Empty(t, logs[0].UserID)
}

func TestAccessLogsPageStablyWhileLogsArrive(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var ids []string
	var entries []map[string]any
	for i := range 7 {
		id := uuid.NewString()
		ids = append([]string{id}, ids...) // newest first
		entries = append(entries, lsEntry(s.lock.ID, s.phone, id, base.Add(time.Duration(i)*time.Minute), "granted"))
	}
	// Two entries at the same instant are ordered by their ids.
	twinA, twinB := "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
	entries = append(entries, lsEntry(s.lock.ID, s.phone, twinA, base.Add(-time.Minute), "granted"),
		lsEntry(s.lock.ID, s.phone, twinB, base.Add(-time.Minute), "granted"))
	ids = append(ids, twinB, twinA)
	h.lsSync(s.lock, 1, entries...)

	for i, path := range []string{"/locks/" + s.lock.ID + "/logs", "/users/" + s.user + "/logs", "/properties/" + s.property + "/logs"} {
		page, token := h.alPage(rootKey, path+"?pageSize=4")
		assert.Equal(t, ids[:4], alIDs(page), path)
		require.NotEmpty(t, token)

		// Logs arrive between pages: a newer one and an older one. The
		// next pages resume where the first ended: the newer one is not
		// seen, nothing twice, the older one at the end.
		newer, older := uuid.NewString(), uuid.NewString()
		h.lsSync(s.lock, 1, lsEntry(s.lock.ID, s.phone, newer, time.Now(), "granted"),
			lsEntry(s.lock.ID, s.phone, older, base.Add(-time.Duration(60+i)*time.Minute), "granted"))
		got := alIDs(page)
		for pages := 1; token != ""; pages++ {
			require.Less(t, pages, 10)
			page, token = h.alPage(rootKey, path+"?pageSize=4&pageToken="+token)
			assert.LessOrEqual(t, len(page), 4)
			got = append(got, alIDs(page)...)
		}
		assert.Equal(t, slices.Concat(ids, []string{older}), got, path)
		ids = slices.Concat([]string{newer}, ids, []string{older})
	}

	for _, bad := range []string{"?pageToken=garbage", "?pageToken=" + base64.RawURLEncoding.EncodeToString([]byte("l1|x|y|z")), "?pageSize=0", "?pageSize=501",
		"?pageToken=" + base64.RawURLEncoding.EncodeToString([]byte("p1.12"))} {
		r := h.do("GET", "/locks/"+s.lock.ID+"/logs"+bad, rootKey, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, bad)
	}
}

func TestAccessLogsPermissionsAndTenancy(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	h.lsSync(s.lock, 1, lsEntry(s.lock.ID, s.phone, uuid.NewString(), time.Now(), "granted"))
	otherProperty := h.lockProperty(rootKey)
	paths := map[string]string{
		"lock": "/locks/" + s.lock.ID + "/logs", "user": "/users/" + s.user + "/logs", "property": "/properties/" + s.property + "/logs",
	}
	me := h.meKey(s.user)
	otherMe := h.meKey(h.grpUser(rootKey, "Someone else"))
	cases := []struct {
		name   string
		key    string
		status map[string]int
	}{
		{"owner", rootKey, map[string]int{"lock": 200, "user": 200, "property": 200}},
		{"support", h.newKey(rootKey, perm("support")), map[string]int{"lock": 200, "user": 200, "property": 200}},
		{"manage-access", h.newKey(rootKey, perm("manage-access")), map[string]int{"lock": 200, "user": 200, "property": 200}},
		{"support of the property", h.newKey(rootKey, scopedPerm("support", s.property)), map[string]int{"lock": 200, "user": 200, "property": 200}},
		{"support of another property", h.newKey(rootKey, scopedPerm("support", otherProperty)), map[string]int{"lock": 404, "user": 200, "property": 404}},
		{"install-lock", h.newKey(rootKey, perm("install-lock")), map[string]int{"lock": 403, "user": 403, "property": 403}},
		{"the user", me, map[string]int{"lock": 403, "user": 200, "property": 403}},
		{"another user", otherMe, map[string]int{"lock": 403, "user": 403, "property": 403}},
		{"another account", h.newAccount(), map[string]int{"lock": 404, "user": 404, "property": 404}},
		{"the lock itself", s.lock.APIKey, map[string]int{"lock": 403, "user": 403, "property": 403}},
		{"no key", "", map[string]int{"lock": 401, "user": 401, "property": 401}},
	}
	for _, c := range cases {
		for list, path := range paths {
			r := h.do("GET", path, c.key, nil)
			assert.Equal(t, c.status[list], r.Status, "%s reading the %s logs: %s", c.name, list, r.Error)
		}
	}
	// A reader scoped to another property sees none of the user's logs.
	logs, _ := h.alPage(h.newKey(rootKey, scopedPerm("support", otherProperty)), paths["user"])
	assert.Empty(t, logs)
	logs, _ = h.alPage(me, paths["user"])
	assert.Len(t, logs, 1)

	for _, bad := range []string{"/locks/nope/logs", "/users/nope/logs", "/properties/nope/logs"} {
		assert.Equal(t, http.StatusBadRequest, h.do("GET", bad, rootKey, nil).Status, bad)
	}
	for _, missing := range []string{"/locks/", "/users/", "/properties/"} {
		assert.Equal(t, http.StatusNotFound, h.do("GET", missing+uuid.NewString()+"/logs", rootKey, nil).Status, missing)
	}
}

// A revoked access code that still opened the door because the lock had
// not synced is the same revocation exposure as a revoked device key:
// the granted entry is flagged staleCredential; one logged while the code
// was in the key map is not.
func TestAccessLogsFlagStaleAccessCodes(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	f := bookingFixture{property: s.property, flat: s.area, lockID: s.lock.ID, guest: s.user, flatGroup: s.group}
	start := h.clock.Now().Add(time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(48*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "482913"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	code := r.field("accessCodeId")
	require.Len(t, h.codeEntries(s.lock.ID), 1)
	held := h.keyMap(rootKey, s.lock.ID).KeyMapVersion
	h.lsSync(s.lock, held)

	beforeRevocation := time.Now().Add(-time.Millisecond)
	require.Equal(t, http.StatusOK, h.do("DELETE", "/access-codes/"+code, rootKey, nil).Status)
	require.Empty(t, h.codeEntries(s.lock.ID))
	time.Sleep(5 * time.Millisecond)
	afterRevocation := time.Now()

	entry := func(id string, at time.Time) map[string]any {
		return map[string]any{"lockAccessLogId": id, "accessDate": at.UTC().Format(time.RFC3339Nano), "accessCodeId": code, "result": "granted"}
	}
	before, after := uuid.NewString(), uuid.NewString()
	h.lsSync(s.lock, held, entry(before, beforeRevocation), entry(after, afterRevocation))
	logs, _ := h.alPage(rootKey, "/locks/"+s.lock.ID+"/logs")
	require.Equal(t, []string{after, before}, alIDs(logs))
	assert.True(t, logs[0].StaleCredential, "opened with the code after its revocation")
	assert.Equal(t, held+1, logs[0].KeyMapVersion)
	assert.False(t, logs[1].StaleCredential, "opened while the code stood")
	assert.Equal(t, held, logs[1].KeyMapVersion)
	assert.False(t, logs[0].DeviceSignatureFailure, "a code carries no device signature")
}

// A lock's entries keep the property it was in when each was recorded.
// After the lock moves, a reader scoped to its new property reads its
// logs (the lock is in its property now) but not the entries of the
// former one: it may not read that property, nor that user's logs there.
// The filter is in the query: pages are full and their tokens skip
// nothing, whatever the order of the two properties' entries.
func TestLockAccessLogsOfAMovedLockStayWithTheirProperty(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey) // the lock in P1
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	// Entries of the two properties interleave by access date.
	var inP1, inP3 []string
	var p1Entries, p3Entries []map[string]any
	for i := range 3 {
		id := uuid.NewString()
		inP1 = append([]string{id}, inP1...)
		p1Entries = append(p1Entries, lsEntry(s.lock.ID, s.phone, id, base.Add(time.Duration(2*i)*time.Minute), "granted"))
	}
	h.lsSync(s.lock, 1, p1Entries...)

	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+s.lock.ID+"/uninstall?uninstallMode=property", rootKey, nil).Status)
	p3 := h.lockProperty(rootKey)
	area := h.mkArea(rootKey, p3, "Lobby", "")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(p3, area, s.lock.ID), rootKey, nil).Status)
	for i := range 3 {
		id := uuid.NewString()
		inP3 = append([]string{id}, inP3...)
		p3Entries = append(p3Entries, lsEntry(s.lock.ID, s.phone, id, base.Add(time.Duration(2*i+1)*time.Minute), "denied"))
	}
	h.lsSync(s.lock, 1, p3Entries...)
	h.settle()

	path := "/locks/" + s.lock.ID + "/logs"
	all, _ := h.alPage(rootKey, path)
	require.Len(t, all, 6, "an account-wide reader reads every entry")
	assert.Equal(t, s.property, all[len(all)-1].PropertyID)
	assert.Equal(t, s.user, all[len(all)-1].UserID)

	for i, key := range []string{
		h.newKey(rootKey, scopedPerm("support", p3)),
		h.newKey(rootKey, scopedPerm("manage-access", p3)),
		// A grant in P1 that does not read logs adds nothing.
		h.newKey(rootKey, scopedPerm("support", p3), scopedPerm("install-lock", s.property)),
	} {
		if i < 2 {
			assert.Equal(t, http.StatusNotFound, h.do("GET", "/properties/"+s.property, key, nil).Status)
		}
		var got []string
		page, token := h.alPage(key, path+"?pageSize=2")
		assert.Len(t, page, 2, "a full first page")
		for pages := 1; ; pages++ {
			require.Less(t, pages, 10)
			for _, e := range page {
				assert.Equal(t, p3, e.PropertyID, "no entry of the former property")
				assert.NotEqual(t, s.property, e.PropertyID)
			}
			got = append(got, alIDs(page)...)
			if token == "" {
				break
			}
			page, token = h.alPage(key, path+"?pageSize=2&pageToken="+token)
		}
		assert.Equal(t, inP3, got, "every entry of P3, in order, nothing of P1")
		logs, _ := h.alPage(key, "/users/"+s.user+"/logs")
		assert.ElementsMatch(t, inP3, alIDs(logs), "the user's logs agree")
	}

	// A reader of both properties reads both.
	both, _ := h.alPage(h.newKey(rootKey, scopedPerm("support", p3), scopedPerm("support", s.property)), path)
	assert.Len(t, both, 6)
	// P1's reader does not read the lock: it is not in P1 now.
	assert.Equal(t, http.StatusNotFound, h.do("GET", path, h.newKey(rootKey, scopedPerm("support", s.property)), nil).Status)
}
