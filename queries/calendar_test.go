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

// A date starts at its local midnight, or where a clock change skips
// midnight at the change: time.Date puts a skipped midnight on the day
// before (Santiago, Havana) or after it (Tehran, 2021). A midnight that
// happens twice (Havana's autumn change, 01:00 → 00:00) starts the date
// the first time.
func TestDayStart(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		zone string
		date string
		want string // UTC
	}{
		{"America/Santiago", "2027-09-05", "2027-09-05T04:00:00Z"},
		{"America/Santiago", "2027-09-06", "2027-09-06T03:00:00Z"},
		{"America/Santiago", "2027-04-04", "2027-04-04T04:00:00Z"}, // 00:00 → 23:00 the day before
		{"America/Havana", "2027-03-14", "2027-03-14T05:00:00Z"},
		{"America/Havana", "2027-11-07", "2027-11-07T04:00:00Z"},
		{"Asia/Tehran", "2021-03-22", "2021-03-21T20:30:00Z"},
		{"Europe/Madrid", "2027-03-28", "2027-03-27T23:00:00Z"},
		{"America/New_York", "2027-03-14", "2027-03-14T05:00:00Z"},
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Skip("no time zone database:", err)
		}
		d, err := time.Parse(time.DateOnly, c.date)
		if err != nil {
			t.Fatal(err)
		}
		got := DayStart(loc, d.Year(), d.Month(), d.Day())
		if got.UTC().Format(time.RFC3339) != c.want {
			t.Errorf("%s %s starts at %s, want %s", c.zone, c.date, got.UTC().Format(time.RFC3339), c.want)
		}
		if got.In(loc).Format(time.DateOnly) != c.date {
			t.Errorf("%s %s starts at %s, another date", c.zone, c.date, got.In(loc))
		}
	}
}
