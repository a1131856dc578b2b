package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// twoBookings is a property with two flats, each with its own lock, and
// a booking of each.
type twoBookings struct {
	f            bookingFixture
	lock2        string
	first, other string
}

func (h *harness) twoBookings() twoBookings {
	h.t.Helper()
	f := h.bookingFixture()
	flat2 := h.mkArea(rootKey, f.property, "Flat 2B", "")
	l2 := h.provisionLock(rootKey, "Flat 2B door")
	require.Equal(h.t, http.StatusOK, h.do("PUT", installPath(f.property, flat2, l2.LockID), rootKey, nil).Status)
	start := h.clock.Now().Add(30 * time.Minute).Truncate(time.Second)
	end := start.Add(48 * time.Hour)
	first := decodeBooking(h.t, h.book(f, start, end), http.StatusCreated)
	other := decodeBooking(h.t, h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": flat2, "guest": map[string]any{"userId": f.guest},
		"startDateTime": rfc(start), "endDateTime": rfc(end),
	}), http.StatusCreated)
	return twoBookings{f: f, lock2: l2.LockID, first: first.BookingID, other: other.BookingID}
}

func codeIDs(entries []codeEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.AccessCodeID)
	}
	return out
}

// An Idempotency-Key reused for an access code of another booking is
// another request: it never gets the first code's id, and what is done
// to the second booking (its cancellation) leaves the first booking's
// code on its lock. A true retry still answers the first code and
// records nothing.
func TestIdempotencyKeyReusedForAnotherBookingsAccessCode(t *testing.T) {
	h := newHarness(t)
	b := h.twoBookings()
	first := h.doKeyed("POST", "/bookings/"+b.first+"/access-codes", rootKey, "repro-2", map[string]any{"code": "246810"})
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	x := first.field("accessCodeId")
	before := len(h.streamEvents("booking-" + b.first))

	retry := h.doKeyed("POST", "/bookings/"+b.first+"/access-codes", rootKey, "repro-2", map[string]any{"code": "246810"})
	require.Equal(t, http.StatusCreated, retry.Status, retry.Error)
	assert.Equal(t, x, retry.field("accessCodeId"), "a true retry answers the first code")
	assert.Equal(t, "246810", retry.field("code"))
	assert.Len(t, h.streamEvents("booking-"+b.first), before, "a retry records nothing")

	// The same key and body on another booking's path.
	other := h.doKeyed("POST", "/bookings/"+b.other+"/access-codes", rootKey, "repro-2", map[string]any{"code": "246810"})
	switch other.Status {
	case http.StatusUnprocessableEntity:
		assert.Contains(t, other.Error, "Idempotency-Key")
	case http.StatusCreated:
		y := other.field("accessCodeId")
		assert.NotEqual(t, x, y, "another request never gets the first request's id")
		assert.Equal(t, b.other, other.field("bookingId"))
		assert.Contains(t, codeIDs(h.codeEntries(b.lock2)), y, "the new code is on its own booking's lock")
		list := h.do("GET", "/bookings/"+b.other+"/access-codes", rootKey, nil)
		require.Equal(t, http.StatusOK, list.Status, list.Error)
		assert.Contains(t, string(list.Data), y)
		assert.NotContains(t, string(list.Data), x)
	default:
		t.Fatalf("the key reused on another booking answered %d: %s", other.Status, other.Error)
	}
	assert.Len(t, h.streamEvents("booking-"+b.first), before, "the first booking is untouched")

	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+b.other+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
	assert.Equal(t, []string{x}, codeIDs(h.codeEntries(b.f.lockID)), "cancelling the other booking leaves the first's code")
	assert.Empty(t, h.codeEntries(b.lock2))
	assert.Equal(t, "active", h.codeState(b.first, x))

	// A generated code retried answers the same code too.
	gen := h.doKeyed("POST", "/bookings/"+b.first+"/access-codes", rootKey, "repro-gen", map[string]any{})
	require.Equal(t, http.StatusCreated, gen.Status, gen.Error)
	again := h.doKeyed("POST", "/bookings/"+b.first+"/access-codes", rootKey, "repro-gen", map[string]any{})
	require.Equal(t, http.StatusCreated, again.Status, again.Error)
	assert.Equal(t, gen.field("accessCodeId"), again.field("accessCodeId"))
	assert.Equal(t, gen.field("code"), again.field("code"))
}

// codeState is the state the booking's code list shows for a code.
func (h *harness) codeState(bookingID, codeID string) string {
	h.t.Helper()
	r := h.do("GET", "/bookings/"+bookingID+"/access-codes", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var list struct {
		AccessCodes []struct {
			AccessCodeID string `json:"accessCodeId"`
			State        string `json:"state"`
		} `json:"accessCodes"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &list))
	for _, c := range list.AccessCodes {
		if c.AccessCodeID == codeID {
			return c.State
		}
	}
	return ""
}

// guestIDOf reads the guest id a guest registration answered.
func guestIDOf(t *testing.T, r reply) string {
	t.Helper()
	var out struct {
		Guest struct {
			GuestID string `json:"guestId"`
		} `json:"guest"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &out))
	return out.Guest.GuestID
}

// A key reused to register a guest of another booking, or to book with a
// guest by name, is another request: the second guest gets an id of its
// own, is on its own booking, and erasing it leaves the first guest.
func TestIdempotencyKeyReusedForAnotherBookingsGuest(t *testing.T) {
	h := newHarness(t)
	b := h.twoBookings()
	first := h.doKeyed("POST", "/bookings/"+b.first+"/guests", rootKey, "guest-repro-2", map[string]any{"displayName": "Hana", "email": "hana@example.com"})
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	hana := guestIDOf(t, first)
	before := len(h.streamEvents("booking-" + b.first))

	retry := h.doKeyed("POST", "/bookings/"+b.first+"/guests", rootKey, "guest-repro-2", map[string]any{"email": "hana@example.com", "displayName": "Hana"})
	require.Equal(t, http.StatusCreated, retry.Status, retry.Error)
	assert.Equal(t, hana, guestIDOf(t, retry), "a true retry answers the first guest")
	assert.Len(t, h.streamEvents("booking-"+b.first), before, "a retry records nothing")

	other := h.doKeyed("POST", "/bookings/"+b.other+"/guests", rootKey, "guest-repro-2", map[string]any{"displayName": "Ivan"})
	switch other.Status {
	case http.StatusUnprocessableEntity:
	case http.StatusCreated:
		ivan := guestIDOf(t, other)
		assert.NotEqual(t, hana, ivan, "another request never gets the first request's id")
		snap := h.checkInSnapshot(b.other)
		require.Len(t, snap.Guests, 1)
		assert.Equal(t, "Ivan", snap.Guests[0].DisplayName)
		assert.Equal(t, ivan, snap.Guests[0].GuestID)
		r := h.do("DELETE", "/bookings/"+b.other+"/guests/"+ivan, rootKey, nil)
		assert.Less(t, r.Status, 300, r.Error)
	default:
		t.Fatalf("the key reused on another booking answered %d: %s", other.Status, other.Error)
	}
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/bookings/"+b.other+"/guests/"+hana, rootKey, nil).Status,
		"the first booking's guest is not the other booking's")
	snap := h.checkInSnapshot(b.first)
	require.Len(t, snap.Guests, 1)
	assert.Equal(t, hana, snap.Guests[0].GuestID)
	assert.Equal(t, "Hana", snap.Guests[0].DisplayName, "the first guest is not erased")

	// A booking with a guest by name under the same key.
	start := h.clock.Now().Add(72 * time.Hour).Truncate(time.Second)
	booked := h.doKeyed("POST", "/properties/"+b.f.property+"/bookings", rootKey, "guest-repro-2", map[string]any{
		"areaId": b.f.flat, "guest": map[string]any{"displayName": "Jon"},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(24 * time.Hour)),
	})
	require.Equal(t, http.StatusCreated, booked.Status, booked.Error)
	bs := h.checkInSnapshot(booked.field("bookingId"))
	require.Len(t, bs.Guests, 1)
	assert.NotEqual(t, hana, bs.Guests[0].GuestID)
	assert.Equal(t, "Jon", bs.Guests[0].DisplayName)
	r := h.do("DELETE", "/bookings/"+booked.field("bookingId")+"/guests/"+bs.Guests[0].GuestID, rootKey, nil)
	assert.Less(t, r.Status, 300, r.Error)
	assert.Equal(t, "Hana", h.checkInSnapshot(b.first).Guests[0].DisplayName, "the first guest is still not erased")
}

// A key reused to invite to another property is another request: its own
// invitation (and token), listed on that property, withdrawable there.
func TestIdempotencyKeyReusedForAnotherPropertysInvitation(t *testing.T) {
	h := newHarness(t)
	p1, p3 := h.grpProperty(rootKey), h.grpProperty(rootKey)
	first := h.doKeyed("POST", "/properties/"+p1+"/invitations", rootKey, "inv-repro-2", map[string]any{"email": "q1@example.com", "role": "staff"})
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	inv1, token1 := first.field("invitationId"), first.field("token")

	retry := h.doKeyed("POST", "/properties/"+p1+"/invitations", rootKey, "inv-repro-2", map[string]any{"role": "staff", "email": "q1@example.com"})
	require.Equal(t, http.StatusCreated, retry.Status, retry.Error)
	assert.Equal(t, inv1, retry.field("invitationId"), "a true retry answers the first invitation")
	assert.Equal(t, token1, retry.field("token"))

	other := h.doKeyed("POST", "/properties/"+p3+"/invitations", rootKey, "inv-repro-2", map[string]any{"email": "q2@example.com", "role": "manager"})
	if other.Status == http.StatusUnprocessableEntity {
		assert.Contains(t, other.Error, "Idempotency-Key")
		r := h.invite(rootKey, p3, map[string]any{"email": "q2@example.com", "role": "manager"})
		require.Equal(t, http.StatusCreated, r.Status, "q2 can still be invited to p3: %s", r.Error)
		return
	}
	require.Equal(t, http.StatusCreated, other.Status, other.Error)
	inv3 := other.field("invitationId")
	assert.NotEqual(t, inv1, inv3, "another request never gets the first request's id")
	assert.NotEqual(t, token1, other.field("token"))
	list := h.do("GET", "/properties/"+p3+"/invitations", rootKey, nil)
	require.Equal(t, http.StatusOK, list.Status, list.Error)
	assert.Contains(t, string(list.Data), inv3)
	assert.Contains(t, string(list.Data), `"email":"q2@example.com"`)
	list = h.do("GET", "/properties/"+p1+"/invitations", rootKey, nil)
	assert.Contains(t, string(list.Data), `"email":"q1@example.com"`)
	assert.NotContains(t, string(list.Data), "q2@example.com")
	r := h.do("DELETE", "/invitations/"+inv3, rootKey, nil)
	assert.Less(t, r.Status, 300, r.Error)
	list = h.do("GET", "/properties/"+p1+"/invitations", rootKey, nil)
	assert.Contains(t, string(list.Data), inv1, "withdrawing the other invitation leaves the first")
}

// An entity with a stream of its own keeps the id the key alone gives: a
// key reused for the same kind of entity on another path (a booking of
// another property) is refused with 422 before anything is held, so the
// other area stays free.
func TestIdempotencyKeyReusedForABookingOfAnotherPropertyIs422(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	p2 := h.lockProperty(rootKey)
	a2 := h.lockArea(rootKey, p2)
	start := h.clock.Now().Add(2 * time.Hour).Truncate(time.Second)
	body := func(area string) map[string]any {
		return map[string]any{"areaId": area, "guest": map[string]any{"userId": f.guest},
			"startDateTime": rfc(start), "endDateTime": rfc(start.Add(24 * time.Hour))}
	}
	first := h.doKeyed("POST", "/properties/"+f.property+"/bookings", rootKey, "book-repro", body(f.flat))
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	retry := h.doKeyed("POST", "/properties/"+f.property+"/bookings", rootKey, "book-repro", body(f.flat))
	require.Equal(t, http.StatusCreated, retry.Status, retry.Error)
	assert.Equal(t, first.field("bookingId"), retry.field("bookingId"))

	other := h.doKeyed("POST", "/properties/"+p2+"/bookings", rootKey, "book-repro", body(a2))
	assert.Equal(t, http.StatusUnprocessableEntity, other.Status, other.Error)
	assert.Contains(t, other.Error, "Idempotency-Key")
	_, err := h.store.ReadStream(context.Background(), "areabookings-"+a2, eventstore.ReadStreamOptions{Max: 10})
	assert.ErrorIs(t, err, eventstore.ErrStreamNotFound, "nothing was held on the other area")
	fresh := h.do("POST", "/properties/"+p2+"/bookings", rootKey, body(a2))
	assert.Equal(t, http.StatusCreated, fresh.Status, fresh.Error)
}
