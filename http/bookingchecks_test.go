package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doKeyed is do with an Idempotency-Key header.
func (h *harness) doKeyed(method, path, key, idem string, body any) reply {
	h.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(h.t, err)
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(raw))
	require.NoError(h.t, err)
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idem)
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	out := reply{Status: resp.StatusCode, Header: resp.Header}
	require.NoError(h.t, json.Unmarshal(data, &out), "body: %s", data)
	require.Less(h.t, resp.StatusCode, 500, "%s %s answered %d: %s", method, path, resp.StatusCode, data)
	return out
}

// The userId of a check-in names who checked in: it must be a user of the
// account. An unknown id, or another account's user, is a 404 like every
// id that names nothing, and nothing is recorded.
func TestCheckInUserMustBeOfTheAccount(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(-10 * time.Minute)
	b := decodeBooking(t, h.book(f, start, start.Add(4*time.Hour)), http.StatusCreated)
	path := "/bookings/" + b.BookingID + "/check-in"

	otherKey := h.newAccount()
	stranger := h.grpUser(otherKey, "Someone else")
	for name, id := range map[string]string{
		"unknown":         "7b0e7c3e-1111-4222-8333-444455556666",
		"another account": stranger,
		"not a user":      f.flat,
	} {
		r := h.do("POST", path, rootKey, map[string]any{"method": "manual", "userId": id})
		assert.Equal(t, http.StatusNotFound, r.Status, name+": "+r.Error)
		assert.Contains(t, r.Error, "userId", name)
	}
	assert.Equal(t, "booked", decodeBooking(t, h.do("GET", "/bookings/"+b.BookingID, rootKey, nil), http.StatusOK).Status)

	staff := h.grpUser(rootKey, "Front desk")
	r := h.do("POST", path, rootKey, map[string]any{"method": "manual", "userId": staff})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, staff, r.field("checkedInBy"))
}

// A guest by name has no user: checking their booking in without a userId
// names nobody, rather than the nil UUID.
func TestGuestByNameCheckInNamesNobody(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(-10 * time.Minute)
	r := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": f.flat, "guest": map[string]any{"displayName": "Walk-in"},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour)),
	})
	b := decodeBooking(t, r, http.StatusCreated)
	r = h.do("POST", "/bookings/"+b.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(r.Data, &doc))
	assert.Equal(t, "checkedIn", doc["status"])
	assert.NotContains(t, doc, "checkedInBy")
}

// A repeated keyed creation of an access code answers the code the first
// one recorded, with its window: a generated code is the same again (the
// one the key maps hold), and another code under the same key is another
// request reusing the key, a 422, rather than a code that opens nothing.
func TestAccessCodeReplayAnswersTheRecordedCode(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(24 * time.Hour).Truncate(time.Second)
	b := decodeBooking(t, h.book(f, start, start.Add(48*time.Hour)), http.StatusCreated)
	path := "/bookings/" + b.BookingID + "/access-codes"
	type created struct {
		AccessCodeID string    `json:"accessCodeId"`
		Code         string    `json:"code"`
		ValidFrom    time.Time `json:"validFrom"`
		ValidUntil   time.Time `json:"validUntil"`
		LockIDs      []string  `json:"lockIds"`
	}
	decode := func(r reply) created {
		t.Helper()
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		var c created
		require.NoError(t, json.Unmarshal(r.Data, &c))
		return c
	}

	first := decode(h.doKeyed("POST", path, rootKey, "code-1", map[string]any{}))
	again := decode(h.doKeyed("POST", path, rootKey, "code-1", map[string]any{}))
	assert.Equal(t, first, again)
	assert.True(t, again.ValidFrom.Equal(start), "the booking's window, not the zero time")
	assert.Len(t, first.Code, 6)
	entries := h.codeEntries(f.lockID)
	require.Len(t, entries, 1, "one code recorded")
	salt, err := hex.DecodeString(entries[0].Salt)
	require.NoError(t, err)
	sum := sha256.Sum256(append(salt, again.Code...))
	assert.Equal(t, entries[0].CodeHash, hex.EncodeToString(sum[:]), "the answered code is the one the lock holds")

	given := decode(h.doKeyed("POST", path, rootKey, "code-2", map[string]any{"code": "4815162342"}))
	assert.Equal(t, given, decode(h.doKeyed("POST", path, rootKey, "code-2", map[string]any{"code": "4815162342"})))
	r := h.doKeyed("POST", path, rootKey, "code-2", map[string]any{"code": "1111"})
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
	assert.Contains(t, r.Error, "Idempotency-Key")
	assert.Len(t, h.codeEntries(f.lockID), 2)
}

// A repeated keyed guest registration answers the guest the first request
// registered; the key reused with another body is refused (422) and the
// first guest stays.
func TestGuestRegistrationReplayAnswersTheRecordedGuest(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	path := "/bookings/" + b.BookingID + "/guests"
	guestOf := func(r reply) map[string]any {
		t.Helper()
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		var out struct {
			Guest map[string]any `json:"guest"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &out))
		return out.Guest
	}
	first := guestOf(h.doKeyed("POST", path, rootKey, "guest-1", map[string]any{"displayName": "Ana García", "nationality": "ES"}))
	again := guestOf(h.doKeyed("POST", path, rootKey, "guest-1", map[string]any{"nationality": "ES", "displayName": "Ana García"}))
	assert.Equal(t, first, again)
	r := h.doKeyed("POST", path, rootKey, "guest-1", map[string]any{"displayName": "Someone Else"})
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
	assert.Contains(t, r.Error, "Idempotency-Key")
	snap := h.checkInSnapshot(b.BookingID)
	require.Len(t, snap.Guests, 1)
	assert.Equal(t, "Ana García", snap.Guests[0].DisplayName)
}

// A bookingSettings object that leaves a field out keeps that field's
// default, as leaving the whole object out does: turning guest
// registration on must not turn the grace period and the check-in opening
// to 0 (every booking noCheckIn at its start).
func TestPartialBookingSettingsKeepTheDefaults(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "Hostal",
		"bookingSettings": map[string]any{"guestRegistrationRequired": true}})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	id := r.field("propertyId")
	assert.Equal(t, bookingSettingsView{NoCheckInGraceMinutes: 120, CheckInOpensMinutesBefore: 60, GuestRegistrationRequired: true}, h.propertySettings(id))

	r = h.do("PUT", "/properties/"+id, rootKey, map[string]any{"displayName": "Hostal",
		"bookingSettings": map[string]any{"noCheckInGraceMinutes": 30}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, bookingSettingsView{NoCheckInGraceMinutes: 30, CheckInOpensMinutesBefore: 60}, h.propertySettings(id))

	r = h.do("PUT", "/properties/"+id, rootKey, map[string]any{"displayName": "Hostal",
		"bookingSettings": map[string]any{"noCheckInGraceMinutes": 0, "checkInOpensMinutesBefore": 0, "guestRegistrationRequired": false}})
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, bookingSettingsView{}, h.propertySettings(id), "zeros given are kept")

	r = h.do("PUT", "/properties/"+id, rootKey, map[string]any{"displayName": "Hostal",
		"bookingSettings": map[string]any{"checkInOpensMinutesBefore": 1.5}})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.True(t, strings.HasPrefix(r.Error, "bookingSettings.checkInOpensMinutesBefore"), r.Error)
}

// A calendar range [from, to) holds what overlaps it: a stay or a code
// window that ended exactly at from does not (its end is exclusive), though
// its departure, falling at from, does.
func TestCalendarRangeLeavesOutWhatEndedAtItsStart(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	flat := h.mkArea(rootKey, prop, "Flat 1", "")
	guest := h.grpUser(rootKey, "Ana")
	start := time.Date(2027, 1, 2, 10, 0, 0, 0, time.UTC)
	end := start.Add(24 * time.Hour)
	r := h.do("POST", "/properties/"+prop+"/bookings", rootKey, map[string]any{"areaId": flat,
		"guest": map[string]any{"userId": guest}, "startDateTime": rfc(start), "endDateTime": rfc(end)})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	id := r.field("bookingId")
	require.Equal(t, http.StatusCreated, h.do("POST", "/bookings/"+id+"/access-codes", rootKey, map[string]any{}).Status)

	cal := "/properties/" + prop + "/calendar?from=" + rfc(end) + "&to=" + rfc(end.Add(2*time.Hour))
	var types []string
	for _, it := range calItems(t, h.do("GET", cal, rootKey, nil)) {
		types = append(types, it.Type)
	}
	assert.Equal(t, []string{"departure"}, types)

	cal = "/properties/" + prop + "/calendar?from=" + rfc(end.Add(-time.Second)) + "&to=" + rfc(end.Add(2*time.Hour))
	types = nil
	for _, it := range calItems(t, h.do("GET", cal, rootKey, nil)) {
		types = append(types, it.Type)
	}
	assert.ElementsMatch(t, []string{"stay", "accessCode", "departure"}, types)
}

// A booking keeps the externalRefs it was created with (a channel
// manager's reservation id), shown by GET; bad ones are a 400 naming the
// field, as for other entities.
func TestBookingExternalRefs(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour).Truncate(time.Second)
	body := func(refs any) map[string]any {
		return map[string]any{"areaId": f.flat, "guest": map[string]any{"userId": f.guest},
			"startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour)), "externalRefs": refs}
	}
	r := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body([]map[string]any{{"id": "R-1"}}))
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Error, "externalRefs[0].source")

	r = h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body([]map[string]any{{"id": "HMABC123", "source": "kasify", "syncStatus": "synced"}}))
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	type refs struct {
		ExternalRefs []map[string]string `json:"externalRefs"`
	}
	var got refs
	require.NoError(t, json.Unmarshal(h.do("GET", "/bookings/"+r.field("bookingId"), rootKey, nil).Data, &got))
	assert.Equal(t, []map[string]string{{"id": "HMABC123", "source": "kasify", "syncStatus": "synced"}}, got.ExternalRefs)

	r = h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{"areaId": f.flat, "guest": map[string]any{"userId": f.guest},
		"startDateTime": rfc(start.Add(time.Hour)), "endDateTime": rfc(start.Add(2 * time.Hour))})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	assert.JSONEq(t, `[]`, string(mustField(t, r, "externalRefs")))
}

// A booking's source left out (or null) is unknown; given as "" it is a
// mistake, a 400 naming source, not unknown in disguise.
func TestBookingSourceEmptyIsInvalid(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour).Truncate(time.Second)
	book := func(hour int, source any, withSource bool) reply {
		body := map[string]any{"areaId": f.flat, "guest": map[string]any{"userId": f.guest},
			"startDateTime": rfc(start.Add(time.Duration(hour) * time.Hour)), "endDateTime": rfc(start.Add(time.Duration(hour+1) * time.Hour))}
		if withSource {
			body["source"] = source
		}
		return h.do("POST", "/properties/"+f.property+"/bookings", rootKey, body)
	}
	r := book(0, "", true)
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.Contains(t, r.Error, "source")
	for i, c := range []struct {
		source     any
		withSource bool
	}{{nil, false}, {nil, true}} {
		r = book(2*i, c.source, c.withSource)
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		assert.JSONEq(t, `"unknown"`, string(mustField(t, r, "source")))
	}
}

func mustField(t *testing.T, r reply, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Data, &m))
	require.Contains(t, m, name)
	return m[name]
}

// A guest's birth date in year 0, which parses as YYYY-MM-DD, is outside
// the years 1 to 9999 of every date: a 400 naming the field, at
// registration and in a booking's guest alike.
func TestGuestBirthDateInYearZeroIsInvalid(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/guests", rootKey, map[string]any{"displayName": "Ana", "birthDate": "0000-01-01"})
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.Contains(t, r.Error, "birthDate")
	r = h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{"areaId": f.flat,
		"guest": map[string]any{"displayName": "Ana", "birthDate": "0000-12-31"}, "source": "web",
		"startDateTime": rfc(start.Add(48 * time.Hour)), "endDateTime": rfc(start.Add(72 * time.Hour))})
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.Contains(t, r.Error, "guest.birthDate")
	r = h.do("POST", "/bookings/"+b.BookingID+"/guests", rootKey, map[string]any{"displayName": "Ana", "birthDate": "0001-01-01"})
	assert.Equal(t, http.StatusCreated, r.Status, r.Error)
}

// A guest's birth date in the future is a 400 naming the field, at
// registration and in a booking's guest alike.
func TestGuestBirthDateNotInTheFuture(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	future := h.clock.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	r := h.do("POST", "/bookings/"+b.BookingID+"/guests", rootKey, map[string]any{"displayName": "Ana", "birthDate": future})
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
	assert.Contains(t, r.Error, "birthDate")
	r = h.do("POST", "/bookings/"+b.BookingID+"/guests", rootKey, map[string]any{"displayName": "Ana", "birthDate": "1990-02-28"})
	assert.Equal(t, http.StatusCreated, r.Status, r.Error)
	assert.Empty(t, h.do("GET", "/bookings/"+b.BookingID+"/check-in", rootKey, nil).Error)
	assert.Len(t, h.checkInSnapshot(b.BookingID).Guests, 1)
}

// A key scoped to another property gets, for a booking or an access code
// it cannot see, the very answer of an id that names nothing: the same
// status and the same message.
func TestOutOfScopeBookingAnswersAsUnknown(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	r := h.do("POST", "/bookings/"+b.BookingID+"/access-codes", rootKey, map[string]any{})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	code := r.field("accessCodeId")
	elsewhere := h.newKey(rootKey, scopedPerm("manage-access", h.lockProperty(rootKey)))
	const unknown = "7b0e7c3e-1111-4222-8333-444455556666"
	for _, c := range []struct{ method, path, unknownPath string }{
		{"GET", "/bookings/" + b.BookingID, "/bookings/" + unknown},
		{"GET", "/bookings/" + b.BookingID + "/check-in", "/bookings/" + unknown + "/check-in"},
		{"GET", "/bookings/" + b.BookingID + "/access-codes", "/bookings/" + unknown + "/access-codes"},
		{"DELETE", "/access-codes/" + code, "/access-codes/" + unknown},
	} {
		got := h.do(c.method, c.path, elsewhere, nil)
		want := h.do(c.method, c.unknownPath, elsewhere, nil)
		assert.Equal(t, http.StatusNotFound, got.Status, c.path)
		assert.Equal(t, strings.ReplaceAll(want.Error, unknown, "ID"),
			strings.ReplaceAll(strings.ReplaceAll(got.Error, b.BookingID, "ID"), code, "ID"), c.path)
	}
}

// A bad detail of a guest given by name names the field as the body has
// it: guest.displayName, guest.email.
func TestBookingGuestErrorsNameTheNestedField(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	for want, guest := range map[string]map[string]any{
		"guest.displayName": {"displayName": " "},
		"guest.email":       {"displayName": "Ana", "email": "not an address"},
		"guest.phoneNumber": {"displayName": "Ana", "phoneNumber": "call me"},
	} {
		r := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{"areaId": f.flat, "guest": guest,
			"startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour))})
		assert.Equal(t, http.StatusBadRequest, r.Status, r.Error)
		assert.True(t, strings.HasPrefix(r.Error, want+":"), "%s: %s", want, r.Error)
	}
}

// An area with a live booking (booked, or checked in) cannot be deleted:
// the booking would point at nothing and a checked-in guest would lose
// their access with the area's group. Once the bookings end, it can.
func TestAreaWithLiveBookingsIsNotDeleted(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	room := h.mkArea(rootKey, prop, "Room 1", "")
	guest := h.grpUser(rootKey, "Ana")
	start := h.clock.Now().Add(-10 * time.Minute)
	r := h.do("POST", "/properties/"+prop+"/bookings", rootKey, map[string]any{"areaId": room,
		"guest": map[string]any{"userId": guest}, "startDateTime": rfc(start), "endDateTime": rfc(start.Add(4 * time.Hour))})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	id := r.field("bookingId")
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+id+"/check-in", rootKey, map[string]any{"method": "manual"}).Status)

	r = h.do("DELETE", "/properties/"+prop+"/areas/"+room, rootKey, nil)
	assert.Equal(t, http.StatusConflict, r.Status, r.Error)
	assert.Contains(t, r.Error, "live bookings")
	assert.Equal(t, http.StatusOK, h.do("GET", "/properties/"+prop+"/areas/"+room, rootKey, nil).Status)

	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+id+"/check-out", rootKey, map[string]any{"method": "manual"}).Status)
	r = h.do("DELETE", "/properties/"+prop+"/areas/"+room, rootKey, nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Error)
}
