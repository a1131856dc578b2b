package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore"
)

// syncAt syncs a lock dated by the harness clock, pushing logs.
func (h *harness) syncAt(l lsLock, logs ...map[string]any) {
	h.t.Helper()
	raw, err := json.Marshal(map[string]any{"syncDate": h.clock.Now().UTC().Format(time.RFC3339), "currentFirmwareVersion": "1.0.0",
		"currentKeyMapVersion": 0, "accessLogs": logs})
	require.NoError(h.t, err)
	r := h.lsSyncRaw(l, raw)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
}

func codeLog(codeID string, at time.Time, result string) map[string]any {
	e := map[string]any{"lockAccessLogId": uuid.NewString(), "accessDate": at.UTC().Format(time.RFC3339), "accessCodeId": codeID, "result": result}
	if result == "denied" {
		e["denyReason"] = "wrong code"
	}
	return e
}

// bookingTicker runs the booking scheduler once on the settled read
// models, then settles them again: the number of bookings it changed.
func (h *harness) bookingTicker() func() int {
	h.t.Helper()
	sched, err := commands.NewBookingScheduler(h.service, h.bookings, slog.New(slog.DiscardHandler))
	require.NoError(h.t, err)
	settle := func() {
		head, err := h.store.HeadPosition(context.Background())
		require.NoError(h.t, err)
		require.NoError(h.t, h.set.WaitFor(context.Background(), head))
	}
	return func() int {
		h.t.Helper()
		settle()
		n, err := sched.Tick(context.Background())
		require.NoError(h.t, err)
		settle()
		return n
	}
}

// A granted opening by the booking's code during the check-in window
// checks the booking in with method doorAccess, once; a denied one, or one
// outside the window, does not.
func TestDoorOpeningChecksTheBookingIn(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	door := h.lsProvision(rootKey, "Flat 1A front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, door.ID), rootKey, nil).Status)
	start := h.clock.Now().Add(3 * time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "2468"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")

	tick := h.bookingTicker()

	// Two hours before start (the window opens one hour before): nothing.
	h.clock.Advance(time.Hour)
	h.syncAt(door, codeLog(codeID, h.clock.Now().Add(-time.Minute), "granted"))
	assert.Equal(t, 0, tick())
	assert.Equal(t, "booked", decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK).Status)

	h.clock.Advance(2*time.Hour + 10*time.Minute)
	h.syncAt(door, codeLog(codeID, h.clock.Now().Add(-time.Minute), "denied"))
	assert.Equal(t, 0, tick(), "a denied attempt checks nobody in")

	h.syncAt(door, codeLog(codeID, h.clock.Now().Add(-time.Minute), "granted"), codeLog(codeID, h.clock.Now(), "granted"))
	assert.Equal(t, 1, tick())
	got := decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK)
	assert.Equal(t, "checkedIn", got.Status)
	assert.Equal(t, "doorAccess", got.CheckInMethod)
	require.Len(t, h.keyMap(rootKey, f.lockID).KeyMapEntries, 2, "the guest's phone joins the code in the key map")

	h.syncAt(door, codeLog(codeID, h.clock.Now(), "granted"))
	assert.Equal(t, 0, tick(), "once")
	checkIns := 0
	for _, rec := range h.streamEvents("booking-" + b.BookingID) {
		if rec.Type == "BookingCheckedIn" {
			checkIns++
		}
	}
	assert.Equal(t, 1, checkIns)
}

// The events the booking scheduler appends (a door check-in, a
// completion, a noCheckIn, and the memberships and slots they change)
// carry a correlation id, as every event does, and a causation id
// without control bytes; the history's CSV holds none either.
func TestSchedulerEventsCarryACorrelationAndAPrintableCausation(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	door := h.lsProvision(rootKey, "Flat 1A front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, door.ID), rootKey, nil).Status)
	start := h.clock.Now().Add(3 * time.Hour).Truncate(time.Second)
	stay := decodeBooking(t, h.book(f, start, start.Add(4*time.Hour)), http.StatusCreated)
	later := start.Add(5 * time.Hour)
	missed := decodeBooking(t, h.book(f, later, later.Add(24*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+stay.BookingID+"/access-codes", rootKey, map[string]any{"code": "2468"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	tick := h.bookingTicker()

	h.clock.Advance(3*time.Hour + 10*time.Minute)
	h.syncAt(door, codeLog(r.field("accessCodeId"), h.clock.Now().Add(-time.Minute), "granted"))
	require.Equal(t, 1, tick(), "the door check-in")
	h.clock.Advance(later.Add(3 * time.Hour).Sub(h.clock.Now()))
	require.Equal(t, 2, tick(), "the stay's completion and the other booking's noCheckIn")
	assert.Equal(t, "noCheckIn", decodeBooking(t, h.do("GET", "/bookings/"+missed.BookingID, rootKey, nil), http.StatusOK).Status)

	seen := map[string]int{}
	recs, err := h.store.ReadAll(context.Background(), 0, 100000, eventstore.Filter{})
	require.NoError(t, err)
	for _, rec := range recs {
		var m eventstore.Metadata
		require.NoError(t, json.Unmarshal(rec.Metadata, &m))
		seen[rec.Type]++
		assert.NotEmpty(t, m.CorrelationID, "%s in %s", rec.Type, rec.Stream)
		assert.False(t, strings.ContainsFunc(m.CausationID, unicode.IsControl), "%s in %s: causation %q", rec.Type, rec.Stream, m.CausationID)
	}
	for _, typ := range []string{"BookingCheckedIn", "BookingCompleted", "BookingNoCheckInRecorded"} {
		assert.Equal(t, 1, seen[typ], typ)
	}

	h.settle()
	status, _, body := h.rawGet("/audit/properties/"+f.property+"/history?format=csv", rootKey)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "BookingCheckedIn")
	assert.NotContains(t, body, "\x1f")
}

// A granted opening by a phone of the booking's guest, through the booked
// area's grant and within the check-in window, checks the booking in; one
// before the window, or of a lock of another area the guest may open,
// does not.
func TestGuestPhoneOpeningChecksTheBookingIn(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey) // the guest's phone in Room 101's group
	gym := h.mkArea(rootKey, s.property, "Gym", "")
	gymDoor := h.lsProvision(rootKey, "Gym door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(s.property, gym, gymDoor.ID), rootKey, nil).Status)
	h.grpAdd(rootKey, s.property, h.viewArea(rootKey, s.property, gym).AreaUserGroupID, s.user)
	start := h.clock.Now().Add(3 * time.Hour).Truncate(time.Second)
	r := h.do("POST", "/properties/"+s.property+"/bookings", rootKey, map[string]any{
		"areaId": s.area, "guest": map[string]any{"userId": s.user},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(24 * time.Hour)), "source": "web"})
	b := decodeBooking(t, r, http.StatusCreated)
	tick := h.bookingTicker()
	status := func() string {
		return decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK).Status
	}

	// Two hours before start (the window opens one hour before): nothing.
	h.clock.Advance(time.Hour)
	h.syncAt(s.lock, lsEntry(s.lock.ID, s.phone, uuid.NewString(), h.clock.Now().Add(-time.Minute), "granted"))
	assert.Equal(t, 0, tick(), "before the window")
	assert.Equal(t, "booked", status())

	h.clock.Advance(2*time.Hour + 10*time.Minute)
	h.syncAt(gymDoor, lsEntry(gymDoor.ID, s.phone, uuid.NewString(), h.clock.Now().Add(-time.Minute), "granted"))
	assert.Equal(t, 0, tick(), "a door of another area")
	assert.Equal(t, "booked", status())

	h.syncAt(s.lock, lsEntry(s.lock.ID, s.phone, uuid.NewString(), h.clock.Now().Add(-time.Minute), "granted"))
	assert.Equal(t, 1, tick())
	got := decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK)
	assert.Equal(t, "checkedIn", got.Status)
	assert.Equal(t, "doorAccess", got.CheckInMethod)
}

// A granted opening by the guest's phone within the grace period, uploaded
// after the scheduler recorded noCheckIn, checks the booking in too.
func TestGuestPhoneOpeningUploadedAfterNoCheckInChecksIn(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey) // the guest's phone in Room 101's group
	h.setMinuteGrace(s.property, false)
	start := h.clock.Now().Add(-20 * time.Second).Truncate(time.Second)
	r := h.do("POST", "/properties/"+s.property+"/bookings", rootKey, map[string]any{
		"areaId": s.area, "guest": map[string]any{"userId": s.user},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour)), "source": "web"})
	b := decodeBooking(t, r, http.StatusCreated)
	tick := h.bookingTicker()

	h.clock.Advance(start.Add(64 * time.Second).Sub(h.clock.Now()))
	assert.Equal(t, 1, tick(), "noCheckIn")
	h.clock.Advance(start.Add(75 * time.Second).Sub(h.clock.Now()))
	h.syncAt(s.lock, lsEntry(s.lock.ID, s.phone, uuid.NewString(), start.Add(30*time.Second), "granted"))
	assert.Equal(t, 1, tick())
	got := decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK)
	assert.Equal(t, "checkedIn", got.Status)
	assert.Equal(t, "doorAccess", got.CheckInMethod)
}
