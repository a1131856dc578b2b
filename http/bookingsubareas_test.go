package httpapi_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Booking an area overlaps the bookings of its ancestors and of its
// sub-areas: the whole flat while a room in it is booked is a 409, two
// rooms of the flat are not.
func TestBookingsOverlapAcrossSubAreas(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	room1 := h.mkArea(rootKey, f.property, "Room 1", f.flat)
	room2 := h.mkArea(rootKey, f.property, "Room 2", f.flat)
	bed := h.mkArea(rootKey, f.property, "Bed 1a", room1)
	start := h.clock.Now().Add(time.Hour).Truncate(time.Second)
	end := start.Add(24 * time.Hour)
	book := func(area string, from, until time.Time) reply {
		t.Helper()
		return h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
			"areaId": area, "guest": map[string]any{"userId": f.guest}, "startDateTime": rfc(from), "endDateTime": rfc(until)})
	}

	roomStay := decodeBooking(t, book(room1, start, end), http.StatusCreated)
	assert.Equal(t, http.StatusConflict, book(f.flat, start.Add(time.Hour), end.Add(time.Hour)).Status, "the flat around a booked room")
	assert.Equal(t, http.StatusConflict, book(bed, start, start.Add(time.Hour)).Status, "a bed in a booked room")
	assert.Equal(t, http.StatusCreated, book(room2, start, end).Status, "the other room")
	flatLater := decodeBooking(t, book(f.flat, end, end.Add(24*time.Hour)), http.StatusCreated)
	assert.Equal(t, http.StatusConflict, book(bed, end.Add(time.Hour), end.Add(2*time.Hour)).Status, "a bed while the flat is booked")

	// A change of dates or area meets the same rule, and a refused one
	// leaves every slot as it was.
	r := h.do("PATCH", "/bookings/"+flatLater.BookingID, rootKey, map[string]any{"startDateTime": rfc(end.Add(-time.Hour))})
	assert.Equal(t, http.StatusConflict, r.Status, r.Error)
	r = h.do("PATCH", "/bookings/"+roomStay.BookingID, rootKey, map[string]any{"areaId": bed})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, http.StatusConflict, book(room1, start, start.Add(time.Hour)).Status, "the room around the booked bed")
	assert.Equal(t, http.StatusConflict, book(f.flat, start, start.Add(time.Hour)).Status, "the flat around the booked bed")

	// Ending a booking frees its slots all the way up.
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+roomStay.BookingID+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
	assert.Equal(t, http.StatusCreated, book(room1, start, start.Add(time.Hour)).Status)
}

// Concurrent overlapping bookings of a flat and of a room in it: exactly
// one is recorded (they meet in the flat's index, appended at its
// revision).
func TestConcurrentBookingsOfAreaAndSubArea(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	room := h.mkArea(rootKey, f.property, "Room 1", f.flat)
	start := h.clock.Now().Add(time.Hour)
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			area := f.flat
			if i%2 == 1 {
				area = room
			}
			s := start.Add(time.Duration(i) * time.Minute)
			statuses <- h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
				"areaId": area, "guest": map[string]any{"userId": f.guest}, "startDateTime": rfc(s), "endDateTime": rfc(s.Add(2 * time.Hour))}).Status
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
