package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/queries"
)

func (a *API) accessCodeRoutes() []route {
	const codes = "/bookings/{bookingId}/access-codes"
	return []route{
		{method: "POST", path: codes, operation: "createAccessCode", handler: a.createAccessCode,
			summary: "Give a booking a door code (4 to 10 digits, generated when absent), shown this once; valid on the locks of the booked area and its sub-areas from start to end (manage-access)."},
		{method: "GET", path: codes, operation: "listAccessCodes", handler: a.listAccessCodes,
			summary: "A booking's access codes, without the codes."},
		{method: "DELETE", path: "/access-codes/{accessCodeId}", operation: "revokeAccessCode", handler: a.revokeAccessCode,
			summary: "Revoke an access code (manage-access)."},
	}
}

type accessCodeInput struct {
	// Code: nil (left out) has one generated; "" is a mistake, not a
	// request for one.
	Code *string `json:"code"`
}

type createdAccessCodeOutput struct {
	AccessCodeID string    `json:"accessCodeId"`
	BookingID    string    `json:"bookingId"`
	Code         string    `json:"code"`
	ValidFrom    time.Time `json:"validFrom"`
	ValidUntil   time.Time `json:"validUntil"`
	LockIDs      []string  `json:"lockIds"`
}

func (a *API) createAccessCode(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in accessCodeInput
	if err := decodeOptionalBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	var code string
	if in.Code != nil {
		if code = *in.Code; code == "" {
			writeErr(w, r, domain.InvalidField("code", "must be 4 to 10 digits; leave it out to have one generated"))
			return
		}
	}
	created, err := a.cmd.CreateAccessCode(r.Context(), id, code)
	if err == nil {
		err = a.settle(r.Context(), created.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	locks, err := a.bookings.LockIDsUnder(r.Context(), created.AreaID.String())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusCreated, createdAccessCodeOutput{
		AccessCodeID: created.AccessCodeID.String(), BookingID: id.String(), Code: created.Code,
		ValidFrom: created.ValidFrom.UTC(), ValidUntil: created.ValidUntil.UTC(), LockIDs: locks,
	})
}

func (a *API) listAccessCodes(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err == nil {
		_, err = a.readBooking(r, id)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	codes, next, err := a.bookings.AccessCodesPage(r.Context(), actorOf(r).AccountID.String(), id.String(), page)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := map[string]any{"accessCodes": codes}
	if next != "" {
		out["pageToken"] = next
	}
	writeData(w, http.StatusOK, out)
}

func (a *API) revokeAccessCode(w http.ResponseWriter, r *http.Request) {
	codeID, err := pathID(r, "accessCodeId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	actor := actorOf(r)
	code, err := a.bookings.AccessCode(r.Context(), actor.AccountID.String(), codeID.String())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	propertyID, err := uuid.Parse(code.PropertyID())
	if err == nil {
		// Out of scope: the very answer of an id that names nothing.
		err = commands.AuthorizeRead(actor, propertyID, fmt.Errorf("access code %s: %w", codeID, queries.ErrEntityNotFound))
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	bookingID := uuid.MustParse(code.BookingID)
	res, err := a.cmd.RevokeAccessCode(r.Context(), bookingID, codeID)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]string{"accessCodeId": codeID.String(), "bookingId": code.BookingID})
}
