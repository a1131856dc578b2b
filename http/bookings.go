package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

func (a *API) bookingRoutes() []route {
	const (
		inProperty = "/properties/{propertyId}/bookings"
		one        = "/bookings/{bookingId}"
	)
	return []route{
		{method: "POST", path: inProperty, operation: "createBooking", handler: a.createBooking,
			summary: "Book an area of a property for a guest ({userId} of the account, or {displayName, email?, phoneNumber?}, sealed); an overlapping booking of the area: 409 (manage-access)."},
		{method: "GET", path: inProperty, operation: "listPropertyBookings", handler: a.listPropertyBookings,
			summary: "A property's bookings, filtered by status, areaId, startDateTime[op] and endDateTime[op] (op: before, strictly_before, after, strictly_after)."},
		{method: "GET", path: "/bookings", operation: "listBookings", handler: a.listBookings,
			summary: "The bookings of every property the caller sees, with the same filters."},
		{method: "GET", path: inProperty + "/current", operation: "getCurrentBooking", handler: a.getCurrentBooking,
			summary: "The booking of the property in progress now; none: 404."},
		{method: "GET", path: one, operation: "getBooking", handler: a.getBooking,
			summary: "One booking."},
		{method: "PATCH", path: one, operation: "updateBooking", handler: a.updateBooking,
			summary: "Change a booking's startDateTime, endDateTime or areaId; a checked-in guest's access moves with the end (manage-access)."},
		{method: "POST", path: one + "/check-in", operation: "checkInBooking", handler: a.checkInBooking,
			summary: "Check a booked booking in, from one hour before start until end; the guest may open the area's doors until the end (manage-access)."},
		{method: "POST", path: one + "/check-out", operation: "checkOutBooking", handler: a.checkOutBooking,
			summary: "Check a checked-in booking out; the guest's access ends (manage-access)."},
		{method: "POST", path: one + "/cancel", operation: "cancelBooking", handler: a.cancelBooking,
			summary: "Cancel a booked booking (manage-access)."},
	}
}

var errBookingReader = domain.NewError(domain.ErrForbidden, "this key cannot read bookings")

type guestInput struct {
	UserID      *string `json:"userId"`
	DisplayName *string `json:"displayName"`
	Email       *string `json:"email"`
	PhoneNumber *string `json:"phoneNumber"`
}

type createBookingInput struct {
	AreaID        string      `json:"areaId"`
	Guest         *guestInput `json:"guest"`
	StartDateTime string      `json:"startDateTime"`
	EndDateTime   string      `json:"endDateTime"`
	// Source: nil (left out or null) is unknown; "" is a mistake.
	Source       *string            `json:"source"`
	ExternalRefs []externalRefInput `json:"externalRefs"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func requiredTime(field, raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, domain.InvalidField(field, "is required")
	}
	t, err := domain.ParseInstant(field, raw, "must be an RFC 3339 date-time")
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func (a *API) createBooking(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in createBookingInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if in.Source != nil && *in.Source == "" {
		writeErr(w, r, booking.ErrInvalidSource)
		return
	}
	c := commands.CreateBooking{PropertyID: propertyID, Source: booking.Source(deref(in.Source))}
	if c.ExternalRefs, err = externalRefsOf(in.ExternalRefs); err != nil {
		writeErr(w, r, err)
		return
	}
	if c.AreaID, err = uuid.Parse(in.AreaID); err != nil {
		writeErr(w, r, domain.InvalidField("areaId", "must be a UUID"))
		return
	}
	switch {
	case in.Guest == nil:
		err = domain.InvalidField("guest", "is required")
	case in.Guest.UserID != nil && (in.Guest.DisplayName != nil || in.Guest.Email != nil || in.Guest.PhoneNumber != nil):
		err = domain.InvalidField("guest", "give either userId or displayName, email and phoneNumber")
	case in.Guest.UserID != nil:
		if c.GuestUserID, err = uuid.Parse(*in.Guest.UserID); err != nil {
			err = domain.InvalidField("guest.userId", "must be a UUID")
		}
	case in.Guest.DisplayName != nil:
		c.Guest = &commands.GuestDetails{DisplayName: *in.Guest.DisplayName, Email: deref(in.Guest.Email), PhoneNumber: deref(in.Guest.PhoneNumber)}
		err = underGuest(c.Guest.Validate())
	default:
		err = domain.InvalidField("guest", "needs userId or displayName")
	}
	if err == nil {
		c.StartDateTime, err = requiredTime("startDateTime", in.StartDateTime)
	}
	if err == nil {
		c.EndDateTime, err = requiredTime("endDateTime", in.EndDateTime)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	created, err := a.cmd.CreateBooking(r.Context(), c)
	if err == nil {
		err = a.settle(r.Context(), created.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerBooking(w, r, http.StatusCreated, created.BookingID)
}

// underGuest names a field of the guest's details as the body has it
// (`guest.email`, not `email`).
func underGuest(err error) error {
	var de *domain.Error
	if errors.As(err, &de) && de.Field != "" {
		return &domain.Error{Kind: de.Kind, Message: de.Message, Field: "guest." + de.Field}
	}
	return err
}

// answerBooking answers a booking's document as the read model has it.
func (a *API) answerBooking(w http.ResponseWriter, r *http.Request, status int, id uuid.UUID) {
	b, err := a.readBooking(r, id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, status, b.JSON)
}

// readBooking returns a booking the caller may read; one in a property
// outside its scope answers 404 as one of another account does.
func (a *API) readBooking(r *http.Request, id uuid.UUID) (queries.Booking, error) {
	actor := actorOf(r)
	b, err := a.bookings.Get(r.Context(), actor.AccountID.String(), id.String())
	if err != nil {
		return b, err
	}
	propertyID, err := uuid.Parse(b.PropertyID)
	if err != nil {
		return b, err
	}
	// Out of scope: the very answer of an id that names nothing.
	if err := commands.AuthorizeRead(actor, propertyID, fmt.Errorf("booking %s: %w", id, queries.ErrEntityNotFound)); err != nil {
		return b, err
	}
	return b, nil
}

// bookingFilter reads the list filters of the Kadence reference.
func bookingFilter(r *http.Request) (queries.BookingFilter, error) {
	var f queries.BookingFilter
	for _, s := range queryAll(r, "status") {
		for _, one := range strings.Split(s, ",") {
			switch booking.Status(one) {
			case booking.StatusBooked, booking.StatusCheckedIn, booking.StatusCheckedOut, booking.StatusCancelled,
				booking.StatusNoCheckIn, booking.StatusCompleted:
				f.Statuses = append(f.Statuses, one)
			default:
				return f, domain.InvalidField("status", "must be booked, checkedIn, checkedOut, cancelled, noCheckIn or completed")
			}
		}
	}
	if raw := queryGet(r, "areaId"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return f, domain.InvalidField("areaId", "must be a UUID")
		}
		f.AreaID = id.String()
	}
	given := queryPrefixed(r, "startDateTime[")
	for key, values := range queryPrefixed(r, "endDateTime[") {
		given[key] = values
	}
	for key, values := range given {
		var bounds *[]queries.TimeBound
		var field, op string
		switch {
		case strings.HasPrefix(key, "startDateTime[") && strings.HasSuffix(key, "]"):
			bounds, field = &f.Start, "startDateTime"
		case strings.HasPrefix(key, "endDateTime[") && strings.HasSuffix(key, "]"):
			bounds, field = &f.End, "endDateTime"
		default:
			// Unclosed: a filter meant, never one to drop silently.
			return f, domain.InvalidField(key, "the comparison must be written [before], [strictly_before], [after] or [strictly_after]")
		}
		op = key[len(field)+1 : len(key)-1]
		if !queries.ValidBoundOp(op) {
			return f, domain.InvalidField(key, "the comparison must be before, strictly_before, after or strictly_after")
		}
		for _, v := range values {
			t, err := domain.ParseInstant(key, v, "must be an RFC 3339 date-time")
			if err != nil {
				return f, err
			}
			// The bound is compared as text: one past year 9999 in UTC
			// would sort before every real date.
			if err := domain.ValidateInstant(key, t); err != nil {
				return f, err
			}
			*bounds = append(*bounds, queries.TimeBound{Op: op, At: t})
		}
	}
	return f, nil
}

func (a *API) listPropertyBookings(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	page, err := a.pageOf(r)
	var f queries.BookingFilter
	if err == nil {
		f, err = bookingFilter(r)
	}
	if err == nil {
		_, err = a.readProperty(r, propertyID)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	f.PropertyID = propertyID.String()
	a.writeBookings(w, r, f, page)
}

func (a *API) listBookings(w http.ResponseWriter, r *http.Request) {
	scope, ok := readScope(actorOf(r))
	if !ok {
		writeErr(w, r, errBookingReader)
		return
	}
	page, err := a.pageOf(r)
	var f queries.BookingFilter
	if err == nil {
		f, err = bookingFilter(r)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	f.PropertyIDs = scope
	a.writeBookings(w, r, f, page)
}

func (a *API) writeBookings(w http.ResponseWriter, r *http.Request, f queries.BookingFilter, page queries.Page) {
	if f.AreaID != "" {
		if err := a.bookingsAreaFilter(r, f); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	list, next, err := a.bookings.List(r.Context(), actorOf(r).AccountID.String(), f, page)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	docs := make([]queries.Document, len(list))
	for i, b := range list {
		docs[i].JSON = b.JSON
	}
	writeList(w, "bookings", docs, next)
}

func (a *API) getCurrentBooking(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err == nil {
		_, err = a.readProperty(r, propertyID)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	b, err := a.bookings.Current(r.Context(), actorOf(r).AccountID.String(), propertyID.String(), a.cmd.Pipeline().Now())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, b.JSON)
}

func (a *API) getBooking(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerBooking(w, r, http.StatusOK, id)
}

type updateBookingInput struct {
	AreaID        *string `json:"areaId"`
	StartDateTime *string `json:"startDateTime"`
	EndDateTime   *string `json:"endDateTime"`
}

func (a *API) updateBooking(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in updateBookingInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	var c commands.UpdateBooking
	if in.AreaID != nil {
		areaID, err := uuid.Parse(*in.AreaID)
		if err != nil {
			writeErr(w, r, domain.InvalidField("areaId", "must be a UUID"))
			return
		}
		c.AreaID = &areaID
	}
	for _, t := range []struct {
		field string
		raw   *string
		dst   **time.Time
	}{{"startDateTime", in.StartDateTime, &c.StartDateTime}, {"endDateTime", in.EndDateTime, &c.EndDateTime}} {
		if t.raw == nil {
			continue
		}
		at, err := requiredTime(t.field, *t.raw)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		*t.dst = &at
	}
	a.bookingCommand(w, r, id, func() (commands.Result, error) { return a.cmd.UpdateBooking(r.Context(), id, c) })
}

// bookingCommand runs a command on a booking and answers the booking.
func (a *API) bookingCommand(w http.ResponseWriter, r *http.Request, id uuid.UUID, run func() (commands.Result, error)) {
	res, err := run()
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerBooking(w, r, http.StatusOK, id)
}

type checkInput struct {
	Method string  `json:"method"`
	UserID *string `json:"userId"`
}

func (a *API) checkInBooking(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in checkInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	var userID uuid.UUID
	if in.UserID != nil {
		if userID, err = uuid.Parse(*in.UserID); err != nil {
			writeErr(w, r, domain.InvalidField("userId", "must be a UUID"))
			return
		}
	}
	a.bookingCommand(w, r, id, func() (commands.Result, error) {
		return a.cmd.CheckInBooking(r.Context(), id, booking.CheckMethod(in.Method), userID)
	})
}

type checkOutInput struct {
	Method string `json:"method"`
}

func (a *API) checkOutBooking(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in checkOutInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	a.bookingCommand(w, r, id, func() (commands.Result, error) {
		return a.cmd.CheckOutBooking(r.Context(), id, booking.CheckMethod(in.Method))
	})
}

type cancelInput struct {
	Reason string `json:"reason"`
}

func (a *API) cancelBooking(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "bookingId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in cancelInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	a.bookingCommand(w, r, id, func() (commands.Result, error) {
		return a.cmd.CancelBooking(r.Context(), id, booking.CancelReason(in.Reason))
	})
}

// bookingsAreaFilter checks an areaId filter names an area of the caller's
// account (one deleted since too, whose bookings stay listed) in the
// property listed, or in one a scoped key reads: anything else is a 404,
// as in a path, never an empty list that reads as "no bookings".
func (a *API) bookingsAreaFilter(r *http.Request, f queries.BookingFilter) error {
	id, _ := uuid.Parse(f.AreaID) // parsed by bookingFilter
	notFound := entityNotFound(entities.KindArea, id)
	if id == uuid.Nil {
		return notFound
	}
	doc, err := a.entities.LastState(r.Context(), entities.KindArea, actorOf(r).AccountID.String(), f.AreaID)
	if errors.Is(err, queries.ErrEntityNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if (f.PropertyID != "" && doc.PropertyID != f.PropertyID) || (f.PropertyIDs != nil && !slices.Contains(f.PropertyIDs, doc.PropertyID)) {
		return notFound
	}
	return nil
}
