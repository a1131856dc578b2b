package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/domain"
)

type erasedGuestView struct {
	GuestID     string `json:"guestId"`
	DisplayName string `json:"displayName"`
	Email       string `json:"email"`
	Erased      bool   `json:"erased"`
}

// DELETE /bookings/{id}/guests/{guestId} records the erasure and erases
// the guest's key: the guest's fields read as erased, the other guest
// keeps theirs, nothing in the log is rewritten (it still verifies), and
// a second erasure or an unknown guest is 404.
func TestGuestErasure(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	register := func(name, email string) string {
		r := h.do("POST", "/bookings/"+b.BookingID+"/guests", rootKey, map[string]any{"displayName": name, "email": email})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		var out struct {
			Guest struct {
				GuestID string `json:"guestId"`
			} `json:"guest"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &out))
		return out.Guest.GuestID
	}
	ana, bea := register("Ana Erasable", "ana@example.org"), register("Bea Kept", "bea@example.org")
	guests := func() map[string]erasedGuestView {
		r := h.do("GET", "/bookings/"+b.BookingID+"/check-in", rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var s struct {
			Guests []erasedGuestView `json:"guests"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &s))
		out := map[string]erasedGuestView{}
		for _, g := range s.Guests {
			out[g.GuestID] = g
		}
		return out
	}
	require.Equal(t, "Ana Erasable", guests()[ana].DisplayName)
	var sealed string
	for _, rec := range h.streamEvents("booking-" + b.BookingID) {
		var e struct {
			GuestID  string `json:"guestId"`
			Personal string `json:"personal"`
		}
		require.NoError(t, json.Unmarshal(rec.Data, &e))
		if rec.Type == "GuestRegistered" && e.GuestID == ana {
			sealed = e.Personal
		}
	}
	require.NotEmpty(t, sealed)

	path := "/bookings/" + b.BookingID + "/guests/"
	support := h.newKey(rootKey, scopedPerm("support", f.property))
	assert.Equal(t, http.StatusForbidden, h.do("DELETE", path+ana, support, nil).Status)
	assert.Equal(t, "Ana Erasable", guests()[ana].DisplayName, "a refused erasure erases nothing")
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", path+uuid.NewString(), rootKey, nil).Status)
	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/bookings/"+uuid.NewString()+"/guests/"+ana, rootKey, nil).Status)

	r := h.do("DELETE", path+ana, rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Equal(t, ana, r.field("guestId"))
	got := guests()
	assert.Equal(t, erasedGuestView{GuestID: ana, Erased: true}, got[ana])
	assert.Equal(t, "Bea Kept", got[bea].DisplayName)
	assert.False(t, got[bea].Erased)
	_, err := h.personal.Open(context.Background(), uuid.MustParse(ana), sealed)
	assert.True(t, errors.Is(err, personaldata.ErrErased), "the old event's details still open: %v", err)
	recs := h.streamEvents("booking-" + b.BookingID)
	assert.Equal(t, "GuestErased", recs[len(recs)-1].Type)
	assert.NotContains(t, string(recs[len(recs)-1].Data), "Ana")

	assert.Equal(t, http.StatusNotFound, h.do("DELETE", path+ana, rootKey, nil).Status, "erased already")
	rep, err := seals.Verify(context.Background(), h.store, seals.VerifyOptions{Registry: commands.NewRegistry(), RequireChain: true})
	require.NoError(t, err)
	assert.Nil(t, rep.Failure, "the log still verifies")
}

// An erasure interrupted after its event (the key not yet erased) is
// finished by the next DELETE, which still answers 404.
func TestGuestErasureResumes(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	r := h.do("POST", "/properties/"+f.property+"/bookings", rootKey, map[string]any{
		"areaId": f.flat, "guest": map[string]any{"displayName": "Walk-in Wanda", "email": "w@example.org"},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(time.Hour)),
	})
	b := decodeBooking(t, r, http.StatusCreated)
	var doc struct {
		Guest struct {
			GuestID string `json:"guestId"`
		} `json:"guest"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &doc))
	guest := uuid.MustParse(doc.Guest.GuestID)

	// The crash: GuestErased is in the log, the key is not erased.
	crashing, err := commands.NewService(h.service.Pipeline(), bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	crashing.SetPersonalData(eraseFails{h.personal})
	account := uuid.MustParse(h.do("GET", "/account", rootKey, nil).field("accountId"))
	ctx := domain.WithActor(context.Background(), domain.Actor{AccountID: account, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	_, err = crashing.EraseGuest(ctx, uuid.MustParse(b.BookingID), guest)
	require.ErrorIs(t, err, errCrash)
	recs := h.streamEvents("booking-" + b.BookingID)
	require.Equal(t, "GuestErased", recs[len(recs)-1].Type)
	var sealed string
	for _, rec := range recs {
		if rec.Type == "GuestRegistered" {
			var e struct {
				Personal string `json:"personal"`
			}
			require.NoError(t, json.Unmarshal(rec.Data, &e))
			sealed = e.Personal
		}
	}
	_, err = h.personal.Open(context.Background(), guest, sealed)
	require.NoError(t, err, "the key survived the crash")

	assert.Equal(t, http.StatusNotFound, h.do("DELETE", "/bookings/"+b.BookingID+"/guests/"+guest.String(), rootKey, nil).Status)
	_, err = h.personal.Open(context.Background(), guest, sealed)
	assert.True(t, errors.Is(err, personaldata.ErrErased), "the retried erasure erased the key: %v", err)
	assert.Len(t, h.streamEvents("booking-"+b.BookingID), len(recs), "and recorded nothing twice")
}

var errCrash = errors.New("crash before the key was erased")

// eraseFails is a personal-data store whose Erase fails, as a process
// dying between the event and the key erasure would.
type eraseFails struct{ *personaldata.Store }

func (eraseFails) Erase(context.Context, uuid.UUID) error { return errCrash }

// A keyed request repeated after the guest it registered was erased
// answers what it recorded (the guest shown erased), not a 500, and
// records nothing; the same key on another request is still refused.
func TestRepeatAfterGuestErasureAnswersWhatWasRecorded(t *testing.T) {
	h := newHarness(t)
	f := h.bookingFixture()
	start := h.clock.Now().Add(time.Hour)
	b := decodeBooking(t, h.book(f, start, start.Add(24*time.Hour)), http.StatusCreated)
	guestOf := func(r reply) erasedGuestView {
		var out struct {
			Guest erasedGuestView `json:"guest"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &out))
		return out.Guest
	}
	register := map[string]any{"displayName": "Erase Me", "email": "e@example.org"}
	first := h.doKeyed("POST", "/bookings/"+b.BookingID+"/guests", rootKey, "guest-once", register)
	require.Equal(t, http.StatusCreated, first.Status, first.Error)
	guest := guestOf(first).GuestID

	booked := map[string]any{"areaId": h.mkArea(rootKey, f.property, "Annex", ""), "guest": map[string]any{"displayName": "Walk-in Erased"},
		"startDateTime": rfc(start), "endDateTime": rfc(start.Add(24 * time.Hour))}
	bookingPath := "/properties/" + f.property + "/bookings"
	firstBooking := h.doKeyed("POST", bookingPath, rootKey, "booking-once", booked)
	require.Equal(t, http.StatusCreated, firstBooking.Status, firstBooking.Error)
	walkIn := decodeBooking(t, firstBooking, http.StatusCreated)
	checkIn := h.do("GET", "/bookings/"+walkIn.BookingID+"/check-in", rootKey, nil)
	require.Equal(t, http.StatusOK, checkIn.Status, checkIn.Error)
	var seen struct {
		Guests []erasedGuestView `json:"guests"`
	}
	require.NoError(t, json.Unmarshal(checkIn.Data, &seen))
	require.Len(t, seen.Guests, 1)

	for _, erase := range []string{"/bookings/" + b.BookingID + "/guests/" + guest, "/bookings/" + walkIn.BookingID + "/guests/" + seen.Guests[0].GuestID} {
		r := h.do("DELETE", erase, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
	}
	h.settle()
	head := h.headPosition()

	again := h.doKeyed("POST", "/bookings/"+b.BookingID+"/guests", rootKey, "guest-once", register)
	require.Equal(t, http.StatusCreated, again.Status, again.Error)
	assert.Equal(t, erasedGuestView{GuestID: guest, Erased: true}, guestOf(again))

	againBooking := h.doKeyed("POST", bookingPath, rootKey, "booking-once", booked)
	require.Equal(t, http.StatusCreated, againBooking.Status, againBooking.Error)
	assert.Equal(t, walkIn.BookingID, decodeBooking(t, againBooking, http.StatusCreated).BookingID)

	reused := h.doKeyed("POST", "/bookings/"+b.BookingID+"/guests", rootKey, "guest-once", map[string]any{"displayName": "Someone Else"})
	assert.Equal(t, http.StatusUnprocessableEntity, reused.Status, "another body under the key: %s", reused.Error)
	h.settle()
	assert.Equal(t, head, h.headPosition(), "the repeats recorded nothing")
}
