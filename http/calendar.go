package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/queries"
)

// maxCalendarDays bounds a calendar's range and an upcoming view's days.
const maxCalendarDays = 366

func (a *API) calendarRoutes() []route {
	return []route{
		{method: "GET", path: "/properties/{propertyId}/calendar", operation: "listPropertyCalendar", handler: a.needCalendar(a.propertyCalendar),
			summary: "A property's calendar from `from` to `to` (RFC 3339; at most 366 days; default the next 31 days): stays, arrivals, departures, access-code windows."},
		{method: "GET", path: "/calendar/upcoming", operation: "listUpcomingCalendar", handler: a.needCalendar(a.upcomingCalendar),
			summary: "The calendar of the next `days` (default 14, at most 366) across every property the caller may read."},
		{method: "GET", path: "/properties/{propertyId}/timeline/upcoming", operation: "listUpcomingTimeline", handler: a.needCalendar(a.upcomingTimeline),
			summary: "The next `days` (default 7, at most 366) local dates of a property from today (or `from`, a date), each with its arrivals, departures and access codes, in the property's timezone."},
	}
}

// needCalendar answers 404 when no calendar reader is wired.
func (a *API) needCalendar(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.calendar == nil {
			writeFailure(w, http.StatusNotFound, "no such route")
			return
		}
		next(w, r)
	}
}

var errCalendarReader = domain.NewError(domain.ErrForbidden, "this key cannot read calendars")

// calendarTime reads an optional RFC 3339 query parameter.
func calendarTime(r *http.Request, name string, def time.Time) (time.Time, error) {
	raw := queryGet(r, name)
	if raw == "" {
		return def, nil
	}
	t, err := domain.ParseInstant(name, raw, "must be an RFC 3339 time")
	if err != nil {
		return time.Time{}, err
	}
	// As every instant a request gives: in UTC within years 1 to 9999.
	if err := domain.ValidateInstant(name, t); err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// calendarDays reads `days`, from 1 to maxCalendarDays.
func calendarDays(r *http.Request, def int) (int, error) {
	raw := queryGet(r, "days")
	if raw == "" {
		return def, nil
	}
	n, ok := domain.ParseDecimal(raw, 1, maxCalendarDays)
	if !ok {
		return 0, domain.InvalidField("days", fmt.Sprintf("must be a whole number from 1 to %d", maxCalendarDays))
	}
	return n, nil
}

// lastDate is the last date a request may give or an answer show: past
// year 9999 RFC 3339 cannot carry it.
var lastDate = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// timelineFitsYear9999 refuses a timeline whose days, from the local date
// of first, would run past 9999-12-31: as any date past year 9999 a
// request gives, a 400 naming the field, `days` when the request gives
// it, else `from`.
func timelineFitsYear9999(r *http.Request, first time.Time, days int) error {
	y, m, d := first.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if !day.AddDate(0, 0, days-1).After(lastDate) {
		return nil
	}
	if queryGet(r, "days") != "" {
		most := int(lastDate.Sub(day).Hours()/24) + 1
		return domain.InvalidField("days", fmt.Sprintf("must be at most %d from %s: no date after %s",
			most, day.Format(time.DateOnly), lastDate.Format(time.DateOnly)))
	}
	return domain.InvalidField("from", fmt.Sprintf("must be %s or earlier with %d days: no date after %s",
		lastDate.AddDate(0, 0, 1-days).Format(time.DateOnly), days, lastDate.Format(time.DateOnly)))
}

func (a *API) propertyCalendar(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if _, err := a.readProperty(r, propertyID); err != nil {
		writeErr(w, r, err)
		return
	}
	from, err := calendarTime(r, "from", time.Now())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	to, err := calendarTime(r, "to", from.AddDate(0, 0, 31))
	switch {
	case err != nil:
	case !to.After(from):
		err = domain.InvalidField("to", "must be after from")
	case to.Sub(from) > maxCalendarDays*24*time.Hour:
		err = domain.InvalidField("to", fmt.Sprintf("the range is at most %d days", maxCalendarDays))
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	items, err := a.calendar.Items(r.Context(), actorOf(r).AccountID.String(), []string{propertyID.String()}, from, to)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeCalendarItems(w, items)
}

func (a *API) upcomingCalendar(w http.ResponseWriter, r *http.Request) {
	actor := actorOf(r)
	scope, ok := readScope(actor)
	if !ok {
		writeErr(w, r, errCalendarReader)
		return
	}
	days, err := calendarDays(r, 14)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	from := time.Now()
	items, err := a.calendar.Items(r.Context(), actor.AccountID.String(), scope, from, from.AddDate(0, 0, days))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeCalendarItems(w, items)
}

func (a *API) upcomingTimeline(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.readProperty(r, propertyID)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	days, err := calendarDays(r, 7)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var prop struct {
		Timezone string `json:"timezone"`
	}
	if err := json.Unmarshal(doc.JSON, &prop); err != nil {
		writeErr(w, r, fmt.Errorf("property %s: %w", propertyID, err))
		return
	}
	loc := time.UTC
	if prop.Timezone != "" {
		if loc, err = time.LoadLocation(prop.Timezone); err != nil {
			writeErr(w, r, fmt.Errorf("property %s timezone: %w", propertyID, err))
			return
		}
	}
	first := time.Now().In(loc)
	if raw := queryGet(r, "from"); raw != "" {
		date, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			writeErr(w, r, domain.InvalidField("from", "must be a date (YYYY-MM-DD)"))
			return
		}
		// Go reads year 0000; the calendar, as every date, starts at year 1.
		if date.Year() < 1 {
			writeErr(w, r, domain.InvalidField("from", "must be a date from 0001-01-01"))
			return
		}
		// Not the date's midnight in loc, which may not exist (Santiago
		// skips 00:00 of 2027-09-05): time.Date would move it to the day
		// before.
		first = queries.DayStart(loc, date.Year(), date.Month(), date.Day())
	}
	if err := timelineFitsYear9999(r, first, days); err != nil {
		writeErr(w, r, err)
		return
	}
	start, end := queries.DaysSpan(loc, first, days)
	items, err := a.calendar.Items(r.Context(), actorOf(r).AccountID.String(), []string{propertyID.String()}, start, end)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]any{"timezone": loc.String(), "days": queries.ByLocalDay(items, loc, first, days)})
}
