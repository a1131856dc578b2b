package queries

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/calendar"
	"github.com/accessd/accessd/projections/readmodeltest"
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

// Tables built by the calendar's version 2, which had no nanoseconds
// (start_frac_ns, end_frac_ns), keep answering until a rebuild replaces
// them: a version bump rebuilds beside them while they serve, and a
// read-only server on an older replay never rebuilds. Their items answer
// in whole milliseconds, as version 2 did; once the tables are replaced
// the same reader answers nanoseconds.
func TestCalendarItemsFromVersion2Tables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "readmodels.db")
	db := readmodeltest.Open(ctx, t, path)
	t.Cleanup(func() { db.Close() })
	exec := func(db *projections.DB, query string, args ...any) {
		t.Helper()
		_, err := db.ExecContext(ctx, db.Dialect.Rebind(query), args...)
		require.NoError(t, err)
	}
	// Version 2's schema (the projection's Setup at that version).
	exec(db, `CREATE TABLE calendar_items (
		item_id TEXT PRIMARY KEY,
		booking_id TEXT NOT NULL,
		account_id TEXT NOT NULL,
		property_id TEXT NOT NULL,
		area_id TEXT NOT NULL,
		guest_user_id TEXT NOT NULL DEFAULT '',
		guest_name TEXT NOT NULL DEFAULT '',
		area_name TEXT NOT NULL DEFAULT '',
		type TEXT NOT NULL,
		status TEXT NOT NULL,
		start_ms BIGINT NOT NULL,
		end_ms BIGINT NOT NULL
	)`)
	exec(db, `CREATE TABLE calendar_spans (property_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, max_ms BIGINT NOT NULL)`)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	arrive, leave := at("2026-05-01T15:00:00.123Z"), at("2026-05-04T11:00:00.456Z")
	exec(db, `INSERT INTO calendar_items (item_id, booking_id, account_id, property_id, area_id, guest_name, area_name, type, status, start_ms, end_ms)
		VALUES ('b1', 'b1', 'acc', 'p1', 'a1', 'Ann', 'Room 1', 'booking', 'confirmed', ?, ?),
			('c1', 'b1', 'acc', 'p1', 'a1', 'Ann', 'Room 1', 'accessCode', 'confirmed', ?, ?)`,
		arrive.UnixMilli(), leave.UnixMilli(), arrive.UnixMilli(), leave.UnixMilli())
	exec(db, `INSERT INTO calendar_spans (property_id, account_id, max_ms) VALUES ('p1', 'acc', ?)`, leave.Sub(arrive).Milliseconds())

	from, to := at("2026-04-30T00:00:00Z"), at("2026-05-07T00:00:00Z")
	want := []string{
		"accessCode b1 2026-05-01T15:00:00.123Z 2026-05-04T11:00:00.456Z Access code: Ann · Room 1",
		"arrival b1 2026-05-01T15:00:00.123Z 2026-05-01T15:00:00.123Z Arrival: Ann · Room 1",
		"stay b1 2026-05-01T15:00:00.123Z 2026-05-04T11:00:00.456Z Stay: Ann · Room 1",
		"departure b1 2026-05-04T11:00:00.456Z 2026-05-04T11:00:00.456Z Departure: Ann · Room 1",
	}
	check := func(cal *Calendar, propertyIDs []string, want []string) {
		t.Helper()
		items, err := cal.Items(ctx, "acc", propertyIDs, from, to)
		require.NoError(t, err)
		var got []string
		for _, it := range items {
			got = append(got, it.Type+" "+it.BookingID+" "+it.Start.Format(time.RFC3339Nano)+" "+it.End.Format(time.RFC3339Nano)+" "+it.Title)
		}
		require.Equal(t, want, got)
	}
	cal := NewCalendar(db)
	check(cal, []string{"p1"}, want) // a property's calendar and timeline
	check(cal, nil, want)            // the upcoming items of every property
	if !readmodeltest.Postgres() {
		ro, err := projections.OpenSQLiteReadOnly(ctx, path)
		require.NoError(t, err)
		t.Cleanup(func() { ro.Close() })
		check(NewCalendar(ro), nil, want)
	}

	// A rebuild swaps in the current version's tables.
	exec(db, `DROP TABLE calendar_items`)
	exec(db, `DROP TABLE calendar_spans`)
	require.NoError(t, db.Update(ctx, func(tx projections.Tx) error { return calendar.New().Setup(ctx, tx) }))
	code := at("2026-05-02T10:00:00.000000789Z")
	exec(db, `INSERT INTO calendar_items (item_id, booking_id, account_id, property_id, area_id, guest_name, area_name, type, status,
			start_ms, start_frac_ns, end_ms, end_frac_ns)
		VALUES ('c2', 'b2', 'acc', 'p1', 'a1', 'Bo', 'Room 1', 'accessCode', 'confirmed', ?, ?, ?, ?)`,
		code.UnixMilli(), calendar.FracNanos(code), code.UnixMilli()+1, calendar.FracNanos(code))
	exec(db, `INSERT INTO calendar_spans (property_id, account_id, max_ms) VALUES ('p1', 'acc', 1)`)
	check(cal, nil, []string{"accessCode b2 2026-05-02T10:00:00.000000789Z 2026-05-02T10:00:00.001000789Z Access code: Bo · Room 1"})
}
