package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/accessd/accessd/queries"
)

// The hand-written encoding of calendar items is byte for byte what
// writeData (json.Marshal) writes, escapes and odd times included.
func TestCalendarItemsEncodeAsJSONMarshal(t *testing.T) {
	at := time.Date(2026, 3, 29, 1, 30, 0, 123_000_000, time.UTC)
	items := []queries.CalendarItem{
		{Type: "stay", BookingID: "b1", PropertyID: "p1", AreaID: "a1", Start: at, End: at.Add(time.Hour), Title: "Stay: Ana · Flat 1A", Status: "booked"},
		{Type: "arrival", BookingID: "b2", Title: `Arrival: "Bob" <b&b> \ tab` + "\t" + "\u2028", Start: at.In(time.FixedZone("X", 3600)), End: at},
		{Type: "accessCode", Title: "Access code", Status: "active"},
	}
	for name, in := range map[string][]queries.CalendarItem{"items": items, "none": {}} {
		want := httptest.NewRecorder()
		writeData(want, 200, map[string]any{"items": in})
		got := httptest.NewRecorder()
		writeCalendarItems(got, in)
		if got.Body.String() != want.Body.String() {
			t.Errorf("%s:\n got %s\nwant %s", name, got.Body, want.Body)
		}
		if !json.Valid(got.Body.Bytes()) {
			t.Errorf("%s: invalid JSON", name)
		}
		if got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("%s: content type %q", name, got.Header().Get("Content-Type"))
		}
	}
}
