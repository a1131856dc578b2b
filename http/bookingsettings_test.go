package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
)

type bookingSettingsView struct {
	NoCheckInGraceMinutes     int  `json:"noCheckInGraceMinutes"`
	CheckInOpensMinutesBefore int  `json:"checkInOpensMinutesBefore"`
	GuestRegistrationRequired bool `json:"guestRegistrationRequired"`
}

func (h *harness) propertySettings(propertyID string) bookingSettingsView {
	h.t.Helper()
	r := h.do("GET", "/properties/"+propertyID, rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var p struct {
		BookingSettings bookingSettingsView `json:"bookingSettings"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &p))
	return p.BookingSettings
}

// schedulerTick returns a tick of a booking scheduler over the harness:
// it waits for the read models before and after, and answers how many
// transitions were appended.
func (h *harness) schedulerTick() func() int {
	h.t.Helper()
	sched, err := commands.NewBookingScheduler(h.service, h.bookings, slog.New(slog.DiscardHandler))
	require.NoError(h.t, err)
	return func() int {
		h.t.Helper()
		h.settle()
		n, err := sched.Tick(context.Background())
		require.NoError(h.t, err)
		h.settle()
		return n
	}
}

// A property's booking settings are set with the property, shown, bounded
// and replaced by PUT; a property without them has the defaults.
func TestPropertyBookingSettings(t *testing.T) {
	h := newHarness(t)
	plain := h.lockProperty(rootKey)
	assert.Equal(t, bookingSettingsView{NoCheckInGraceMinutes: 120, CheckInOpensMinutesBefore: 60}, h.propertySettings(plain))

	custom := map[string]any{"noCheckInGraceMinutes": 30, "checkInOpensMinutesBefore": 10, "guestRegistrationRequired": true}
	r := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "Hostal", "bookingSettings": custom})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	id := r.field("propertyId")
	assert.Equal(t, bookingSettingsView{30, 10, true}, h.propertySettings(id))

	for name, bad := range map[string]map[string]any{
		"negative grace":      {"noCheckInGraceMinutes": -1, "checkInOpensMinutesBefore": 10},
		"negative opening":    {"noCheckInGraceMinutes": 10, "checkInOpensMinutesBefore": -5},
		"grace beyond a week": {"noCheckInGraceMinutes": 7*24*60 + 1},
		"unknown field":       {"graceHours": 2},
		"not a number":        {"noCheckInGraceMinutes": "two hours"},
	} {
		r := h.do("PUT", "/properties/"+id, rootKey, map[string]any{"displayName": "Hostal", "bookingSettings": bad})
		assert.Equal(t, http.StatusBadRequest, r.Status, name)
		r = h.do("POST", "/properties", rootKey, map[string]any{"displayName": "Hostal", "bookingSettings": bad})
		assert.Equal(t, http.StatusBadRequest, r.Status, name)
	}
	assert.Equal(t, bookingSettingsView{30, 10, true}, h.propertySettings(id), "refused changes change nothing")

	r = h.do("PUT", "/properties/"+id, rootKey, map[string]any{"displayName": "Hostal",
		"bookingSettings": map[string]any{"noCheckInGraceMinutes": 0, "checkInOpensMinutesBefore": 7 * 24 * 60}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, bookingSettingsView{0, 7 * 24 * 60, false}, h.propertySettings(id))
	require.Equal(t, http.StatusOK, h.do("PUT", "/properties/"+id, rootKey, map[string]any{"displayName": "Hostal"}).Status)
	assert.Equal(t, bookingSettingsView{120, 60, false}, h.propertySettings(id), "a PUT without them restores the defaults")
}

// Check-in opens as early as the property says, waits for a registered
// guest when the property requires one, and the scheduler's noCheckIn
// follows the property's grace period, also when it changes after the
// booking was made.
func TestBookingsFollowPropertySettings(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	put := func(settings map[string]any) {
		t.Helper()
		r := h.do("PUT", "/properties/"+f.property, rootKey, map[string]any{"displayName": "Casa Azul", "bookingSettings": settings})
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	put(map[string]any{"noCheckInGraceMinutes": 30, "checkInOpensMinutesBefore": 10, "guestRegistrationRequired": true})
	start := h.clock.Now().Add(30 * time.Minute).Truncate(time.Second)
	stay := decodeBooking(t, h.book(f, start, start.Add(4*time.Hour)), http.StatusCreated)
	noShow := decodeBooking(t, h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": h.mkArea(rootKey, f.property, "Flat 2B", ""), "guest": map[string]any{"userId": h.grpUser(rootKey, "No-show")},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(4 * time.Hour)),
	}), http.StatusCreated)
	checkIn := func() reply {
		return h.do("POST", "/bookings/"+stay.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"})
	}

	// 30 minutes before start: the default hour would allow it, the
	// property's ten minutes do not.
	r := checkIn()
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Contains(t, r.Error, "not open")
	h.clock.Advance(21 * time.Minute)
	r = checkIn()
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Contains(t, r.Error, "guest must be registered")
	require.Equal(t, http.StatusCreated, h.do("POST", "/bookings/"+stay.BookingID+"/guests", rootKey, map[string]any{"displayName": "Ana"}).Status)
	assert.Equal(t, "checkedIn", decodeBooking(t, checkIn(), http.StatusOK).Status)

	// The grace period grows to an hour after the booking was made.
	put(map[string]any{"noCheckInGraceMinutes": 60, "checkInOpensMinutesBefore": 10})
	tick := h.schedulerTick()
	status := func(id string) string {
		return decodeBooking(t, h.do("GET", "/bookings/"+id, rootKey, nil), http.StatusOK).Status
	}
	h.clock.Advance(40 * time.Minute) // start + 31 min: past the old grace only
	assert.Equal(t, 0, tick())
	assert.Equal(t, "booked", status(noShow.BookingID))
	h.clock.Advance(30 * time.Minute) // start + 61 min
	assert.Equal(t, 1, tick())
	assert.Equal(t, "noCheckIn", status(noShow.BookingID))
	assert.Equal(t, "checkedIn", status(stay.BookingID))
}
