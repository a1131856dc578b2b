package queries

import (
	"testing"
	"time"
)

// A week across the start of summer time in Madrid (Sunday 29 March 2026,
// 02:00 → 03:00): the Sunday is 23 hours long, and items just before and
// after local midnight land on their local dates.
func TestByLocalDayAcrossDaylightSaving(t *testing.T) {
	t.Parallel()
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, madrid)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	items := []CalendarItem{
		{Type: "arrival", BookingID: "a", Start: at("2026-03-28 23:30"), End: at("2026-03-28 23:30")},
		{Type: "stay", BookingID: "a", Start: at("2026-03-28 23:30"), End: at("2026-03-30 00:30")},
		{Type: "departure", BookingID: "a", Start: at("2026-03-29 23:59"), End: at("2026-03-29 23:59")},
		{Type: "arrival", BookingID: "b", Start: at("2026-03-30 00:00"), End: at("2026-03-30 00:00")},
		{Type: "accessCode", BookingID: "b", Start: at("2026-03-29 03:00"), End: at("2026-03-31 12:00")},
		{Type: "departure", BookingID: "c", Start: at("2026-04-03 12:00"), End: at("2026-04-03 12:00")},
	}
	from, to := DaysSpan(madrid, at("2026-03-27 10:00"), 7)
	if got := to.Sub(from); got != 7*24*time.Hour-time.Hour {
		t.Fatalf("a week across the change lasts %v", got)
	}
	days := ByLocalDay(items, madrid, at("2026-03-27 10:00"), 7)
	want := map[string][]string{
		"2026-03-27": nil,
		"2026-03-28": {"arrival a"},
		"2026-03-29": {"accessCode b", "departure a"},
		"2026-03-30": {"arrival b"},
		"2026-03-31": nil,
		"2026-04-01": nil,
		"2026-04-02": nil,
	}
	if len(days) != 7 {
		t.Fatalf("%d days", len(days))
	}
	for _, d := range days {
		var got []string
		for _, it := range d.Items {
			got = append(got, it.Type+" "+it.BookingID)
		}
		w, ok := want[d.Date]
		if !ok || len(got) != len(w) {
			t.Fatalf("%s: %v, want %v", d.Date, got, w)
		}
		for i := range got {
			if got[i] != w[i] {
				t.Fatalf("%s: %v, want %v", d.Date, got, w)
			}
		}
	}
}
