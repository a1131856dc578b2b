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

// An Idempotency-Key used for an access code of one booking is that
// request's: the same key on another booking's path is refused with 422
// and records nothing there; a true retry still answers the first code
// and records nothing.
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
	otherBefore := len(h.streamEvents("booking-" + b.other))
	other := h.doKeyed("POST", "/bookings/"+b.other+"/access-codes", rootKey, "repro-2", map[string]any{"code": "246810"})
	assert.Equal(t, http.StatusUnprocessableEntity, other.Status, other.Error)
	assert.Contains(t, other.Error, "Idempotency-Key")
	assert.Len(t, h.streamEvents("booking-"+b.other), otherBefore, "nothing recorded on the other booking")
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

// A key used to register a guest of one booking is that request's: the
// key on another booking's guests, or on a booking with a guest by name,
// is refused with 422 and records nothing; the first guest stays.
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

	otherBefore := len(h.streamEvents("booking-" + b.other))
	other := h.doKeyed("POST", "/bookings/"+b.other+"/guests", rootKey, "guest-repro-2", map[string]any{"displayName": "Ivan"})
	assert.Equal(t, http.StatusUnprocessableEntity, other.Status, other.Error)
	assert.Len(t, h.streamEvents("booking-"+b.other), otherBefore, "nothing recorded on the other booking")
	assert.Empty(t, h.checkInSnapshot(b.other).Guests)

	start := h.clock.Now().Add(72 * time.Hour).Truncate(time.Second)
	book := map[string]any{
		"areaId": b.f.flat, "guest": map[string]any{"displayName": "Jon"},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(24 * time.Hour)),
	}
	booked := h.doKeyed("POST", "/properties/"+b.f.property+"/bookings", rootKey, "guest-repro-2", book)
	assert.Equal(t, http.StatusUnprocessableEntity, booked.Status, booked.Error)
	fresh := h.doKeyed("POST", "/properties/"+b.f.property+"/bookings", rootKey, "guest-repro-3", book)
	require.Equal(t, http.StatusCreated, fresh.Status, "the slot was not held: %s", fresh.Error)

	snap := h.checkInSnapshot(b.first)
	require.Len(t, snap.Guests, 1)
	assert.Equal(t, hana, snap.Guests[0].GuestID)
	assert.Equal(t, "Hana", snap.Guests[0].DisplayName, "the first guest is not erased")
}

// A key used to invite to one property is that request's: the key on
// another property's invitations is refused with 422, and the invitation
// can still be made under a new key.
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
	require.Equal(t, http.StatusUnprocessableEntity, other.Status, other.Error)
	assert.Contains(t, other.Error, "Idempotency-Key")
	list := h.do("GET", "/properties/"+p3+"/invitations", rootKey, nil)
	require.Equal(t, http.StatusOK, list.Status, list.Error)
	assert.NotContains(t, string(list.Data), "q2@example.com")
	r := h.invite(rootKey, p3, map[string]any{"email": "q2@example.com", "role": "manager"})
	require.Equal(t, http.StatusCreated, r.Status, "q2 can still be invited to p3: %s", r.Error)
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

// A key holds for the request that first used it, whatever a later
// request under it names: another command (a cancellation under a key
// that created an access code), the same command on another booking (a
// check-in), or another kind of entity (a user under a property's key).
// Each is refused with 422 and records nothing, anywhere.
func TestIdempotencyKeyReusedForAnotherCommandIs422(t *testing.T) {
	h := newHarness(t)
	b := h.twoBookings()
	code := h.doKeyed("POST", "/bookings/"+b.first+"/access-codes", rootKey, "one-key", map[string]any{"code": "135790"})
	require.Equal(t, http.StatusCreated, code.Status, code.Error)
	head := func() uint64 {
		pos, err := h.store.HeadPosition(context.Background())
		require.NoError(t, err)
		return pos
	}
	before := head()

	cancel := h.doKeyed("POST", "/bookings/"+b.first+"/cancel", rootKey, "one-key", map[string]any{"reason": "byUser"})
	assert.Equal(t, http.StatusUnprocessableEntity, cancel.Status, cancel.Error)
	user := h.doKeyed("POST", "/users", rootKey, "one-key", map[string]any{"displayName": "Ana"})
	assert.Equal(t, http.StatusUnprocessableEntity, user.Status, user.Error)
	assert.Equal(t, before, head(), "nothing appended")

	checkIn := h.doKeyed("POST", "/bookings/"+b.first+"/check-in", rootKey, "check-key", map[string]any{"method": "manual"})
	require.Equal(t, http.StatusOK, checkIn.Status, checkIn.Error)
	before = head()
	otherCheckIn := h.doKeyed("POST", "/bookings/"+b.other+"/check-in", rootKey, "check-key", map[string]any{"method": "manual"})
	assert.Equal(t, http.StatusUnprocessableEntity, otherCheckIn.Status, otherCheckIn.Error)
	assert.Equal(t, before, head(), "the other booking's check-in recorded nothing before the refusal")
	assert.Nil(t, h.checkInSnapshot(b.other).CheckedInAt, "the other booking is not checked in")

	again := h.doKeyed("POST", "/bookings/"+b.other+"/cancel", rootKey, "cancel-key", map[string]any{"reason": "byUser"})
	assert.Equal(t, http.StatusOK, again.Status, "a new key makes the change: %s", again.Error)
}

// The same request under a used key from another API key is another
// caller's: refused with 422, never answered with the signed message the
// first caller's uninstall got (a key that cannot see the lock would
// otherwise read its property and area).
func TestIdempotencyKeyRetriedByAnotherAPIKeyIs422(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	area := h.lockArea(rootKey, property)
	l := h.provisionLock(rootKey, "door")
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(property, area, l.LockID), rootKey, nil).Status)
	installer := h.newKey(rootKey, map[string]string{"permission": "install-lock"})

	path := "/locks/" + l.LockID + "/uninstall?uninstallMode=area"
	first := h.doKeyed("PUT", path, rootKey, "u-1", nil)
	require.Equal(t, http.StatusOK, first.Status, first.Error)
	retry := h.doKeyed("PUT", path, installer, "u-1", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, retry.Status, retry.Error)
	assert.Empty(t, retry.Data)
	again := h.doKeyed("PUT", path, rootKey, "u-1", nil)
	assert.Equal(t, http.StatusOK, again.Status, "the first caller's retry answers: %s", again.Error)
}
