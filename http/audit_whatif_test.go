package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type whatIfEntry struct {
	UserID       string `json:"userId"`
	UserDeviceID string `json:"userDeviceId"`
	Via          struct {
		AreaID      string `json:"areaId"`
		AccessType  string `json:"accessType"`
		UserGroupID string `json:"userGroupId"`
	} `json:"via"`
	Schedule json.RawMessage `json:"schedule"`
}

type whatIfOut struct {
	At       time.Time `json:"at"`
	Commands []struct {
		Index       int    `json:"index"`
		OperationID string `json:"operationId"`
		Status      string `json:"status"`
		HTTPStatus  int    `json:"httpStatus"`
		Error       string `json:"error"`
		Events      []struct {
			Type   string `json:"type"`
			Stream string `json:"stream"`
		} `json:"events"`
	} `json:"commands"`
	Locks []struct {
		LockID string        `json:"lockId"`
		Gained []whatIfEntry `json:"gained"`
		Lost   []whatIfEntry `json:"lost"`
	} `json:"locks"`
	Users []struct {
		UserID      string   `json:"userId"`
		GainedLocks []string `json:"gainedLocks"`
		LostLocks   []string `json:"lostLocks"`
	} `json:"users"`
}

func cmd(method, path string, body any) map[string]any {
	c := map[string]any{"method": method, "path": path}
	if body != nil {
		c["body"] = body
	}
	return c
}

func (h *harness) head() uint64 {
	h.t.Helper()
	head, err := h.store.HeadPosition(context.Background())
	require.NoError(h.t, err)
	return head
}

// whatIf runs a what-if that must answer 200, and checks it appended
// nothing to the log.
func (h *harness) whatIf(key string, cmds ...map[string]any) whatIfOut {
	h.t.Helper()
	h.settle()
	before := h.head()
	r := h.do("POST", "/audit/what-if", key, map[string]any{"commands": cmds})
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	require.Equal(h.t, before, h.head(), "a what-if appends nothing")
	var out whatIfOut
	require.NoError(h.t, json.Unmarshal(r.Data, &out), "%s", r.Data)
	require.Len(h.t, out.Commands, len(cmds))
	return out
}

// whatIfFixture: a building with a flat, the flat's lock; Ana is in the
// flat's group with a phone; Ben has a phone and no membership; Cleo, with
// a phone, is in a staff group granted nowhere yet.
type whatIfFixture struct {
	property, building, flat, lock, flatGroup, staff string
	ana, ben, cleo                                   string
	anaPhone, benPhone, cleoPhone                    string
}

func newWhatIfFixture(t *testing.T, h *harness) whatIfFixture {
	f := whatIfFixture{property: h.lockProperty(rootKey)}
	f.building = h.mkArea(rootKey, f.property, "Building", "")
	f.flat = h.mkArea(rootKey, f.property, "Flat 1A", f.building)
	f.lock = h.provisionLock(rootKey, "Flat 1A door").LockID
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, f.lock), rootKey, nil).Status)
	f.flatGroup = h.viewArea(rootKey, f.property, f.flat).AreaUserGroupID
	f.staff = h.grpGroup(rootKey, f.property, "Cleaners")
	f.ana, f.ben, f.cleo = h.grpUser(rootKey, "Ana"), h.grpUser(rootKey, "Ben"), h.grpUser(rootKey, "Cleo")
	f.anaPhone = h.provisionDevice(rootKey, f.ana, "ana phone").UserDeviceID
	f.benPhone = h.provisionDevice(rootKey, f.ben, "ben phone").UserDeviceID
	f.cleoPhone = h.provisionDevice(rootKey, f.cleo, "cleo phone").UserDeviceID
	h.grpAdd(rootKey, f.property, f.flatGroup, f.ana)
	h.grpAdd(rootKey, f.property, f.staff, f.cleo)
	h.settle()
	return f
}

// Adding Ben gains his phone on the flat's lock, removing Ana loses hers;
// the key map and the audit stay as they were, and the same change made
// for real afterwards works.
func TestAuditWhatIfMembershipGainsAndLosses(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	accessBefore := h.auditAccess(rootKey, f.lock, h.settle())

	out := h.whatIf(rootKey,
		cmd("POST", grpMemberPath(f.property, f.flatGroup, f.ben), nil),
		cmd("DELETE", grpMemberPath(f.property, f.flatGroup, f.ana), nil))
	for i, op := range []string{"addUserToUserGroup", "removeUserFromUserGroup"} {
		c := out.Commands[i]
		assert.Equal(t, i, c.Index)
		assert.Equal(t, op, c.OperationID)
		assert.Equal(t, "applied", c.Status, c.Error)
		require.Len(t, c.Events, 1)
		assert.Equal(t, "group-"+f.flatGroup, c.Events[0].Stream)
	}
	assert.Equal(t, "UserAddedToGroup", out.Commands[0].Events[0].Type)
	assert.Equal(t, "UserRemovedFromGroup", out.Commands[1].Events[0].Type)
	require.Len(t, out.Locks, 1)
	l := out.Locks[0]
	assert.Equal(t, f.lock, l.LockID)
	require.Len(t, l.Gained, 1)
	assert.Equal(t, f.ben, l.Gained[0].UserID)
	assert.Equal(t, f.benPhone, l.Gained[0].UserDeviceID)
	assert.Equal(t, f.flat, l.Gained[0].Via.AreaID)
	assert.Equal(t, "area", l.Gained[0].Via.AccessType)
	require.Len(t, l.Lost, 1)
	assert.Equal(t, f.ana, l.Lost[0].UserID)
	assert.Equal(t, f.anaPhone, l.Lost[0].UserDeviceID)
	require.Len(t, out.Users, 2)
	for _, u := range out.Users {
		switch u.UserID {
		case f.ben:
			assert.Equal(t, []string{f.lock}, u.GainedLocks)
			assert.Empty(t, u.LostLocks)
		case f.ana:
			assert.Equal(t, []string{f.lock}, u.LostLocks)
			assert.Empty(t, u.GainedLocks)
		default:
			t.Errorf("unexpected user %s", u.UserID)
		}
	}

	// Nothing happened: the audit and the key map are as before.
	accessAfter := h.auditAccess(rootKey, f.lock, h.settle())
	assert.Equal(t, accessBefore.KeyMapVersion, accessAfter.KeyMapVersion)
	assert.Equal(t, accessBefore.EntriesHash, accessAfter.EntriesHash)
	require.Len(t, h.keyMap(rootKey, f.lock).KeyMapEntries, 1)

	// The real command still runs against the real log.
	head := h.head()
	h.grpAdd(rootKey, f.property, f.flatGroup, f.ben)
	assert.Greater(t, h.head(), head)
	h.settle()
	require.Len(t, h.keyMap(rootKey, f.lock).KeyMapEntries, 2)
}

// A grant on the building reaches the flat's lock below it.
func TestAuditWhatIfAccessListOnParentAreaReachesSubAreas(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	out := h.whatIf(rootKey, cmd("PUT", areaPath(f.property, f.building), map[string]any{
		"displayName": "Building", "areaType": "common",
		"accessList": []any{map[string]any{"accessType": "group", "userGroupId": f.staff, "schedule": nil}},
	}))
	assert.Equal(t, "updateArea", out.Commands[0].OperationID)
	assert.Equal(t, "applied", out.Commands[0].Status, out.Commands[0].Error)
	require.Len(t, out.Locks, 1)
	require.Len(t, out.Locks[0].Gained, 1)
	g := out.Locks[0].Gained[0]
	assert.Equal(t, f.cleo, g.UserID)
	assert.Equal(t, f.cleoPhone, g.UserDeviceID)
	assert.Equal(t, f.building, g.Via.AreaID)
	assert.Equal(t, "group", g.Via.AccessType)
	assert.Equal(t, f.staff, g.Via.UserGroupID)
	assert.Empty(t, out.Locks[0].Lost)

	// The grant, then the group's deletion: the second sees the first, and
	// Cleo gains nothing after all.
	out = h.whatIf(rootKey, cmd("PUT", areaPath(f.property, f.building), map[string]any{
		"displayName": "Building", "areaType": "common",
		"accessList": []any{map[string]any{"accessType": "group", "userGroupId": f.staff, "schedule": nil}},
	}), cmd("DELETE", grpPath(f.property, f.staff), nil))
	assert.Equal(t, "deleteUserGroup", out.Commands[1].OperationID)
	assert.Equal(t, "applied", out.Commands[1].Status, "%d %s", out.Commands[1].HTTPStatus, out.Commands[1].Error)
	assert.Empty(t, out.Locks)
	assert.Empty(t, out.Users)
}

// Installing a second lock in the flat: everyone who opens the flat gains
// it.
func TestAuditWhatIfInstallGainsEveryone(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	h.grpAdd(rootKey, f.property, f.flatGroup, f.ben)
	second := h.provisionLock(rootKey, "Flat 1A back door").LockID
	out := h.whatIf(rootKey, cmd("PUT", installPath(f.property, f.flat, second), nil))
	assert.Equal(t, "installLock", out.Commands[0].OperationID)
	assert.Equal(t, "applied", out.Commands[0].Status, out.Commands[0].Error)
	require.Len(t, out.Locks, 1)
	assert.Equal(t, second, out.Locks[0].LockID)
	var users []string
	for _, e := range out.Locks[0].Gained {
		users = append(users, e.UserID)
	}
	assert.ElementsMatch(t, []string{f.ana, f.ben}, users)
	assert.Len(t, out.Users, 2)

	// Uninstalling the first (a query string on the path): everyone loses it.
	out = h.whatIf(rootKey, cmd("PUT", "/locks/"+f.lock+"/uninstall?uninstallMode=area", nil))
	assert.Equal(t, "uninstallLock", out.Commands[0].OperationID)
	assert.Equal(t, "applied", out.Commands[0].Status, out.Commands[0].Error)
	require.Len(t, out.Locks, 1)
	assert.Equal(t, f.lock, out.Locks[0].LockID)
	assert.Empty(t, out.Locks[0].Gained)
	users = nil
	for _, e := range out.Locks[0].Lost {
		users = append(users, e.UserID)
	}
	assert.ElementsMatch(t, []string{f.ana, f.ben}, users)
}

// Checking a booking in admits its guest, until the booking's end.
func TestAuditWhatIfBookingCheckInGainsTheGuest(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(-time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(5*time.Hour)), http.StatusCreated)
	out := h.whatIf(rootKey, cmd("POST", "/bookings/"+b.BookingID+"/check-in", map[string]any{"method": "manual"}))
	c := out.Commands[0]
	assert.Equal(t, "checkInBooking", c.OperationID)
	assert.Equal(t, "applied", c.Status, c.Error)
	require.Len(t, out.Locks, 1)
	assert.Equal(t, f.lockID, out.Locks[0].LockID)
	require.Len(t, out.Locks[0].Gained, 1)
	assert.Equal(t, f.guest, out.Locks[0].Gained[0].UserID)
	assert.Contains(t, string(out.Locks[0].Gained[0].Schedule), rfc(start.Add(5 * time.Hour))[:16])
	r := h.do("GET", "/bookings/"+b.BookingID, rootKey, nil)
	assert.Equal(t, "booked", decodeBooking(t, r, http.StatusOK).Status, "the real booking is not checked in")
}

// A refused command is reported with its error and the rest still run;
// later commands see the earlier ones' events.
func TestAuditWhatIfReportsRefusedCommands(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	out := h.whatIf(rootKey,
		cmd("POST", grpMemberPath(f.property, f.flatGroup, f.ben), map[string]any{"validFrom": "soon"}),
		cmd("POST", grpMemberPath(f.property, f.flatGroup, f.ben), nil),
		cmd("DELETE", grpMemberPath(f.property, f.flatGroup, f.ben), nil),
		cmd("DELETE", grpMemberPath(f.property, f.flatGroup, f.ana), nil))
	assert.Equal(t, "failed", out.Commands[0].Status)
	assert.Equal(t, http.StatusBadRequest, out.Commands[0].HTTPStatus)
	assert.Contains(t, out.Commands[0].Error, "validFrom")
	assert.Empty(t, out.Commands[0].Events)
	for _, c := range out.Commands[1:] {
		assert.Equal(t, "applied", c.Status, "command %d: %s", c.Index, c.Error)
	}
	require.Len(t, out.Locks, 1)
	assert.Empty(t, out.Locks[0].Gained, "Ben came and went")
	require.Len(t, out.Locks[0].Lost, 1)
	assert.Equal(t, f.ana, out.Locks[0].Lost[0].UserID)

	// Another account's ids are 404 command by command.
	other := h.newAccount()
	out = h.whatIf(other, cmd("POST", grpMemberPath(f.property, f.flatGroup, f.ben), nil),
		cmd("PUT", installPath(f.property, f.flat, f.lock), nil))
	for _, c := range out.Commands {
		assert.Equal(t, "failed", c.Status)
		assert.Equal(t, http.StatusNotFound, c.HTTPStatus, c.Error)
	}
	assert.Empty(t, out.Locks)
	assert.Empty(t, out.Users)
}

// What is not a what-if command is refused before anything runs.
func TestAuditWhatIfRefusesOtherOperations(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	h.settle()
	before := h.head()
	for _, tc := range []struct {
		cmds []map[string]any
		want string
	}{
		{[]map[string]any{cmd("POST", grpMemberPath(f.property, f.flatGroup, f.ben), nil), cmd("POST", "/locks", map[string]any{"displayName": "x"})}, "commands[1]"},
		{[]map[string]any{cmd("GET", "/locks/"+f.lock, nil)}, "commands[0]"},
		{[]map[string]any{cmd("POST", "properties", nil)}, "commands[0]"},
		{[]map[string]any{cmd("POST", "/properties/"+f.property+"/bookings", map[string]any{
			"areaId": f.flat, "guest": map[string]any{"displayName": "Walk-in"},
			"startDateTime": rfc(time.Now()), "endDateTime": rfc(time.Now().Add(time.Hour))})}, "commands[0].body.guest"},
		{[]map[string]any{}, "commands"},
	} {
		r := h.do("POST", "/audit/what-if", rootKey, map[string]any{"commands": tc.cmds})
		assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
		assert.Contains(t, r.Error, tc.want)
	}
	assert.Equal(t, before, h.head())

	installer := h.newKey(rootKey, perm("install-lock"))
	access := h.newKey(rootKey, perm("manage-access"))
	h.settle()
	before = h.head()
	r := h.do("POST", "/audit/what-if", installer, map[string]any{"commands": []any{cmd("PUT", installPath(f.property, f.flat, f.lock), nil)}})
	assert.Equal(t, http.StatusForbidden, r.Status, r.Error)
	r = h.do("POST", "/audit/what-if", access, map[string]any{"commands": []any{cmd("POST", grpMemberPath(f.property, f.flatGroup, f.ben), nil)}})
	assert.Equal(t, http.StatusForbidden, r.Status, "may run the command, may not read the audit: %s", r.Error)
	assert.Equal(t, before, h.head())
}

// A command names what an earlier one created by {commands[N].id}: a new
// booking checked in admits its guest; a reference to a command that
// created nothing fails that command; one to a later command runs nothing.
func TestAuditWhatIfNamesWhatAnEarlierCommandCreated(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(-time.Hour).Truncate(time.Second)
	book := cmd("POST", "/properties/"+f.property+"/bookings", map[string]any{
		"areaId": f.flat, "guest": map[string]any{"userId": f.guest},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(5 * time.Hour)), "source": "web",
	})
	out := h.whatIf(rootKey, book,
		cmd("POST", "/bookings/{commands[0].id}/check-in", map[string]any{"method": "manual"}))
	require.Equal(t, "applied", out.Commands[0].Status, out.Commands[0].Error)
	assert.Equal(t, "checkInBooking", out.Commands[1].OperationID)
	assert.Equal(t, "applied", out.Commands[1].Status, "%d %s", out.Commands[1].HTTPStatus, out.Commands[1].Error)
	require.Len(t, out.Locks, 1)
	assert.Equal(t, f.lockID, out.Locks[0].LockID)
	require.Len(t, out.Locks[0].Gained, 1)
	assert.Equal(t, f.guest, out.Locks[0].Gained[0].UserID)
	assert.Empty(t, h.bookingIDs("/properties/"+f.property+"/bookings"), "the booking exists only in the what-if")

	// The booking is refused (it ends before it starts): the check-in
	// naming it fails too, and nothing is gained.
	bad := cmd("POST", "/properties/"+f.property+"/bookings", map[string]any{
		"areaId": f.flat, "guest": map[string]any{"userId": f.guest},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(-time.Hour)), "source": "web",
	})
	out = h.whatIf(rootKey, bad,
		cmd("POST", "/bookings/{commands[0].id}/check-in", map[string]any{"method": "manual"}))
	assert.Equal(t, "failed", out.Commands[0].Status)
	assert.Equal(t, "failed", out.Commands[1].Status)
	assert.Equal(t, http.StatusUnprocessableEntity, out.Commands[1].HTTPStatus)
	assert.Contains(t, out.Commands[1].Error, "commands[0]")
	assert.Empty(t, out.Locks)

	before := h.head()
	for _, path := range []string{"/bookings/{commands[1].id}/check-in", "/bookings/{commands[0].id}/check-in"} {
		r := h.do("POST", "/audit/what-if", rootKey, map[string]any{"commands": []any{
			cmd("POST", path, map[string]any{"method": "manual"}), book}})
		assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
		assert.Contains(t, r.Error, "must name an earlier command")
	}
	// A reference written wrong is refused, not taken as literal text.
	for _, path := range []string{"/bookings/{commands[x].id}/check-in", "/bookings/{commands[0].bookingId}/check-in", "/bookings/{commands[0]}/check-in"} {
		r := h.do("POST", "/audit/what-if", rootKey, map[string]any{"commands": []any{
			book, cmd("POST", path, map[string]any{"method": "manual"})}})
		assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
		assert.Contains(t, r.Error, "commands[1]: ")
		assert.Contains(t, r.Error, "is not a reference")
	}
	r := h.do("POST", "/audit/what-if", rootKey, map[string]any{"commands": []any{
		book, cmd("POST", "/bookings/{commands[0].id}/check-in", map[string]any{"method": "{commands[-1].id}"})}})
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.Contains(t, r.Error, "is not a reference")
	// A route no what-if runs is named as sent, the reference in it.
	r = h.do("POST", "/audit/what-if", rootKey, map[string]any{"commands": []any{
		book, cmd("PUT", "/bookings/{commands[0].id}", map[string]any{"areaId": f.flat})}})
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.Contains(t, r.Error, "commands[1]: PUT /bookings/{commands[0].id} is not an operation")
	assert.NotContains(t, r.Error, "00000000-0000-0000-0000-000000000000")
	assert.Equal(t, before, h.head())
}

// A malformed command is a 400 naming the command and its field, and
// nothing runs.
func TestAuditWhatIfNamesTheCommandOfABadField(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	h.settle()
	before := h.head()
	good := cmd("POST", grpMemberPath(f.property, f.flatGroup, f.ben), nil)
	for body, want := range map[string]string{
		`{"commands":[{"path":"/x"}]}`:                                                           "commands[0].method: is required",
		`{"commands":[{"method":"POST"}]}`:                                                       "commands[0].path: is required",
		`{"commands":[{"method":"POST","path":"x"}]}`:                                            "commands[0].path: must start with /",
		`{"commands":[GOOD,{"method":"PUT","path":"/locks/L/uninstall?uninstallMode=owner#x"}]}`: "commands[1].path: must not hold a # (a request carries no fragment)",
		`{"commands":[GOOD,{"method":"POST","path":"/x","bogus":1}]}`:                            "commands[1].bogus: unknown field",
		`{"commands":[GOOD,{"method":"POST","Path":"/x"}]}`:                                      "commands[1].Path: unknown field",
		`{"commands":[GOOD,{"method":5,"path":"/x"}]}`:                                           "commands[1].method: must be a string",
		`{"commands":[GOOD,{"method":"POST","path":"/x","method":"PUT"}]}`:                       "commands[1].method: duplicate field",
		`{"commands":[GOOD,"POST /x"]}`:                                                          "commands[1]: must be an object",
		`{"commands":[GOOD,{"method":"post","path":"/x"}]}`:                                      "commands[1].method: must be in capitals (POST, not post): methods are case-sensitive",
	} {
		raw, err := json.Marshal(good)
		require.NoError(t, err)
		body = strings.Replace(body, "GOOD", string(raw), 1)
		r := h.do("POST", "/audit/what-if", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Equal(t, want, r.Error, body)
	}
	assert.Equal(t, before, h.head())
}

// Cancelling a booking revokes its access code: the lock loses the code's
// entry, and no user loses anything (a code belongs to no user), as the
// real cancellation then shows.
func TestAuditWhatIfRevokedCodeIsNoUsersLoss(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(48*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "482913"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")

	cancel := cmd("POST", "/bookings/"+b.BookingID+"/cancel", map[string]any{"reason": "byUser"})
	out := h.whatIf(rootKey, cancel)
	assert.Equal(t, "applied", out.Commands[0].Status, out.Commands[0].Error)
	require.Len(t, out.Locks, 1)
	assert.Empty(t, out.Locks[0].Gained)
	require.Len(t, out.Locks[0].Lost, 1)
	assert.Empty(t, out.Locks[0].Lost[0].UserID)
	assert.Equal(t, "accessCode", out.Locks[0].Lost[0].Via.AccessType)
	assert.Empty(t, out.Users, "a code is no user's: no user gains or loses a lock")

	before, _, _ := h.auditCodes(f.lockID, h.settle())
	require.Len(t, before, 1)
	assert.Equal(t, codeID, before[0].AccessCodeID)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+b.BookingID+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
	after, kmHash, entriesHash := h.auditCodes(f.lockID, h.settle())
	assert.Empty(t, after, "the real cancellation takes the code out, as the what-if said")
	assert.Equal(t, kmHash, entriesHash)
}

// keyMapEntryKeys identifies a lock's key-map entries as whatIfEntryKey does
// a what-if's: credential, grant and schedule.
func (h *harness) keyMapEntryKeys(lock string) map[string]bool {
	r := h.do("GET", "/locks/"+lock+"/keymap", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var km struct {
		E []map[string]any `json:"keyMapEntries"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &km))
	out := map[string]bool{}
	for _, e := range km.E {
		s, _ := json.Marshal(e["schedule"])
		k := ""
		for _, f := range []string{"userDeviceId", "accessCodeId", "areaId", "userGroupId"} {
			v, _ := e[f].(string)
			k += v + "|"
		}
		out[k+string(s)] = true
	}
	return out
}

func whatIfEntryKey(e whatIfEntry) string {
	var s any
	_ = json.Unmarshal(e.Schedule, &s)
	b, _ := json.Marshal(s)
	return e.UserDeviceID + "||" + e.Via.AreaID + "|" + e.Via.UserGroupID + "|" + string(b)
}

// whatIfAsReal runs the commands as a what-if, then for real, and checks
// that each lock gained and lost exactly what the what-if said.
func (h *harness) whatIfAsReal(name string, locks []string, cmds ...map[string]any) {
	h.settle()
	before := map[string]map[string]bool{}
	for _, l := range locks {
		before[l] = h.keyMapEntryKeys(l)
	}
	out := h.whatIf(rootKey, cmds...)
	for _, c := range out.Commands {
		require.Equal(h.t, "applied", c.Status, "%s: %s", name, c.Error)
	}
	for _, c := range cmds {
		r := h.do(c["method"].(string), c["path"].(string), rootKey, c["body"])
		require.Less(h.t, r.Status, 300, "%s: %s", name, r.Error)
	}
	h.settle()
	for _, l := range locks {
		after := h.keyMapEntryKeys(l)
		var realG, realL, wG, wL []string
		for k := range after {
			if !before[l][k] {
				realG = append(realG, k)
			}
		}
		for k := range before[l] {
			if !after[k] {
				realL = append(realL, k)
			}
		}
		for _, wl := range out.Locks {
			if wl.LockID == l {
				for _, e := range wl.Gained {
					wG = append(wG, whatIfEntryKey(e))
				}
				for _, e := range wl.Lost {
					wL = append(wL, whatIfEntryKey(e))
				}
			}
		}
		sort.Strings(realG)
		sort.Strings(realL)
		sort.Strings(wG)
		sort.Strings(wL)
		assert.Equal(h.t, realG, wG, "%s gained on %s", name, l)
		assert.Equal(h.t, realL, wL, "%s lost on %s", name, l)
	}
}

// Memberships with a window, an `area` entry with a schedule, a changed
// window, a lock moved to another area, a re-parented area, removals and a
// grant followed by the group's deletion: the what-if's gains and losses
// are what the same commands then really do to the key maps.
func TestAuditWhatIfEqualsWhatTheCommandsThenDo(t *testing.T) {
	h := newHarness(t)
	f := newWhatIfFixture(t, h)
	other := h.mkArea(rootKey, f.property, "Other", "")
	l2 := h.provisionLock(rootKey, "l2").LockID
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, other, l2), rootKey, nil).Status)
	otherGroup := h.viewArea(rootKey, f.property, other).AreaUserGroupID
	locks := []string{f.lock, l2}
	until := time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339)
	h.whatIfAsReal("member window", locks, cmd("POST", grpMemberPath(f.property, otherGroup, f.ben), map[string]any{"validUntil": until}))
	h.whatIfAsReal("area entry", locks, cmd("PUT", areaPath(f.property, f.building), map[string]any{
		"displayName": "Building", "areaType": "common",
		"accessList": []any{map[string]any{"accessType": "area", "areaId": other, "schedule": map[string]any{"weekly": []any{map[string]any{"days": []string{"mon"}, "from": "08:00", "to": "10:00"}}}}},
	}))
	h.whatIfAsReal("membership change", locks, cmd("POST", grpMemberPath(f.property, otherGroup, f.ben), map[string]any{"validFrom": until}))
	h.whatIfAsReal("move lock", locks, cmd("PUT", "/locks/"+l2+"/uninstall?uninstallMode=area", nil), cmd("PUT", installPath(f.property, f.flat, l2), nil))
	h.whatIfAsReal("move area", locks, cmd("PUT", areaPath(f.property, f.flat), map[string]any{"displayName": "Flat 1A", "areaType": "resident", "parentAreaId": other}))
	h.whatIfAsReal("remove", locks, cmd("DELETE", grpMemberPath(f.property, otherGroup, f.ben), nil), cmd("DELETE", grpMemberPath(f.property, f.flatGroup, f.ana), nil))
	h.whatIfAsReal("delete group", locks, cmd("PUT", areaPath(f.property, other), map[string]any{"displayName": "Other", "areaType": "resident",
		"accessList": []any{map[string]any{"accessType": "group", "userGroupId": f.staff, "schedule": nil}}}), cmd("DELETE", grpPath(f.property, f.staff), nil))
}
