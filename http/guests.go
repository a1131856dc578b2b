package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/queries"
)

func (a *API) guestRoutes() []route {
	return []route{
		{method: "POST", path: "/bookings/{bookingId}/guests", operation: "registerGuest", handler: a.registerGuest,
			summary: "Register a guest of a booking; the personal data is sealed with a key of the guest's own (manage-access)."},
		{method: "DELETE", path: "/bookings/{bookingId}/guests/{guestId}", operation: "eraseGuest", handler: a.eraseGuest,
			summary: "Erase a guest: their key is erased, so their personal data reads as erased in every event (manage-access)."},
		{method: "GET", path: "/bookings/{bookingId}/check-in", operation: "getCheckIn", handler: a.getCheckIn,
			summary: "The check-in snapshot: status, guests registered, checkedInAt, method, active access codes."},
	}
}

var errNoPersonalReader = errors.New("httpapi: no personal data store wired (Options.PersonalData)")

// guestOutput is a registered guest with the details opened (none, and
// erased set, once the guest's key is erased).
type guestOutput struct {
	GuestID string `json:"guestId"`
	*commands.GuestDetails
	Erased       bool      `json:"erased,omitempty"`
	RegisteredAt time.Time `json:"registeredAt"`
}

func (a *API) registerGuest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in commands.GuestDetails
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.RegisterGuest(r.Context(), id, in)
	if err == nil {
		err = a.settle(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := guestOutput{GuestID: res.GuestID.String(), GuestDetails: &in}
	for _, e := range res.Events {
		g, ok := e.(booking.GuestRegistered)
		if !ok {
			continue
		}
		out.RegisteredAt = g.At
		if !res.Replayed {
			continue
		}
		// A repeat of a keyed request answers the guest the first one
		// registered, not this request's body.
		if a.personal == nil {
			writeErr(w, r, errNoPersonalReader)
			return
		}
		if out.GuestDetails, err = commands.OpenGuestDetails(r.Context(), a.personal, g.GuestID, g.Personal); err != nil {
			writeErr(w, r, err)
			return
		}
		out.Erased = out.GuestDetails == nil
	}
	writeData(w, http.StatusCreated, map[string]any{"bookingId": id.String(), "guest": out})
}

// checkInOutput is GET /bookings/{bookingId}/check-in.
type checkInOutput struct {
	BookingID     string               `json:"bookingId"`
	Status        string               `json:"status"`
	CheckedInAt   *time.Time           `json:"checkedInAt"`
	CheckInMethod string               `json:"checkInMethod,omitempty"`
	Guests        []guestOutput        `json:"guests"`
	AccessCodes   []queries.AccessCode `json:"accessCodes"`
}

func (a *API) getCheckIn(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	b, err := a.readBooking(r, id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var doc struct {
		Status        string     `json:"status"`
		CheckedInAt   *time.Time `json:"checkedInAt"`
		CheckInMethod string     `json:"checkInMethod"`
	}
	if err := json.Unmarshal(b.JSON, &doc); err != nil {
		writeErr(w, r, err)
		return
	}
	account := actorOf(r).AccountID.String()
	out := checkInOutput{BookingID: id.String(), Status: doc.Status, CheckedInAt: doc.CheckedInAt, CheckInMethod: doc.CheckInMethod, Guests: []guestOutput{}}
	if out.AccessCodes, err = a.bookings.AccessCodes(r.Context(), account, id.String(), true); err != nil {
		writeErr(w, r, err)
		return
	}
	guests, err := a.bookings.Guests(r.Context(), account, id.String())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	// Only those who register and erase guests read who they are, as only
	// owner and manage-access read a user's `private`.
	withDetails := commands.SeesGuestDetails(actorOf(r), uuid.MustParse(b.PropertyID))
	for _, g := range guests {
		o := guestOutput{GuestID: g.GuestID, RegisteredAt: g.RegisteredAt}
		if !withDetails {
			out.Guests = append(out.Guests, o)
			continue
		}
		if a.personal == nil {
			writeErr(w, r, errNoPersonalReader)
			return
		}
		if o.GuestDetails, err = commands.OpenGuestDetails(r.Context(), a.personal, uuid.MustParse(g.GuestID), g.Personal); err != nil {
			writeErr(w, r, err)
			return
		}
		o.Erased = o.GuestDetails == nil
		out.Guests = append(out.Guests, o)
	}
	writeData(w, http.StatusOK, out)
}

func (a *API) eraseGuest(w http.ResponseWriter, r *http.Request) {
	bookingID, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	guestID, err := pathID(r, "guestId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.EraseGuest(r.Context(), bookingID, guestID)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]string{"bookingId": bookingID.String(), "guestId": guestID.String()})
}
