package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A booking whose end has already passed is refused with 422 naming
// endDateTime, and nothing is recorded; a stay that started but has not
// ended (a walk-in) is still booked.
func TestCreateBookingRefusesAWhollyPastStay(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	now := h.clock.Now().Truncate(time.Second)

	r := h.book(f, now.Add(-48*time.Hour), now.Add(-time.Hour))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
	assert.Contains(t, r.Error, "endDateTime")
	h.settle()
	assert.Empty(t, h.bookingIDs("/properties/"+f.property+"/bookings"), "a refused booking is not recorded")
	// Its slot was not held: the same window, moved to the future, books.
	walkIn := decodeBooking(t, h.book(f, now.Add(-time.Hour), now.Add(2*time.Hour)), http.StatusCreated)
	assert.Equal(t, "booked", walkIn.Status)
}

// Check-in after start plus the grace period is refused by the command
// itself (409), before the scheduler has recorded noCheckIn; the
// scheduler's later noCheckIn still goes through, once.
func TestCheckInAfterGraceIsRefusedBeforeTheScheduler(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	tick := h.schedulerTick()
	start := h.clock.Now().Add(30 * time.Minute).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	path := "/bookings/" + b.BookingID

	// Default grace: two hours after start. Past it, with no scheduler tick.
	h.clock.Advance(30*time.Minute + 2*time.Hour + time.Minute)
	r := h.do("POST", path+"/check-in", rootKey, map[string]any{"method": "manual"})
	require.Equal(t, http.StatusConflict, r.Status, r.Error)
	assert.Contains(t, r.Error, "grace")
	h.settle()
	assert.Equal(t, "booked", decodeBooking(t, h.do("GET", path, rootKey, nil), http.StatusOK).Status)
	assert.Empty(t, h.keyMap(rootKey, f.lockID).KeyMapEntries, "no access for a refused check-in")

	assert.Equal(t, 1, tick(), "the scheduler records noCheckIn")
	assert.Equal(t, "noCheckIn", decodeBooking(t, h.do("GET", path, rootKey, nil), http.StatusOK).Status)
	assert.Equal(t, 0, tick(), "and nothing more")
}

// A property's longer grace period keeps check-in open after the default
// two hours.
func TestCheckInFollowsThePropertysGracePeriod(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	r := h.do("PUT", "/properties/"+f.property, rootKey, map[string]any{"displayName": "Lock property",
		"bookingSettings": map[string]any{"noCheckInGraceMinutes": 300, "checkInOpensMinutesBefore": 60}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	start := h.clock.Now().Add(30 * time.Minute).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)

	h.clock.Advance(30*time.Minute + 4*time.Hour)
	got := decodeBooking(t, h.do("POST", "/bookings/"+b.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"}), http.StatusOK)
	assert.Equal(t, "checkedIn", got.Status)
}

// A door opening seen after the grace period does not check the booking
// in: the scheduler's door check-in is refused like any other, and it
// records noCheckIn instead, once, without failing the tick.
func TestDoorOpeningAfterGraceEndsInNoCheckIn(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	door := h.lsProvision(rootKey, "Flat 1A front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, door.ID), rootKey, nil).Status)
	start := h.clock.Now().Add(30 * time.Minute).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "2468"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")
	tick := h.schedulerTick()

	h.clock.Advance(30*time.Minute + 2*time.Hour + 10*time.Minute)
	h.syncAt(door, codeLog(codeID, h.clock.Now().Add(-time.Minute), "granted"))
	assert.Equal(t, 1, tick(), "one transition: noCheckIn")
	got := decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK)
	assert.Equal(t, "noCheckIn", got.Status)
	assert.Equal(t, 0, tick())
}

// A door opened within the grace period checks the guest in even when the
// lock uploads its log, and the scheduler acts on it, after the grace
// period: the check-in is judged at the opening, not at the scheduler's
// pass.
func TestDoorOpeningWithinGraceSeenLateChecksIn(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	door := h.lsProvision(rootKey, "Flat 1A front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, door.ID), rootKey, nil).Status)
	start := h.clock.Now().Add(30 * time.Minute).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "2468"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")
	tick := h.schedulerTick()

	opened := start.Add(time.Hour) // within the grace period
	h.clock.Advance(30*time.Minute + 2*time.Hour + 10*time.Minute)
	h.syncAt(door, codeLog(codeID, opened, "granted"))
	assert.Equal(t, 1, tick(), "one transition: the door check-in")
	got := decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK)
	assert.Equal(t, "checkedIn", got.Status)
	assert.Equal(t, 0, tick())
}

// A door opened within the grace period checks the guest in even when the
// lock uploads its log after the scheduler has recorded noCheckIn: the
// booking is checked in by doorAccess, its code, its slot and the guest's
// membership are back, and a booking overlapping it is refused again.
func TestDoorOpeningWithinGraceUploadedAfterNoCheckInChecksIn(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	h.setMinuteGrace(f.property, false)
	door := h.lsProvision(rootKey, "Flat 1A front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, door.ID), rootKey, nil).Status)
	start := h.clock.Now().Add(-20 * time.Second).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(time.Hour)), http.StatusCreated)
	path := "/bookings/" + b.BookingID
	r := h.do("POST", path+"/access-codes", rootKey, map[string]any{"code": "55443"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")
	tick := h.schedulerTick()
	opened := h.openedAfterCode(b.BookingID)
	require.True(t, opened.After(start) && opened.Before(start.Add(time.Minute)), "within the grace period")

	h.clock.Advance(start.Add(64 * time.Second).Sub(h.clock.Now()))
	assert.Equal(t, 1, tick(), "noCheckIn: the lock has uploaded nothing yet")
	require.Equal(t, "noCheckIn", decodeBooking(t, h.do("GET", path, rootKey, nil), http.StatusOK).Status)
	require.Empty(t, h.codeEntries(f.lockID), "noCheckIn revokes the code")

	h.clock.Advance(start.Add(75 * time.Second).Sub(h.clock.Now()))
	h.syncAt(door, preciseCodeLog(codeID, opened))
	assert.Equal(t, 1, tick(), "the late upload's opening checks the guest in")
	got := decodeBooking(t, h.do("GET", path, rootKey, nil), http.StatusOK)
	assert.Equal(t, "checkedIn", got.Status)
	assert.Equal(t, "doorAccess", got.CheckInMethod)
	var at struct {
		CheckedInAt time.Time  `json:"checkedInAt"`
		EndedAt     *time.Time `json:"endedAt"`
	}
	require.NoError(t, json.Unmarshal(h.do("GET", path, rootKey, nil).Data, &at))
	assert.True(t, at.CheckedInAt.Equal(opened), "checked in as of the opening: %s", at.CheckedInAt)
	assert.Nil(t, at.EndedAt)
	codes := h.codeEntries(f.lockID)
	require.Len(t, codes, 1, "the code works again")
	assert.Equal(t, codeID, codes[0].AccessCodeID)
	assert.Len(t, h.keyMap(rootKey, f.lockID).KeyMapEntries, 2, "the guest's phone joins the code in the key map")
	var list struct {
		AccessCodes []struct {
			State string `json:"state"`
		} `json:"accessCodes"`
	}
	r = h.do("GET", path+"/access-codes", rootKey, nil)
	require.NoError(t, json.Unmarshal(r.Data, &list))
	require.Len(t, list.AccessCodes, 1)
	assert.Equal(t, "active", list.AccessCodes[0].State)
	assert.Equal(t, http.StatusConflict, h.book(f, start.Add(30*time.Minute), start.Add(2*time.Hour)).Status, "the slot is held again")

	h.syncAt(door, preciseCodeLog(codeID, opened.Add(time.Microsecond)))
	assert.Equal(t, 0, tick(), "once")
}

// When another booking took a slot noCheckIn freed before the lock's late
// upload (here the flat, above the booked room), noCheckIn stands while
// it does: the tick does not fail, the code stays revoked and the other
// booking keeps its slot. Once the slot is free again, a later pass checks
// the guest in, with every slot held again, the room's too (taken and
// given back by the first attempt).
func TestDoorOpeningUploadedAfterNoCheckInWaitsForATakenSlot(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	h.setMinuteGrace(f.property, false)
	room := h.mkArea(rootKey, f.property, "Room 1", f.flat)
	door := h.lsProvision(rootKey, "Room 1 door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, room, door.ID), rootKey, nil).Status)
	bookRoom := func(from, until time.Time) reply {
		return h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
			"areaId": room, "guest": map[string]any{"userId": f.guest},
			"startDateTime": rfc(from), "endDateTime": rfc(until), "source": "web"})
	}
	start := h.clock.Now().Add(-20 * time.Second).Truncate(time.Second)
	b := decodeBooking(t, bookRoom(start, start.Add(time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "55443"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")
	tick := h.schedulerTick()
	opened := h.openedAfterCode(b.BookingID)

	h.clock.Advance(start.Add(64 * time.Second).Sub(h.clock.Now()))
	assert.Equal(t, 1, tick(), "noCheckIn")
	other := decodeBooking(t, h.book(f, start.Add(30*time.Minute), start.Add(2*time.Hour)), http.StatusCreated)

	h.clock.Advance(start.Add(75 * time.Second).Sub(h.clock.Now()))
	h.syncAt(door, preciseCodeLog(codeID, opened))
	assert.Equal(t, 0, tick())
	assert.Equal(t, "noCheckIn", decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK).Status)
	assert.Empty(t, h.codeEntries(door.ID), "the code stays revoked")
	assert.Equal(t, 0, tick(), "again")

	// Once the slot is free, the next pass checks the guest in.
	assert.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+other.BookingID+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
	assert.Equal(t, 1, tick())
	assert.Equal(t, "checkedIn", decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK).Status)
	assert.Len(t, h.codeEntries(door.ID), 1)
	assert.Equal(t, http.StatusConflict, bookRoom(start.Add(30*time.Minute), start.Add(2*time.Hour)).Status, "the room's slot is held again")
	assert.Equal(t, http.StatusConflict, h.book(f, start.Add(30*time.Minute), start.Add(2*time.Hour)).Status, "and the flat's")
}

// A late door check-in refused by a slot taken in an ancestor's index
// (the flat, above the booked room) appends nothing, however many ticks
// try it again: no slot held in the room and given back each time.
func TestRefusedLateDoorCheckInAppendsNothing(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	h.setMinuteGrace(f.property, false)
	room := h.mkArea(rootKey, f.property, "Room 1", f.flat)
	door := h.lsProvision(rootKey, "Room 1 door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, room, door.ID), rootKey, nil).Status)
	start := h.clock.Now().Add(-20 * time.Second).Truncate(time.Second)
	b := decodeBooking(t, h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": room, "guest": map[string]any{"userId": f.guest},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour)), "source": "web"}), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{"code": "55443"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")
	tick := h.schedulerTick()
	opened := h.openedAfterCode(b.BookingID)

	h.clock.Advance(start.Add(64 * time.Second).Sub(h.clock.Now()))
	require.Equal(t, 1, tick(), "noCheckIn")
	decodeBooking(t, h.book(f, start.Add(30*time.Minute), start.Add(2*time.Hour)), http.StatusCreated)
	h.clock.Advance(start.Add(75 * time.Second).Sub(h.clock.Now()))
	h.syncAt(door, preciseCodeLog(codeID, opened))
	h.settle()
	streams := []string{"booking-" + b.BookingID, "areabookings-" + room, "areabookings-" + f.flat}
	count := func() []int {
		var n []int
		for _, s := range streams {
			n = append(n, len(h.streamEvents(s)))
		}
		return n
	}
	before := count()
	for range 3 {
		assert.Equal(t, 0, tick())
	}
	assert.Equal(t, before, count(), "events in %v", streams)
	assert.Equal(t, "noCheckIn", decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK).Status)
}

// A late door check-in refused because the guest never registered is
// not tried again each tick: a change of the property's rules is only
// seen at the next try, a while later.
func TestLateDoorCheckInRefusedForGoodWaitsBeforeTryingAgain(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	h.setMinuteGrace(f.property, true)
	door := h.lsProvision(rootKey, "Flat 1A front door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(f.property, f.flat, door.ID), rootKey, nil).Status)
	start := h.clock.Now().Add(-20 * time.Second).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(time.Hour)), http.StatusCreated)
	path := "/bookings/" + b.BookingID
	r := h.do("POST", path+"/access-codes", rootKey, map[string]any{"code": "55443"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	codeID := r.field("accessCodeId")
	tick := h.schedulerTick()
	opened := h.openedAfterCode(b.BookingID)

	h.clock.Advance(start.Add(64 * time.Second).Sub(h.clock.Now()))
	require.Equal(t, 1, tick(), "noCheckIn")
	h.clock.Advance(start.Add(75 * time.Second).Sub(h.clock.Now()))
	h.syncAt(door, preciseCodeLog(codeID, opened))
	assert.Equal(t, 0, tick(), "refused: the guest never registered")

	h.setMinuteGrace(f.property, false)
	assert.Equal(t, 0, tick(), "not tried again at once")
	assert.Equal(t, "noCheckIn", decodeBooking(t, h.do("GET", path, rootKey, nil), http.StatusOK).Status)
	h.clock.Advance(15 * time.Minute)
	assert.Equal(t, 1, tick(), "tried again a while later")
	assert.Equal(t, "checkedIn", decodeBooking(t, h.do("GET", path, rootKey, nil), http.StatusOK).Status)
}

// preciseCodeLog is codeLog's granted opening dated to the nanosecond.
func preciseCodeLog(codeID string, at time.Time) map[string]any {
	e := codeLog(codeID, at, "granted")
	e["accessDate"] = at.UTC().Format(time.RFC3339Nano)
	return e
}

// setMinuteGrace gives the property a grace period and a check-in opening
// of one minute, and whether guests must register first.
func (h *harness) setMinuteGrace(propertyID string, registration bool) {
	h.t.Helper()
	r := h.do("PUT", "/properties/"+propertyID, rootKey, map[string]any{"displayName": "Lock property",
		"bookingSettings": map[string]any{"noCheckInGraceMinutes": 1, "checkInOpensMinutesBefore": 1, "guestRegistrationRequired": registration}})
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
}

// openedAfterCode is an opening just after the booking's access code
// reached the lock's key map: its history is dated by the store's commit
// times, which the test clock does not move, so any later instant would
// find the map without it.
func (h *harness) openedAfterCode(bookingID string) time.Time {
	h.t.Helper()
	var opened time.Time
	for _, rec := range h.streamEvents("booking-" + bookingID) {
		if rec.Type == "AccessCodeCreated" {
			opened = rec.RecordedAt.Add(time.Microsecond)
		}
	}
	return opened
}
