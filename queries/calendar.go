package queries

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/calendar"
)

// Calendar reads the calendar read model.
type Calendar struct {
	db *projections.DB
}

// NewCalendar returns a reader over the calendar.
func NewCalendar(db *projections.DB) *Calendar { return &Calendar{db: db} }

// CalendarItem is one item of a calendar: a stay (start to end), an
// arrival or a departure (start = end), or an access code's window.
type CalendarItem struct {
	Type       string    `json:"type"`
	BookingID  string    `json:"bookingId"`
	PropertyID string    `json:"propertyId"`
	AreaID     string    `json:"areaId"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Title      string    `json:"title"`
	Status     string    `json:"status"`
}

// Items returns the items of the account overlapping [from, to) (an
// arrival or departure: falling in it), in the given properties (nil: all
// of them), by start, then booking and type.
func (q *Calendar) Items(ctx context.Context, accountID string, propertyIDs []string, from, to time.Time) ([]CalendarItem, error) {
	if propertyIDs != nil && len(propertyIDs) == 0 {
		return []CalendarItem{}, nil
	}
	span, err := q.longest(ctx, accountID, propertyIDs)
	if err != nil {
		return nil, err
	}
	// The query compares whole milliseconds, so it keeps the rows of the
	// milliseconds from and to fall in; the nanoseconds decide below.
	query := func(startFrac, endFrac string) string {
		query := `SELECT i.type, i.booking_id, i.property_id, i.area_id, i.start_ms, ` + startFrac + `, i.end_ms, ` + endFrac + `,
			i.status, i.guest_name, i.area_name
		FROM ` + calendar.Table + ` i
		WHERE i.account_id = ? AND i.start_ms <= ? AND i.start_ms >= ? AND i.end_ms >= ?`
		if propertyIDs != nil {
			query += ` AND i.property_id IN (?` + strings.Repeat(",?", len(propertyIDs)-1) + `)`
		}
		return q.db.Dialect.Rebind(query)
	}
	args := []any{accountID, to.UnixMilli(), from.UnixMilli() - span, from.UnixMilli()}
	for _, p := range propertyIDs {
		args = append(args, p)
	}
	rows, err := q.db.QueryContext(ctx, query("i.start_frac_ns", "i.end_frac_ns"), args...)
	if err != nil && withoutFractions(err) {
		// Tables of version 2 keep answering, in whole milliseconds,
		// until a rebuild swaps them out: it rebuilds beside them, and a
		// read-only server never does. Asking every time, not remembering,
		// follows a swap whichever process made it.
		rows, err = q.db.QueryContext(ctx, query("0", "0"), args...)
	}
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	defer rows.Close()
	out := make([]CalendarItem, 0, 256)
	for rows.Next() {
		var row CalendarItem
		var startMs, startNs, endMs, endNs int64
		var guest, areaName string
		if err := rows.Scan(&row.Type, &row.BookingID, &row.PropertyID, &row.AreaID, &startMs, &startNs, &endMs, &endNs,
			&row.Status, &guest, &areaName); err != nil {
			return nil, fmt.Errorf("calendar: %w", err)
		}
		row.Start, row.End = calendar.Instant(startMs, startNs), calendar.Instant(endMs, endNs)
		if !row.Start.Before(to) {
			continue
		}
		// The query keeps rows ending at from, for the departures falling
		// on it; a window ending there (its end is exclusive) does not
		// overlap [from, to).
		if row.Type != calendar.TypeBooking {
			if !row.End.After(from) {
				continue
			}
			row.Title = title(row.Type, guest, areaName)
			out = append(out, row)
			continue
		}
		// A booking is its stay, and its arrival and departure when they
		// fall in [from, to).
		for _, it := range []struct {
			typ string
			at  *time.Time // nil: the stay
		}{{calendar.TypeStay, nil}, {calendar.TypeArrival, &row.Start}, {calendar.TypeDeparture, &row.End}} {
			if it.at != nil && (it.at.Before(from) || !it.at.Before(to)) || it.at == nil && !row.End.After(from) {
				continue
			}
			item := row
			item.Type, item.Title = it.typ, title(it.typ, guest, areaName)
			if it.at != nil {
				item.Start, item.End = *it.at, *it.at
			}
			out = append(out, item)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	return sortItems(out), nil
}

// withoutFractions reports whether err is the items query failing for
// want of start_frac_ns and end_frac_ns, which the calendar's version 2
// tables lack: SQLite says so in its text, PostgreSQL by undefined_column.
func withoutFractions(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "42703" && strings.Contains(pg.Message, "_frac_ns") // undefined_column
	}
	return strings.Contains(err.Error(), "no such column: i.") && strings.Contains(err.Error(), "_frac_ns")
}

// sortItems orders items by start, then booking and type. It sorts
// indices and copies once: swapping the items themselves (over a hundred
// bytes each, thousands of them across many properties) took most of the
// time. Unstable: the order is total but for codes of one booking, which
// the query returns in no particular order anyway.
func sortItems(items []CalendarItem) []CalendarItem {
	order := make([]int32, len(items))
	starts := make([]int64, len(items))
	fracs := make([]int32, len(items))
	for i := range order {
		order[i], starts[i], fracs[i] = int32(i), items[i].Start.UnixMilli(), int32(calendar.FracNanos(items[i].Start))
	}
	slices.SortFunc(order, func(x, y int32) int {
		if c := cmp.Compare(starts[x], starts[y]); c != 0 {
			return c
		}
		if c := cmp.Compare(fracs[x], fracs[y]); c != 0 {
			return c
		}
		a, b := &items[x], &items[y]
		if c := strings.Compare(a.BookingID, b.BookingID); c != 0 {
			return c
		}
		return strings.Compare(a.Type, b.Type)
	})
	out := make([]CalendarItem, len(items))
	for i, j := range order {
		out[i] = items[j]
	}
	return out
}

// longest is the longest item of the properties (nil: the account's), in
// whole ms between its start_ms and end_ms: no item overlapping a range
// has a start_ms further than that before the range's.
func (q *Calendar) longest(ctx context.Context, accountID string, propertyIDs []string) (int64, error) {
	query := `SELECT COALESCE(MAX(max_ms), 0) FROM ` + calendar.SpansTable + ` WHERE account_id = ?`
	args := []any{accountID}
	if propertyIDs != nil {
		query += ` AND property_id IN (?` + strings.Repeat(",?", len(propertyIDs)-1) + `)`
		for _, p := range propertyIDs {
			args = append(args, p)
		}
	}
	var span int64
	if err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(query), args...).Scan(&span); err != nil {
		return 0, fmt.Errorf("calendar: %w", err)
	}
	return span, nil
}

// itemWhat names each item type in titles.
var itemWhat = map[string]string{calendar.TypeStay: "Stay", calendar.TypeArrival: "Arrival",
	calendar.TypeDeparture: "Departure", calendar.TypeAccessCode: "Access code"}

// title is an item's readable name: what, who and where.
func title(typ, guest, areaName string) string {
	var parts []string
	for _, p := range []string{guest, areaName} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	what := itemWhat[typ]
	if len(parts) == 0 {
		return what
	}
	return what + ": " + strings.Join(parts, " · ")
}

// CalendarDay is one local date of an upcoming timeline.
type CalendarDay struct {
	Date  string         `json:"date"`
	Items []CalendarItem `json:"items"`
}

// ByLocalDay groups the items that happen on each of days local dates in
// loc, from the date of first on: an arrival or departure on the date it
// falls on, an access code's window on the date it opens; stays, which
// span days, are left out. A date runs from its start (DayStart) to the
// next date's, so a day is 23 or 25 hours long across a daylight-saving
// change. Every date is answered, an empty one with no items; a date's
// items are by start.
func ByLocalDay(items []CalendarItem, loc *time.Location, first time.Time, days int) []CalendarDay {
	y, m, d := first.In(loc).Date()
	out := make([]CalendarDay, days)
	bounds := make([]time.Time, days+1)
	for i := range bounds {
		bounds[i] = DayStart(loc, y, m, d+i)
	}
	for i := range out {
		// The date itself, not bounds[i]'s: a date whose midnight is
		// skipped starts later in the day, maybe on the next one.
		date := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC)
		out[i] = CalendarDay{Date: date.Format(time.DateOnly), Items: []CalendarItem{}}
	}
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b CalendarItem) int { return a.Start.Compare(b.Start) })
	for _, it := range items {
		if it.Type == calendar.TypeStay || it.Start.Before(bounds[0]) || !it.Start.Before(bounds[days]) {
			continue
		}
		i := sort.Search(days, func(i int) bool { return it.Start.Before(bounds[i+1]) })
		out[i].Items = append(out[i].Items, it)
	}
	return out
}

// DaysSpan is the instants [from, to) of days local dates in loc from the
// date of first: what ByLocalDay needs read.
func DaysSpan(loc *time.Location, first time.Time, days int) (time.Time, time.Time) {
	y, m, d := first.In(loc).Date()
	return DayStart(loc, y, m, d), DayStart(loc, y, m, d+days)
}

// DayStart is the first instant of the local date y-m-d in loc (d may run
// past the month, as for time.Date): its midnight, or, where a clock change
// skips midnight (Santiago's 00:00 → 01:00), the change itself.
// time.Date gives no such midnight a time of the day before, or after it.
func DayStart(loc *time.Location, y int, m time.Month, d int) time.Time {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	ty, tm, td := t.Date()
	got := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	hour, minute, sec := t.Clock()
	switch {
	case got.Equal(date) && hour == 0 && minute == 0 && sec == 0:
		return t
	case got.Before(date):
		_, change := t.ZoneBounds()
		return change
	default:
		change, _ := t.ZoneBounds()
		return change
	}
}
