package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type checkInSnapshot struct {
	Status        string     `json:"status"`
	CheckedInAt   *time.Time `json:"checkedInAt"`
	CheckInMethod string     `json:"checkInMethod"`
	Guests        []struct {
		GuestID        string `json:"guestId"`
		DisplayName    string `json:"displayName"`
		DocumentNumber string `json:"documentNumber"`
	} `json:"guests"`
	AccessCodes []struct {
		AccessCodeID string `json:"accessCodeId"`
	} `json:"accessCodes"`
}

func (h *harness) checkInSnapshot(bookingID string) checkInSnapshot {
	h.t.Helper()
	r := h.do("GET", "/bookings/"+bookingID+"/check-in", rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var s checkInSnapshot
	require.NoError(h.t, json.Unmarshal(r.Data, &s))
	return s
}

// Guests register with sealed details; the check-in snapshot shows them,
// the check-in and the active codes; erasing a guest's key erases the
// person from it.
func TestGuestsAndCheckInSnapshot(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(30 * time.Minute)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	guests := "/bookings/" + b.BookingID + "/guests"

	s := h.checkInSnapshot(b.BookingID)
	assert.Equal(t, "booked", s.Status)
	assert.Nil(t, s.CheckedInAt)
	assert.Empty(t, s.Guests)

	assert.Equal(t, http.StatusBadRequest, h.do("POST", guests, rootKey, map[string]any{"email": "a@b.c"}).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("POST", guests, rootKey, map[string]any{"displayName": "Ana", "birthDate": "yesterday"}).Status)
	// A guest's contact details follow a user's rules; a nationality is a
	// country's code, not any two capitals.
	for _, bad := range [][2]string{{"email", "nope"}, {"phoneNumber", "call me"}, {"nationality", "Narnia"},
		{"nationality", "es"}, {"nationality", "XX"}, {"nationality", "EU"}, {"nationality", "UK"}, {"nationality", "ZZ"}} {
		r := h.do("POST", guests, rootKey, map[string]any{"displayName": "Ana", bad[0]: bad[1]})
		assert.Equal(t, http.StatusBadRequest, r.Status, bad)
		assert.Contains(t, r.Error, bad[0])
	}
	r := h.do("POST", guests, rootKey, map[string]any{
		"displayName": "Ana García", "email": "ana@example.com", "documentType": "passport", "documentNumber": "X1234567",
		"nationality": "ES", "birthDate": "1990-04-01",
	})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	var reg struct {
		Guest struct {
			GuestID string `json:"guestId"`
		} `json:"guest"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &reg))
	recs := h.streamEvents("booking-" + b.BookingID)
	require.Len(t, recs, 2)
	assert.Equal(t, "GuestRegistered", recs[1].Type)
	for _, secret := range []string{"X1234567", "Ana", "ana@example.com", "1990-04-01"} {
		assert.NotContains(t, string(recs[1].Data), secret, "personal data is sealed in the log")
	}

	code := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, nil)
	require.Equal(t, http.StatusCreated, code.Status, code.Error)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+b.BookingID+"/check-in", rootKey, map[string]any{"method": "geofence"}).Status)

	s = h.checkInSnapshot(b.BookingID)
	assert.Equal(t, "checkedIn", s.Status)
	assert.NotNil(t, s.CheckedInAt)
	assert.Equal(t, "geofence", s.CheckInMethod)
	require.Len(t, s.Guests, 1)
	assert.Equal(t, "Ana García", s.Guests[0].DisplayName)
	assert.Equal(t, "X1234567", s.Guests[0].DocumentNumber)
	require.Len(t, s.AccessCodes, 1)
	assert.Equal(t, code.field("accessCodeId"), s.AccessCodes[0].AccessCodeID)

	require.NoError(t, h.personal.Erase(context.Background(), uuid.MustParse(reg.Guest.GuestID)))
	s = h.checkInSnapshot(b.BookingID)
	require.Len(t, s.Guests, 1)
	assert.Equal(t, reg.Guest.GuestID, s.Guests[0].GuestID)
	assert.Empty(t, s.Guests[0].DisplayName, "an erased guest has no details left")

	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+b.BookingID+"/check-out", rootKey, map[string]any{"method": "manual"}).Status)
	assert.Empty(t, h.checkInSnapshot(b.BookingID).AccessCodes, "check-out revokes the codes")
	assert.Equal(t, http.StatusConflict, h.do("POST", guests, rootKey, map[string]any{"displayName": "Late"}).Status)
}

// A guest given by name is registered with the booking (sealed); checking
// in admits nobody (there is no user), the booking's codes serve.
func TestBookingForAGuestByName(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(30 * time.Minute)
	body := map[string]any{"areaId": f.flat, "guest": map[string]any{"displayName": "Bea Ruiz", "email": "bea@example.com"},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(24 * time.Hour))}
	r := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body)
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	var b struct {
		BookingID string `json:"bookingId"`
		Guest     struct {
			UserID  string `json:"userId"`
			GuestID string `json:"guestId"`
		} `json:"guest"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &b))
	assert.Empty(t, b.Guest.UserID)
	assert.NotEmpty(t, b.Guest.GuestID)
	for _, rec := range h.streamEvents("booking-" + b.BookingID) {
		assert.NotContains(t, string(rec.Data), "bea@example.com")
	}
	s := h.checkInSnapshot(b.BookingID)
	require.Len(t, s.Guests, 1)
	assert.Equal(t, b.Guest.GuestID, s.Guests[0].GuestID)
	assert.Equal(t, "Bea Ruiz", s.Guests[0].DisplayName)

	require.Equal(t, http.StatusCreated, h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, nil).Status)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+b.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"}).Status)
	entries := h.keyMap(rootKey, f.lockID).KeyMapEntries
	require.Len(t, entries, 1, "only the code")
	assert.Empty(t, entries[0].UserID)

	body["guest"] = map[string]any{"userId": f.guest, "displayName": "Both"}
	assert.Equal(t, http.StatusBadRequest, h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body).Status)
	body["guest"] = map[string]any{"email": "x@example.com"}
	assert.Equal(t, http.StatusBadRequest, h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body).Status)
}

// A guest's details (names, contacts, identity document) are shown like a
// user's `private`: to owner and manage-access for the booking's
// property only. Other readers of the booking (support, a lock
// installer, a manager of another property) see that a guest is
// registered, and whether erased, but not who.
func TestGuestDetailsOnlyForManagers(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(30 * time.Minute)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/guests", rootKey, map[string]any{
		"displayName": "Ana García", "email": "ana@example.com", "phoneNumber": "+34 600 111 222",
		"documentType": "passport", "documentNumber": "X1234567", "nationality": "ES", "birthDate": "1990-04-01"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	other := h.lockProperty(rootKey)
	personal := []string{"Ana", "ana@example.com", "600 111 222", "passport", "X1234567", "1990-04-01"}
	for name, key := range map[string]string{
		"owner":                    rootKey,
		"manage-access":            h.newKey(rootKey, map[string]string{"permission": "manage-access", "propertyId": f.property}),
		"support":                  h.newKey(rootKey, perm("support")),
		"install-lock":             h.newKey(rootKey, map[string]string{"permission": "install-lock", "propertyId": f.property}),
		"provision-lock":           h.newKey(rootKey, perm("provision-lock")),
		"manage-access, elsewhere": h.newKey(rootKey, perm("support"), map[string]string{"permission": "manage-access", "propertyId": other}),
	} {
		r := h.do("GET", "/bookings/"+b.BookingID+"/check-in", key, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", name, r.Error)
		var s struct {
			Guests []map[string]any `json:"guests"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &s))
		require.Len(t, s.Guests, 1, name)
		if name == "owner" || name == "manage-access" {
			assert.Equal(t, "X1234567", s.Guests[0]["documentNumber"], name)
			continue
		}
		assert.ElementsMatch(t, []string{"guestId", "registeredAt"}, keysOf(s.Guests[0]), name)
		for _, p := range personal {
			assert.NotContains(t, string(r.Data), p, name)
		}
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
