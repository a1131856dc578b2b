package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
)

// testClock is the harness pipeline's clock: the wall clock moved by an
// offset the test sets.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the wall clock plus the offset.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

type bookingOut struct {
	BookingID     string `json:"bookingId"`
	PropertyID    string `json:"propertyId"`
	AreaID        string `json:"areaId"`
	Status        string `json:"status"`
	Source        string `json:"source"`
	StartDateTime string `json:"startDateTime"`
	EndDateTime   string `json:"endDateTime"`
	CheckInMethod string `json:"checkInMethod"`
	Guest         struct {
		UserID string `json:"userId"`
	} `json:"guest"`
}

func decodeBooking(t testing.TB, r reply, status int) bookingOut {
	t.Helper()
	require.Equal(t, status, r.Status, r.Error)
	var b bookingOut
	require.NoError(t, json.Unmarshal(r.Data, &b))
	return b
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// bookingFixture is a property with a flat, its lock, and a guest with a phone.
type bookingFixture struct {
	property, flat, lockID, guest, flatGroup string
}

func (h *harness) bookingFixture() bookingFixture {
	h.t.Helper()
	f := bookingFixture{property: h.lockProperty(rootKey)}
	f.flat = h.mkArea(rootKey, f.property, "Flat 1A", "")
	l := h.provisionLock(rootKey, "Flat 1A door")
	f.lockID = l.LockID
	require.Equal(h.t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, l.LockID), rootKey, nil).Status)
	f.guest = h.grpUser(rootKey, "Guest")
	h.provisionDevice(rootKey, f.guest, "guest phone")
	f.flatGroup = h.viewArea(rootKey, f.property, f.flat).AreaUserGroupID
	return f
}

func (h *harness) book(f bookingFixture, start, end time.Time) reply {
	h.t.Helper()
	return h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": f.flat, "guest": map[string]any{"userId": f.guest},
		"startDateTime": rfc(start), "endDateTime": rfc(end), "source": "web",
	})
}

func (h *harness) bookingIDs(path string) []string {
	h.t.Helper()
	return h.bookingIDsAs(rootKey, path)
}

func (h *harness) bookingIDsAs(key, path string) []string {
	h.t.Helper()
	r := h.do("GET", path, key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var out struct {
		Bookings []bookingOut `json:"bookings"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &out))
	ids := []string{}
	for _, b := range out.Bookings {
		ids = append(ids, b.BookingID)
	}
	return ids
}

// A stay from booking to check-out: the guest's phone appears in the flat's
// key map at check-in and leaves it at check-out; every refused transition
// is a 409 naming the status.
func TestBookingLifecycleGivesAndEndsAccess(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(3 * time.Hour).Truncate(time.Second)
	end := start.Add(24 * time.Hour)

	b := decodeBooking(t, h.book(f, start, end), http.StatusCreated)
	assert.Equal(t, "booked", b.Status)
	assert.Equal(t, f.guest, b.Guest.UserID)
	assert.Equal(t, "web", b.Source)
	assert.Equal(t, rfc(start), b.StartDateTime)
	path := "/bookings/" + b.BookingID
	assert.Equal(t, b, decodeBooking(t, h.do("GET", path, rootKey, nil), http.StatusOK))

	// The same area at an overlapping time: 409; right after: fine.
	assert.Equal(t, http.StatusConflict, h.book(f, start.Add(time.Hour), end.Add(time.Hour)).Status)
	next := decodeBooking(t, h.book(f, end, end.Add(time.Hour)), http.StatusCreated)

	// Too early to check in (opens one hour before start).
	r := h.do("POST", path+"/check-in", rootKey, map[string]any{"method": "manual"})
	assert.Equal(t, http.StatusConflict, r.Status, r.Error)
	assert.Empty(t, h.keyMap(rootKey, f.lockID).KeyMapEntries)
	r = h.do("GET", "/properties/"+f.property+"/bookings/current", rootKey, nil)
	assert.Equal(t, http.StatusNotFound, r.Status)

	h.clock.Advance(2*time.Hour + time.Minute)
	b = decodeBooking(t, h.do("POST", path+"/check-in", rootKey, map[string]any{"method": "manual"}), http.StatusOK)
	assert.Equal(t, "checkedIn", b.Status)
	assert.Equal(t, "manual", b.CheckInMethod)
	km := h.keyMap(rootKey, f.lockID)
	require.Len(t, km.KeyMapEntries, 1)
	assert.Equal(t, f.guest, km.KeyMapEntries[0].UserID)
	assert.Contains(t, string(km.KeyMapEntries[0].Schedule), rfc(end)[:16], "access ends with the booking")

	h.clock.Advance(time.Hour)
	cur := decodeBooking(t, h.do("GET", "/properties/"+f.property+"/bookings/current", rootKey, nil), http.StatusOK)
	assert.Equal(t, b.BookingID, cur.BookingID)

	for _, c := range []struct{ path, body string }{
		{"/check-in", `{"method":"manual"}`}, {"/cancel", `{"reason":"byUser"}`},
	} {
		r := h.do("POST", path+c.path, rootKey, c.body)
		assert.Equal(t, http.StatusConflict, r.Status, c.path)
		assert.Contains(t, r.Error, "checkedIn", c.path)
	}

	// Filters.
	all := "/properties/" + f.property + "/bookings"
	assert.ElementsMatch(t, []string{b.BookingID, next.BookingID}, h.bookingIDs(all))
	assert.Equal(t, []string{b.BookingID}, h.bookingIDs(all+"?status=checkedIn"))
	assert.Equal(t, []string{next.BookingID}, h.bookingIDs(all+"?status=booked"))
	assert.Equal(t, []string{b.BookingID}, h.bookingIDs(all+"?"+url.Values{"startDateTime[strictly_before]": {rfc(end)}}.Encode()))
	assert.Equal(t, []string{next.BookingID}, h.bookingIDs(all+"?"+url.Values{"startDateTime[after]": {rfc(end)}}.Encode()))
	assert.Equal(t, []string{b.BookingID}, h.bookingIDs(all+"?"+url.Values{"endDateTime[before]": {rfc(end)}}.Encode()))
	assert.Empty(t, h.bookingIDs(all+"?"+url.Values{"endDateTime[strictly_before]": {rfc(end)}}.Encode()))
	assert.ElementsMatch(t, []string{b.BookingID, next.BookingID}, h.bookingIDs("/bookings?areaId="+f.flat))
	// An area filter naming no area of the caller's, or one of another
	// property than the one listed, is a 404, not an empty list.
	otherProperty := h.lockProperty(rootKey)
	otherArea := h.mkArea(rootKey, otherProperty, "Elsewhere", "")
	for _, q := range []string{all + "?areaId=" + uuid.NewString(), all + "?areaId=" + uuid.Nil.String(),
		all + "?areaId=" + otherArea, "/bookings?areaId=" + uuid.NewString()} {
		assert.Equal(t, http.StatusNotFound, h.do("GET", q, rootKey, nil).Status, q)
	}
	assert.Empty(t, h.bookingIDs("/bookings?areaId="+otherArea), "an area of the account without bookings")
	assert.Equal(t, http.StatusBadRequest, h.do("GET", all+"?status=lost", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", all+"?"+url.Values{"startDateTime[around]": {rfc(end)}}.Encode(), rootKey, nil).Status)
	// An unclosed comparison is a filter meant: a 400, never a list unfiltered.
	assert.Equal(t, http.StatusBadRequest, h.do("GET", all+"?"+url.Values{"startDateTime[after": {rfc(end)}}.Encode(), rootKey, nil).Status)

	// Extending the stay moves the access window.
	later := end.Add(24 * time.Hour)
	assert.Equal(t, http.StatusConflict, h.do("PATCH", path, rootKey, map[string]any{"endDateTime": rfc(later)}).Status,
		"the next booking is in the way")
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+next.BookingID+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
	b = decodeBooking(t, h.do("PATCH", path, rootKey, map[string]any{"endDateTime": rfc(later)}), http.StatusOK)
	assert.Equal(t, rfc(later), b.EndDateTime)
	km = h.keyMap(rootKey, f.lockID)
	require.Len(t, km.KeyMapEntries, 1)
	assert.Contains(t, string(km.KeyMapEntries[0].Schedule), rfc(later)[:16])

	b = decodeBooking(t, h.do("POST", path+"/check-out", rootKey, map[string]any{"method": "manual"}), http.StatusOK)
	assert.Equal(t, "checkedOut", b.Status)
	assert.Empty(t, h.keyMap(rootKey, f.lockID).KeyMapEntries, "check-out ends the access")
	r = h.do("POST", path+"/check-out", rootKey, map[string]any{"method": "manual"})
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Contains(t, r.Error, "checkedOut")
	assert.Equal(t, http.StatusConflict, h.do("PATCH", path, rootKey, map[string]any{"endDateTime": rfc(later.Add(time.Hour))}).Status)
}

func TestBookingInputIsChecked(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	for name, body := range map[string]map[string]any{
		"end before start": {"areaId": f.flat, "guest": map[string]any{"userId": f.guest}, "startDateTime": rfc(start), "endDateTime": rfc(start.Add(-time.Hour))},
		"no guest":         {"areaId": f.flat, "startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour))},
		"bad source":       {"areaId": f.flat, "guest": map[string]any{"userId": f.guest}, "startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour)), "source": "fax"},
		"bad date":         {"areaId": f.flat, "guest": map[string]any{"userId": f.guest}, "startDateTime": "tomorrow", "endDateTime": rfc(start.Add(time.Hour))},
	} {
		r := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, name+": "+r.Error)
	}
	r := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": f.flat, "guest": map[string]any{"userId": f.flat}, "startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour))})
	assert.Equal(t, http.StatusNotFound, r.Status, "a guest that is no user")
	other := h.mkArea(rootKey, h.lockProperty(rootKey), "Elsewhere", "")
	r = h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": other, "guest": map[string]any{"userId": f.guest}, "startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour))})
	assert.Equal(t, http.StatusNotFound, r.Status, "an area of another property")

	// A walk-in: a start in the past is allowed, and check-in at once.
	b := decodeBooking(t, h.book(f, start.Add(-2*time.Hour), start.Add(5*time.Hour)), http.StatusCreated)
	assert.Equal(t, http.StatusBadRequest, h.do("POST", "/bookings/"+b.BookingID+"/check-in", rootKey, map[string]any{"method": "teleport"}).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("POST", "/bookings/"+b.BookingID+"/cancel", rootKey, map[string]any{"reason": "bored"}).Status)
	b = decodeBooking(t, h.do("POST", "/bookings/"+b.BookingID+"/check-in", rootKey, map[string]any{"method": "wifi"}), http.StatusOK)
	assert.Equal(t, "checkedIn", b.Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/bookings/"+f.flat, rootKey, nil).Status)

	// Another account sees nothing of it.
	otherKey := h.newAccount()
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/bookings/"+b.BookingID, otherKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("POST", "/bookings/"+b.BookingID+"/check-out", otherKey, map[string]any{"method": "manual"}).Status)
	assert.Empty(t, h.bookingIDsAs(otherKey, "/bookings"))
}

// The scheduler marks a booking nobody checked in noCheckIn after the
// grace period, completes a checked-in one at its end (ending the access),
// and never fires twice.
func TestBookingSchedulerRunsTimeDrivenTransitions(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(30 * time.Minute)
	stay := decodeBooking(t, h.book(f, start, start.Add(4*time.Hour)), http.StatusCreated)
	other := h.grpUser(rootKey, "No-show")
	noShow := decodeBooking(t, h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": h.mkArea(rootKey, f.property, "Flat 2B", ""), "guest": map[string]any{"userId": other},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(4 * time.Hour)),
	}), http.StatusCreated)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+stay.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"}).Status)
	require.Len(t, h.keyMap(rootKey, f.lockID).KeyMapEntries, 1)

	sched, err := commands.NewBookingScheduler(h.service, h.bookings, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	settle := func() {
		t.Helper()
		head, err := h.store.HeadPosition(context.Background())
		require.NoError(t, err)
		require.NoError(t, h.set.WaitFor(context.Background(), head))
	}
	tick := func() int {
		t.Helper()
		settle()
		n, err := sched.Tick(context.Background())
		require.NoError(t, err)
		settle()
		return n
	}
	status := func(id string) string {
		return decodeBooking(t, h.do("GET", "/bookings/"+id, rootKey, nil), http.StatusOK).Status
	}

	assert.Equal(t, 0, tick(), "nothing is due yet")
	h.clock.Advance(2*time.Hour + 29*time.Minute)
	assert.Equal(t, 0, tick(), "a minute before the grace period ends")
	h.clock.Advance(2 * time.Minute)
	assert.Equal(t, 1, tick())
	assert.Equal(t, "noCheckIn", status(noShow.BookingID))
	assert.Equal(t, "checkedIn", status(stay.BookingID))
	assert.Equal(t, 0, tick(), "fires once")

	h.clock.Advance(2 * time.Hour)
	assert.Equal(t, 1, tick())
	assert.Equal(t, "completed", status(stay.BookingID))
	assert.Empty(t, h.keyMap(rootKey, f.lockID).KeyMapEntries, "completion ends the access")
	assert.Equal(t, 0, tick(), "fires once")
	r := h.do("POST", "/bookings/"+stay.BookingID+"/check-out", rootKey, map[string]any{"method": "manual"})
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Contains(t, r.Error, "completed")
}

// Readers see the bookings of the properties they read; writers need
// manage-access there.
func TestBookingPermissions(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	b := decodeBooking(t, h.book(f, start, start.Add(time.Hour)), http.StatusCreated)
	otherProperty := h.lockProperty(rootKey)
	support := h.newKey(rootKey, scopedPerm("support", f.property))
	elsewhere := h.newKey(rootKey, scopedPerm("manage-access", otherProperty))
	manager := h.newKey(rootKey, scopedPerm("manage-access", f.property))

	assert.Equal(t, http.StatusOK, h.do("GET", "/bookings/"+b.BookingID, support, nil).Status)
	assert.Equal(t, []string{b.BookingID}, h.bookingIDsAs(support, "/bookings"))
	assert.Equal(t, http.StatusForbidden, h.do("POST", "/bookings/"+b.BookingID+"/cancel", support, map[string]any{"reason": "byUser"}).Status)
	assert.Equal(t, http.StatusForbidden, h.do("POST", "/properties/"+f.property+"/bookings", support, map[string]any{
		"areaId": f.flat, "guest": map[string]any{"userId": f.guest}, "startDateTime": rfc(start.Add(5 * time.Hour)), "endDateTime": rfc(start.Add(6 * time.Hour))}).Status)

	assert.Equal(t, http.StatusNotFound, h.do("GET", "/bookings/"+b.BookingID, elsewhere, nil).Status)
	assert.Empty(t, h.bookingIDsAs(elsewhere, "/bookings"))
	assert.Equal(t, http.StatusNotFound, h.do("POST", "/bookings/"+b.BookingID+"/cancel", elsewhere, map[string]any{"reason": "byUser"}).Status)
	assert.Equal(t, http.StatusNotFound, h.do("GET", "/properties/"+f.property+"/bookings", elsewhere, nil).Status)

	assert.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+b.BookingID+"/cancel", manager, map[string]any{"reason": "byUser"}).Status)
}

// Concurrent overlapping bookings of one area: exactly one is recorded
// (the per-area index is appended at its revision).
func TestConcurrentOverlappingBookings(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := start.Add(time.Duration(i) * time.Minute)
			statuses <- h.book(f, s, s.Add(2*time.Hour)).Status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: n - 1}, count)
	assert.Len(t, h.bookingIDs("/bookings"), 1)
}

// A startDateTime at the first instant of year 1, 0001-01-01T00:00:00Z
// (or the same instant with an offset), is a date as any other of the
// years 1 to 9999, as 0001-01-01T00:00:01Z is: a walk-in's start in the
// past, not a missing one. Missing is absent, null or empty.
func TestBookingStartAtTheZeroInstant(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	end := h.clock.Now().Add(time.Hour)
	body := func(start any) map[string]any {
		b := map[string]any{"areaId": f.flat, "guest": map[string]any{"userId": f.guest}, "endDateTime": rfc(end), "source": "web"}
		if start != "absent" {
			b["startDateTime"] = start
		}
		return b
	}
	b := decodeBooking(t, h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body("0001-01-01T00:00:00Z")), http.StatusCreated)
	assert.Equal(t, "0001-01-01T00:00:00Z", b.StartDateTime)
	b = decodeBooking(t, h.do("PATCH", "/bookings/"+b.BookingID, rootKey, map[string]any{"startDateTime": "0001-01-01T00:00:01Z"}), http.StatusOK)
	assert.Equal(t, "0001-01-01T00:00:01Z", b.StartDateTime)
	b = decodeBooking(t, h.do("PATCH", "/bookings/"+b.BookingID, rootKey, map[string]any{"startDateTime": "0001-01-01T01:00:00+01:00"}), http.StatusOK)
	assert.Equal(t, "0001-01-01T00:00:00Z", b.StartDateTime)

	for _, start := range []any{"absent", nil, ""} {
		r := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body(start))
		assert.Equal(t, http.StatusBadRequest, r.Status, "%v: %s", start, r.Error)
		assert.Contains(t, r.Error, "startDateTime", start)
	}
}
