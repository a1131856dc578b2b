package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The calendar routes' checks; the items themselves are tested with the
// calendar projection (projections/calendar).
func TestCalendarRoutes(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	cal := "/properties/" + prop + "/calendar"

	r := h.do("GET", cal+"?from=2027-01-01T00:00:00Z&to=2028-01-02T00:00:00Z", rootKey, nil)
	assert.Equal(t, http.StatusOK, r.Status, "366 days: %s", r.Error)
	assert.JSONEq(t, `{"items":[]}`, string(r.Data))
	assert.Equal(t, http.StatusBadRequest, h.do("GET", cal+"?from=2027-01-01T00:00:00Z&to=2028-01-02T00:00:01Z", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", cal+"?from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", cal+"?from=tomorrow", rootKey, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("GET", cal, rootKey, nil).Status)

	assert.Equal(t, http.StatusOK, h.do("GET", "/calendar/upcoming", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/calendar/upcoming?days=367", rootKey, nil).Status)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/calendar/upcoming?days=0", rootKey, nil).Status)
	// Plain digits only, in the calendar and the timeline alike.
	for _, path := range []string{"/calendar/upcoming", "/properties/" + prop + "/timeline/upcoming"} {
		for _, days := range []string{"%2B2", "02", "-2", "2.0"} {
			r := h.do("GET", path+"?days="+days, rootKey, nil)
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s?days=%s", path, days)
			assert.Contains(t, r.Error, "days: must be a whole number", "%s?days=%s", path, days)
		}
	}

	r = h.do("GET", "/properties/"+prop+"/timeline/upcoming?from=2027-03-26", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var tl struct {
		Days []struct {
			Date  string            `json:"date"`
			Items []json.RawMessage `json:"items"`
		} `json:"days"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &tl))
	require.Len(t, tl.Days, 7)
	assert.Equal(t, "2027-03-26", tl.Days[0].Date)
	assert.Equal(t, "2027-04-01", tl.Days[6].Date)
	assert.NotNil(t, tl.Days[0].Items)
	assert.Equal(t, http.StatusBadRequest, h.do("GET", "/properties/"+prop+"/timeline/upcoming?from=26/03/2027", rootKey, nil).Status)

	other := h.grpProperty(rootKey)
	scoped := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": other})
	assert.Equal(t, http.StatusNotFound, h.do("GET", cal, scoped, nil).Status)
	assert.Equal(t, http.StatusOK, h.do("GET", "/calendar/upcoming", scoped, nil).Status)
	user := h.grpUser(rootKey, "Guest")
	me := h.newKey(rootKey, map[string]string{"permission": "me", "userId": user})
	assert.Equal(t, http.StatusForbidden, h.do("GET", "/calendar/upcoming", me, nil).Status)
	assert.Equal(t, http.StatusForbidden, h.do("GET", cal, me, nil).Status)
}

// calItem is one calendar item as answered.
type calItem struct {
	Type      string    `json:"type"`
	BookingID string    `json:"bookingId"`
	AreaID    string    `json:"areaId"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Title     string    `json:"title"`
}

func calItems(t *testing.T, r reply) []calItem {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var out struct {
		Items []calItem `json:"items"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &out))
	return out.Items
}

// Bookings made through the API reach the calendars, and the upcoming
// timeline groups them by Madrid's dates across the start of summer time
// (Sunday 28 March 2027).
func TestCalendarOfBookings(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "Casa Sol", "timezone": "Europe/Madrid"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	prop := r.field("propertyId")
	flat := h.mkArea(rootKey, prop, "Flat 2B", "")
	other := h.mkArea(rootKey, prop, "Flat 3C", "")
	guest := h.grpUser(rootKey, "Ana")
	book := func(area string, start, end time.Time) string {
		r := h.do("POST", "/properties/"+prop+"/bookings", rootKey, map[string]any{"areaId": area,
			"guest": map[string]any{"userId": guest}, "startDateTime": start.UTC().Format(time.RFC3339),
			"endDateTime": end.UTC().Format(time.RFC3339), "source": "web"})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		return r.field("bookingId")
	}
	// Arrival 23:30 on Saturday (CET, 22:30Z); departure 00:30 on Monday (CEST, 22:30Z on Sunday).
	arrive := time.Date(2027, 3, 27, 22, 30, 0, 0, time.UTC)
	leave := time.Date(2027, 3, 28, 22, 30, 0, 0, time.UTC)
	stay := book(flat, arrive, leave)

	items := calItems(t, h.do("GET", "/properties/"+prop+"/calendar?from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z", rootKey, nil))
	require.Len(t, items, 3)
	types := map[string]calItem{}
	for _, it := range items {
		assert.Equal(t, stay, it.BookingID)
		assert.Equal(t, flat, it.AreaID)
		types[it.Type] = it
	}
	assert.True(t, types["stay"].Start.Equal(arrive) && types["stay"].End.Equal(leave))
	assert.True(t, types["departure"].Start.Equal(leave))
	assert.Equal(t, "Arrival: Ana · Flat 2B", types["arrival"].Title)

	r = h.do("GET", "/properties/"+prop+"/timeline/upcoming?from=2027-03-26&days=7", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var tl struct {
		Timezone string `json:"timezone"`
		Days     []struct {
			Date  string    `json:"date"`
			Items []calItem `json:"items"`
		} `json:"days"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &tl))
	assert.Equal(t, "Europe/Madrid", tl.Timezone)
	got := map[string][]string{}
	for _, d := range tl.Days {
		for _, it := range d.Items {
			got[d.Date] = append(got[d.Date], it.Type)
		}
	}
	assert.Equal(t, map[string][]string{"2027-03-27": {"arrival"}, "2027-03-29": {"departure"}}, got,
		"the departure is on Monday in Madrid though Sunday in UTC")

	// Across properties: the next days; an access code's window; a
	// cancellation takes the booking away.
	soon := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	next := book(other, soon, soon.Add(24*time.Hour))
	r = h.do("POST", "/bookings/"+next+"/access-codes", rootKey, map[string]any{})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	up := calItems(t, h.do("GET", "/calendar/upcoming?days=14", rootKey, nil))
	var kinds []string
	for _, it := range up {
		assert.Equal(t, next, it.BookingID)
		kinds = append(kinds, it.Type)
	}
	assert.ElementsMatch(t, []string{"stay", "arrival", "departure", "accessCode"}, kinds)
	require.Equal(t, http.StatusOK, h.do("POST", "/bookings/"+next+"/cancel", rootKey, map[string]any{"reason": "byUser"}).Status)
	assert.Empty(t, calItems(t, h.do("GET", "/calendar/upcoming?days=14", rootKey, nil)))
}

// A timeline shows no date after 9999-12-31, as no date a request gives
// may be past year 9999: a `from` and `days` that would run past it are a
// 400 naming `days` when the request gives it, else `from`; a range that
// ends on 9999-12-31 is answered. In UTC and in a timezone behind it.
func TestTimelineEndsBy9999(t *testing.T) {
	h := newHarness(t)
	for _, tz := range []string{"", "America/New_York"} {
		body := map[string]any{"displayName": "Hotel Luna"}
		if tz != "" {
			body["timezone"] = tz
		}
		r := h.do("POST", "/properties", rootKey, body)
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		tl := "/properties/" + r.field("propertyId") + "/timeline/upcoming"

		for _, c := range []struct{ query, field string }{
			{"?from=9999-12-31", "from"},
			{"?from=9999-12-26", "from"},
			{"?from=9999-12-30&days=3", "days"},
			{"?from=9999-01-01&days=366", "days"},
			{"?from=0000-06-01", "from"}, // Go reads year 0; dates start at year 1
		} {
			r := h.do("GET", tl+c.query, rootKey, nil)
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s: %s", tz, c.query, r.Data)
			assert.False(t, r.Success)
			assert.True(t, strings.HasPrefix(r.Error, c.field+": "), "%s %s: %q does not name %s", tz, c.query, r.Error, c.field)
		}

		for _, c := range []struct {
			query string
			days  int
			first string
		}{
			{"?from=9999-12-25", 7, "9999-12-25"},
			{"?from=9999-12-31&days=1", 1, "9999-12-31"},
			{"?from=9999-01-01&days=365", 365, "9999-01-01"},
		} {
			r := h.do("GET", tl+c.query, rootKey, nil)
			require.Equal(t, http.StatusOK, r.Status, "%s %s: %s", tz, c.query, r.Error)
			var out struct {
				Days []struct {
					Date string `json:"date"`
				} `json:"days"`
			}
			require.NoError(t, json.Unmarshal(r.Data, &out))
			require.Len(t, out.Days, c.days, "%s %s", tz, c.query)
			assert.Equal(t, c.first, out.Days[0].Date, "%s %s", tz, c.query)
			assert.Equal(t, "9999-12-31", out.Days[c.days-1].Date, "%s %s", tz, c.query)
		}

		// The calendar's instants too: past year 9999 in UTC, or before
		// year 1, is a 400 naming the field, as every instant a request gives.
		cal := "/properties/" + r.field("propertyId") + "/calendar"
		for _, c := range []struct{ query, field string }{
			{"?from=9999-12-31T23:00:00-05:00&to=9999-12-31T23:30:00-05:00", "from"},
			{"?from=2026-01-01T00:00:00Z&to=9999-12-31T23:00:00-05:00", "to"},
			{"?from=0001-01-01T00:00:00%2B01:00&to=2026-01-01T00:00:00Z", "from"},
		} {
			r := h.do("GET", cal+c.query, rootKey, nil)
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s: %s", tz, c.query, r.Data)
			assert.True(t, strings.HasPrefix(r.Error, c.field+": "), "%s %s: %q does not name %s", tz, c.query, r.Error, c.field)
		}
	}
}

// Where a clock change skips local midnight (Santiago on 5 September
// 2027, Havana on 14 March 2027, both 00:00 → 01:00) the timeline still
// lists each date once, and the date starts at 01:00: a departure then is
// on it, an arrival at 23:30 the evening before is not. New York, which
// changes at 02:00, the same way.
func TestTimelineWhereMidnightIsSkipped(t *testing.T) {
	h := newHarness(t)
	guest := h.grpUser(rootKey, "Ana")
	for _, c := range []struct {
		tz            string
		arrive, leave string // the instants of a booking: 23:30 local, then the next date's first instant
		query         string
		want          map[string][]string
	}{
		{"America/Santiago", "2027-09-05T03:30:00Z", "2027-09-05T04:00:00Z", "?from=2027-09-03&days=3",
			map[string][]string{"2027-09-03": nil, "2027-09-04": {"arrival"}, "2027-09-05": {"departure"}}},
		{"America/Santiago", "2027-09-05T03:30:00Z", "2027-09-05T04:00:00Z", "?from=2027-09-05&days=2",
			map[string][]string{"2027-09-05": {"departure"}, "2027-09-06": nil}},
		{"America/Havana", "2027-03-14T04:30:00Z", "2027-03-14T05:00:00Z", "?from=2027-03-13&days=3",
			map[string][]string{"2027-03-13": {"arrival"}, "2027-03-14": {"departure"}, "2027-03-15": nil}},
		{"America/New_York", "2027-03-14T04:30:00Z", "2027-03-14T05:00:00Z", "?from=2027-03-13&days=3",
			map[string][]string{"2027-03-13": {"arrival"}, "2027-03-14": {"departure"}, "2027-03-15": nil}},
	} {
		r := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "Hotel " + c.tz, "timezone": c.tz})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)
		prop := r.field("propertyId")
		r = h.do("POST", "/properties/"+prop+"/bookings", rootKey, map[string]any{"areaId": h.mkArea(rootKey, prop, "Room", ""),
			"guest": map[string]any{"userId": guest}, "startDateTime": c.arrive, "endDateTime": c.leave, "source": "web"})
		require.Equal(t, http.StatusCreated, r.Status, r.Error)

		r = h.do("GET", "/properties/"+prop+"/timeline/upcoming"+c.query, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var tl struct {
			Days []struct {
				Date  string    `json:"date"`
				Items []calItem `json:"items"`
			} `json:"days"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &tl))
		got := map[string][]string{}
		var dates []string
		for _, d := range tl.Days {
			dates = append(dates, d.Date)
			got[d.Date] = nil
			for _, it := range d.Items {
				got[d.Date] = append(got[d.Date], it.Type)
			}
		}
		assert.Equal(t, c.want, got, "%s %s: dates %v", c.tz, c.query, dates)
		assert.Len(t, dates, len(c.want), "%s %s: dates %v", c.tz, c.query, dates)
	}
}

// The calendar answers a booking's instants to the nanosecond, as GET
// /bookings does, and compares from and to on them.
func TestCalendarKeepsNanoseconds(t *testing.T) {
	h := newHarness(t)
	prop := h.grpProperty(rootKey)
	r := h.do("POST", "/properties/"+prop+"/bookings", rootKey, map[string]any{"areaId": h.mkArea(rootKey, prop, "Room", ""),
		"guest": map[string]any{"userId": h.grpUser(rootKey, "Ana")}, "source": "web",
		"startDateTime": "2027-05-01T10:00:00.123456789Z", "endDateTime": "2027-05-02T10:00:00.987654321Z"})
	require.Equal(t, http.StatusCreated, r.Status, r.Error)
	cal := "/properties/" + prop + "/calendar"

	r = h.do("GET", cal+"?from=2027-05-01T00:00:00Z&to=2027-05-03T00:00:00Z", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	assert.Contains(t, string(r.Data), `"type":"stay","bookingId":`)
	assert.Contains(t, string(r.Data), `"start":"2027-05-01T10:00:00.123456789Z","end":"2027-05-02T10:00:00.987654321Z"`)

	types := func(query string) []string {
		var out []string
		for _, it := range calItems(t, h.do("GET", cal+query, rootKey, nil)) {
			out = append(out, it.Type)
		}
		return out
	}
	assert.ElementsMatch(t, []string{"stay", "departure"}, types("?from=2027-05-01T10:00:00.12345679Z&to=2027-05-03T00:00:00Z"),
		"the arrival is a nanosecond before from")
	assert.ElementsMatch(t, []string{"stay", "departure"}, types("?from=2027-05-02T10:00:00.9876Z&to=2027-05-03T00:00:00Z"),
		"the stay ends 54µs after from")
}
