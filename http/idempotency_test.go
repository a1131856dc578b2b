package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore"
)

// doKeyedRaw sends body as it is, with an Idempotency-Key.
func (h *harness) doKeyedRaw(method, path, key, idem, body string) reply {
	h.t.Helper()
	return h.doKeyedTyped(method, path, key, idem, "application/json", body)
}

// doKeyedTyped is doKeyedRaw with the body sent as contentType.
func (h *harness) doKeyedTyped(method, path, key, idem, contentType, body string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", contentType)
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

// A key repeated with the same request (spacing and key order aside) is a
// retry and answers the first result; with another body it is another
// request: 422 in the error envelope, and nothing is made.
func TestIdempotencyKeyReusedWithAnotherBodyIs422(t *testing.T) {
	h := newHarness(t)
	first := h.doKeyedRaw("POST", "/accounts/keys", rootKey, "reuse-1",
		`{"displayName":"k","apiPermissions":[{"permission":"support"}]}`)
	require.Equal(t, http.StatusCreated, first.Status, first.Error)

	retry := h.doKeyedRaw("POST", "/accounts/keys", rootKey, "reuse-1",
		"{\n  \"apiPermissions\" : [ { \"permission\" : \"support\" } ],\n  \"displayName\" : \"\\u006b\"\n}\n")
	require.Equal(t, http.StatusCreated, retry.Status, "the same request re-serialised is a retry: %s", retry.Error)
	assert.Equal(t, first.field("apiKeyId"), retry.field("apiKeyId"))
	assert.Equal(t, first.field("apiKey"), retry.field("apiKey"))

	other := h.doKeyedRaw("POST", "/accounts/keys", rootKey, "reuse-1",
		`{"displayName":"someone else's key","apiPermissions":[{"permission":"owner"}]}`)
	assert.Equal(t, http.StatusUnprocessableEntity, other.Status)
	assert.False(t, other.Success)
	assert.Contains(t, other.Error, "Idempotency-Key")
	assert.Contains(t, other.Error, "different request")
	assert.Empty(t, other.field("apiKey"), "the first request's secret is not handed out")

	var page struct {
		Keys []json.RawMessage `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(h.do("GET", "/accounts/keys", rootKey, nil).Data, &page))
	assert.Len(t, page.Keys, 2, "bootstrap + the first request only")
}

// areaCount counts a property's areas.
func (h *harness) areaCount(propertyID string) int {
	h.t.Helper()
	r := h.do("GET", areasPath(propertyID), rootKey, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Areas []json.RawMessage `json:"areas"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &page))
	return len(page.Areas)
}

// CreateArea appends to two streams (the area's group, then the area),
// both ids derived from the key. The same key for another property (same
// body, another path) or with another body is refused before either is
// touched, instead of answering the first area.
func TestIdempotencyKeyReusedForAreaCreationIs422(t *testing.T) {
	h := newHarness(t)
	p1, p2 := h.lockProperty(rootKey), h.lockProperty(rootKey)
	body := `{"displayName":"Flat 1A","areaType":"resident"}`
	first := h.doKeyedRaw("POST", areasPath(p1), rootKey, "area-1", body)
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	again := h.doKeyedRaw("POST", areasPath(p1), rootKey, "area-1", `{"areaType":"resident","displayName":"Flat 1A"}`)
	require.Equal(t, http.StatusCreated, again.Status, again.Error)
	assert.Equal(t, first.field("areaId"), again.field("areaId"))

	elsewhere := h.doKeyedRaw("POST", areasPath(p2), rootKey, "area-1", body)
	assert.Equal(t, http.StatusUnprocessableEntity, elsewhere.Status, "another path: %s", elsewhere.Error)
	assert.Contains(t, elsewhere.Error, "Idempotency-Key")
	renamed := h.doKeyedRaw("POST", areasPath(p1), rootKey, "area-1", `{"displayName":"Flat 9Z","areaType":"resident"}`)
	assert.Equal(t, http.StatusUnprocessableEntity, renamed.Status, "another body: %s", renamed.Error)

	assert.Equal(t, 0, h.areaCount(p2), "nothing was made in the other property")
	assert.Equal(t, 1, h.areaCount(p1))
	assert.Equal(t, "Flat 1A", h.viewArea(rootKey, p1, first.field("areaId")).DisplayName)
}

// A booking holds its slots (a shared stream) before it is recorded; a
// key reused for another window must leave the first booking's slots
// held: no other booking may then take its window.
func TestIdempotencyKeyReusedForBookingKeepsTheFirstBooking(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(24 * time.Hour).Truncate(time.Second)
	path := "/properties/" + f.property + "/bookings"
	bookingBody := func(from, to time.Time) string {
		raw, err := json.Marshal(map[string]any{"areaId": f.flat, "guest": map[string]any{"userId": f.guest},
			"startDateTime": rfc(from), "endDateTime": rfc(to)})
		require.NoError(t, err)
		return string(raw)
	}
	first := decodeBooking(t, h.doKeyedRaw("POST", path, rootKey, "book-1", bookingBody(start, start.Add(2*time.Hour))), http.StatusCreated)

	r := h.doKeyedRaw("POST", path, rootKey, "book-1", bookingBody(start.Add(72*time.Hour), start.Add(74*time.Hour)))
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
	assert.Contains(t, r.Error, "Idempotency-Key")

	got := decodeBooking(t, h.do("GET", "/bookings/"+first.BookingID, rootKey, nil), http.StatusOK)
	assert.Equal(t, first.BookingID, got.BookingID)
	other := h.grpUser(rootKey, "Other guest")
	overlap := h.do("POST", path, rootKey, map[string]any{"areaId": f.flat, "guest": map[string]any{"userId": other},
		"startDateTime": rfc(start.Add(time.Hour)), "endDateTime": rfc(start.Add(3 * time.Hour))})
	assert.Equal(t, http.StatusConflict, overlap.Status, "the first booking still holds its window: %s", overlap.Error)
}

// groupEventTypes lists the types of a stream's events.
func (h *harness) streamEventTypes(stream string) []string {
	h.t.Helper()
	recs, err := h.store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{Max: 1000})
	require.NoError(h.t, err)
	out := make([]string, len(recs))
	for i, rec := range recs {
		out[i] = rec.Type
	}
	return out
}

// A client that sends the booking scheduler's key text as its own
// Idempotency-Key makes ids of its own: the scheduler's completion of the
// booking still frees its slot and ends its guest's membership, rather
// than finding the client's events under its ids and taking them as done.
func TestClientCannotUseTheSchedulersKeys(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	now := h.clock.Now().Truncate(time.Second)
	later := decodeBooking(t, h.book(f, now.Add(time.Hour), now.Add(3*time.Hour)), http.StatusCreated)
	visitor := h.grpUser(rootKey, "Visitor")
	h.provisionDevice(rootKey, visitor, "visitor phone")
	early := decodeBooking(t, h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": f.flat, "guest": map[string]any{"userId": visitor},
		"startDateTime": rfc(now.Add(-10 * time.Minute)), "endDateTime": rfc(now.Add(50 * time.Minute)),
	}), http.StatusCreated)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+early.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"}).Status)
	// The check-out frees a slot in the area's index and ends a
	// membership of the area's group: the streams the scheduler's
	// completion of the later booking writes to, with the same command
	// names, under the key the scheduler uses for it.
	out := h.doKeyed("POST", "/bookings/"+early.BookingID+"/check-out", rootKey,
		"booking-scheduler/completed/"+later.BookingID, map[string]any{"method": "manual"})
	require.Equal(t, http.StatusOK, out.Status, out.Error)

	groupStream := "group-" + f.flatGroup
	removals := func() int {
		n := 0
		for _, typ := range h.streamEventTypes(groupStream) {
			if strings.Contains(typ, "Removed") {
				n++
			}
		}
		return n
	}
	require.Equal(t, 1, removals(), "the visitor's stay ended: %v", h.streamEventTypes(groupStream))

	h.clock.Advance(time.Hour + time.Minute)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+later.BookingID+"/check-in", rootKey, map[string]any{"method": "manual"}).Status)
	h.clock.Advance(2 * time.Hour)

	sched, err := commands.NewBookingScheduler(h.service, h.bookings, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	settle := func() {
		t.Helper()
		head, err := h.store.HeadPosition(context.Background())
		require.NoError(t, err)
		require.NoError(t, h.set.WaitFor(context.Background(), head))
	}
	settle()
	n, err := sched.Tick(context.Background())
	require.NoError(t, err)
	settle()
	assert.Equal(t, 1, n)
	assert.Equal(t, "completed", decodeBooking(t, h.do("GET", "/bookings/"+later.BookingID, rootKey, nil), http.StatusOK).Status)
	assert.Equal(t, 2, removals(), "the completion ended the guest's membership too: %v", h.streamEventTypes(groupStream))
	releases := 0
	for _, typ := range h.streamEventTypes("areabookings-" + f.flat) {
		if strings.Contains(typ, "Released") {
			releases++
		}
	}
	assert.Equal(t, 2, releases, "both bookings' slots were freed: %v", h.streamEventTypes("areabookings-"+f.flat))
}

// A firmware image is not read by the middleware: its upload's
// fingerprint names the image by its sha256, so a retry of the same image
// (even as a multipart form, whose boundary changes) is a retry, and
// another image under the same key is a 422 that leaves no file behind.
func TestIdempotencyKeyReusedForFirmwareUpload(t *testing.T) {
	h := newHarness(t)
	image, other := fwRandomBytes(t, 4096), fwRandomBytes(t, 4096)
	keyed := map[string]string{"Idempotency-Key": "fw-1"}
	send := func(img []byte) reply {
		return h.fwSend("POST", "/firmware/1.0/upload", rootKey, "application/octet-stream", bytes.NewReader(img), int64(len(img)), keyed)
	}
	first := send(image)
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	files := h.fwFiles()
	again := send(image)
	require.Less(t, again.Status, 300, again.Error)
	assert.Equal(t, fwSHA256(image), fwDecode(t, again).SHA256)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	part, err := mw.CreateFormFile("file", "lock.bin")
	require.NoError(t, err)
	_, err = part.Write(image)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	asForm := h.fwSend("POST", "/firmware/1.0/upload", rootKey, mw.FormDataContentType(), &form, int64(form.Len()), keyed)
	require.Less(t, asForm.Status, 300, "the same image as a form is a retry: %s", asForm.Error)

	r := send(other)
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Error)
	assert.Contains(t, r.Error, "Idempotency-Key")
	assert.Equal(t, files, h.fwFiles(), "the refused image is not kept")
	got := h.do("GET", "/firmware/1.0", rootKey, nil)
	require.Equal(t, http.StatusOK, got.Status, got.Error)
	assert.Equal(t, fwSHA256(image), fwDecode(t, got).SHA256)
}

// A JSON body is read as JSON whatever Content-Type the client sends, so
// it is fingerprinted as such: two bodies sent as octet-stream or
// multipart under one key are two requests, not a retry answered with
// the first (only the firmware upload streams its body, and names it by
// its hash itself).
func TestIdempotencyKeyFingerprintsJSONUnderAnyContentType(t *testing.T) {
	h := newHarness(t)
	for i, ct := range []string{"application/octet-stream", "multipart/form-data; boundary=x"} {
		key := fmt.Sprintf("typed-%d", i)
		first := h.doKeyedTyped("POST", "/users", rootKey, key, ct, `{"displayName":"First"}`)
		require.Equal(t, http.StatusCreated, first.Status, first.Error)
		retry := h.doKeyedTyped("POST", "/users", rootKey, key, ct, `{"displayName":"First"}`)
		require.Equal(t, http.StatusCreated, retry.Status, retry.Error)
		assert.Equal(t, first.field("userId"), retry.field("userId"), ct)
		other := h.doKeyedTyped("POST", "/users", rootKey, key, ct, `{"displayName":"Second"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, other.Status, "%s: %s", ct, other.Error)
	}
}

// Two Idempotency-Key headers are a 400, as a query parameter given twice
// is: nothing is made under either.
func TestIdempotencyKeyGivenTwiceIs400(t *testing.T) {
	h := newHarness(t)
	req, err := http.NewRequest("POST", h.srv.URL+"/users", strings.NewReader(`{"displayName":"Twice"}`))
	require.NoError(t, err)
	req.Header.Set("x-api-key", rootKey)
	req.Header.Add("Idempotency-Key", "one")
	req.Header.Add("Idempotency-Key", "two")
	resp, err := h.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out reply
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, out.Error, "Idempotency-Key")
	for _, key := range []string{"one", "two"} {
		r := h.doKeyedRaw("POST", "/users", rootKey, key, `{"displayName":"Other"}`)
		assert.Equal(t, http.StatusCreated, r.Status, "%s was not claimed: %s", key, r.Error)
	}
}
