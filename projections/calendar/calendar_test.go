package calendar_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/calendar"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

type fixture struct {
	t        testing.TB
	store    *memstore.Store
	registry *eventstore.Registry
	set      *projections.Set
	q        *queries.Calendar
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := memstore.New()
	db := readmodeltest.Open(ctx, t, filepath.Join(t.TempDir(), "readmodels.db"))
	reg := eventstore.NewRegistry()
	for _, evs := range [][]eventstore.TypedEvent{toTyped(area.Events()), toTyped(user.Events()), toTyped(booking.Events())} {
		for _, e := range evs {
			reg.Register(e)
		}
	}
	r, err := projections.NewRunner(db, store, reg, calendar.New(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	set := projections.NewSet(store, r)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
		store.Close()
	})
	return &fixture{t: t, store: store, registry: reg, set: set, q: queries.NewCalendar(db)}
}

func toTyped[E eventstore.TypedEvent](es []E) []eventstore.TypedEvent {
	out := make([]eventstore.TypedEvent, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (f *fixture) append(stream string, evs ...eventstore.TypedEvent) {
	f.t.Helper()
	var data []eventstore.EventData
	for _, e := range evs {
		d, err := f.registry.Encode(uuid.New(), e, eventstore.Metadata{OccurredAt: time.Now()})
		require.NoError(f.t, err)
		data = append(data, d)
	}
	res, err := f.store.Append(context.Background(), stream, eventstore.Any, data...)
	require.NoError(f.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(f.t, f.set.WaitFor(ctx, res.Position))
}

func TestCalendarAcrossADaylightSavingWeek(t *testing.T) {
	f := newFixture(t)
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, madrid)
		require.NoError(t, err)
		return v
	}
	account, property, room, guest := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	f.append("area-"+room.String(), area.AreaCreated{AreaID: room, AccountID: account, PropertyID: property, DisplayName: "Room 101"})
	f.append("user-"+guest.String(), user.UserCreated{UserID: guest, AccountID: account, DisplayName: "Ana"})
	stay, cancelled := uuid.New(), uuid.New()
	f.append("booking-"+stay.String(), booking.BookingCreated{BookingID: stay, AccountID: account, PropertyID: property, AreaID: room,
		GuestUserID: guest, StartDateTime: at("2027-03-27 16:00"), EndDateTime: at("2027-03-29 11:00"), Source: "web"})
	f.append("booking-"+cancelled.String(), booking.BookingCreated{BookingID: cancelled, AccountID: account, PropertyID: property, AreaID: room,
		GuestUserID: guest, StartDateTime: at("2027-03-30 16:00"), EndDateTime: at("2027-03-31 11:00"), Source: "web"},
		booking.BookingCancelled{BookingID: cancelled, AccountID: account, PropertyID: property, Reason: "byUser", At: at("2027-03-20 10:00")})

	// Summer time starts on Sunday 28 March 2027 in Madrid.
	first := at("2027-03-26 09:00")
	from, to := queries.DaysSpan(madrid, first, 7)
	assert.Equal(t, 7*24*time.Hour-time.Hour, to.Sub(from))
	items, err := f.q.Items(context.Background(), account.String(), []string{property.String()}, from, to)
	require.NoError(t, err)
	require.Len(t, items, 3, "the stay, its arrival and departure; the cancelled booking is gone")
	assert.Equal(t, "arrival", items[0].Type, "arrival and stay start together: by type")
	assert.Equal(t, "Arrival: Ana · Room 101", items[0].Title)
	assert.Equal(t, room.String(), items[0].AreaID)
	days := queries.ByLocalDay(items, madrid, first, 7)
	require.Len(t, days, 7)
	assert.Equal(t, "2027-03-27", days[1].Date)
	require.Len(t, days[1].Items, 1)
	assert.Equal(t, "arrival", days[1].Items[0].Type)
	assert.Empty(t, days[2].Items, "Sunday, 23 hours long")
	require.Len(t, days[3].Items, 1)
	assert.Equal(t, "departure", days[3].Items[0].Type)
	assert.True(t, days[3].Items[0].Start.Equal(at("2027-03-29 11:00")), "11:00 summer time is 09:00 UTC")
	assert.Equal(t, 9, days[3].Items[0].Start.UTC().Hour())

	// An access code's window; rescheduling moves the items and the code;
	// an early check-out ends the stay.
	code, revoked := uuid.New(), uuid.New()
	f.append("booking-"+stay.String(),
		booking.AccessCodeCreated{AccessCodeID: code, BookingID: stay, AccountID: account, PropertyID: property, AreaID: room,
			CodeHash: "h", Salt: "s", ValidFrom: at("2027-03-27 16:00"), ValidUntil: at("2027-03-29 11:00")},
		booking.AccessCodeCreated{AccessCodeID: revoked, BookingID: stay, AccountID: account, PropertyID: property, AreaID: room,
			CodeHash: "h2", Salt: "s2", ValidFrom: at("2027-03-27 16:00"), ValidUntil: at("2027-03-29 11:00")},
		booking.AccessCodeRevoked{AccessCodeID: revoked, BookingID: stay, AccountID: account, PropertyID: property, AreaID: room})
	items, err = f.q.Items(context.Background(), account.String(), []string{property.String()}, from, to)
	require.NoError(t, err)
	require.Len(t, items, 4, "the revoked code is gone")
	assert.Equal(t, "accessCode", items[0].Type, "access code, arrival and stay start together: by type")
	assert.Equal(t, "Access code: Ana · Room 101", items[0].Title)
	f.append("booking-"+stay.String(),
		booking.BookingRescheduled{BookingID: stay, AccountID: account, PropertyID: property, AreaID: room,
			StartDateTime: at("2027-03-28 16:00"), EndDateTime: at("2027-03-30 11:00")},
		booking.BookingCheckedIn{BookingID: stay, AccountID: account, PropertyID: property, Method: "manual", At: at("2027-03-28 16:05")},
		booking.BookingCheckedOut{BookingID: stay, AccountID: account, PropertyID: property, Method: "manual", At: at("2027-03-29 20:00")})
	items, err = f.q.Items(context.Background(), account.String(), nil, from, to)
	require.NoError(t, err)
	byType := map[string]queries.CalendarItem{}
	for _, it := range items {
		byType[it.Type] = it
		assert.Equal(t, "checkedOut", it.Status)
	}
	assert.True(t, byType["arrival"].Start.Equal(at("2027-03-28 16:00")))
	assert.True(t, byType["stay"].End.Equal(at("2027-03-29 20:00")))
	assert.True(t, byType["departure"].Start.Equal(at("2027-03-29 20:00")))
	assert.True(t, byType["accessCode"].Start.Equal(at("2027-03-28 16:00")), "the code follows the booking")
	assert.True(t, byType["accessCode"].End.Equal(at("2027-03-30 11:00")))

	none, err := f.q.Items(context.Background(), uuid.NewString(), nil, from, to)
	require.NoError(t, err)
	assert.Empty(t, none, "another account sees nothing")
}

// A booking moved to another area takes its access codes with it: their
// items name the new area, in the area and in the title.
func TestAccessCodesMoveWithTheirBooking(t *testing.T) {
	f := newFixture(t)
	account, property, room, suite, guest := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	f.append("area-"+room.String(), area.AreaCreated{AreaID: room, AccountID: account, PropertyID: property, DisplayName: "Room 101"})
	f.append("area-"+suite.String(), area.AreaCreated{AreaID: suite, AccountID: account, PropertyID: property, DisplayName: "Suite"})
	f.append("user-"+guest.String(), user.UserCreated{UserID: guest, AccountID: account, DisplayName: "Ana"})
	id, code := uuid.New(), uuid.New()
	start := time.Date(2027, 5, 1, 14, 0, 0, 0, time.UTC)
	end := start.Add(48 * time.Hour)
	f.append("booking-"+id.String(),
		booking.BookingCreated{BookingID: id, AccountID: account, PropertyID: property, AreaID: room,
			GuestUserID: guest, StartDateTime: start, EndDateTime: end, Source: "web"},
		booking.AccessCodeCreated{AccessCodeID: code, BookingID: id, AccountID: account, PropertyID: property, AreaID: room,
			CodeHash: "h", Salt: "s", ValidFrom: start, ValidUntil: end},
		booking.BookingRescheduled{BookingID: id, AccountID: account, PropertyID: property, AreaID: suite,
			StartDateTime: start, EndDateTime: end.Add(time.Hour)})

	items, err := f.q.Items(context.Background(), account.String(), []string{property.String()}, start, end.Add(2*time.Hour))
	require.NoError(t, err)
	var codes int
	for _, it := range items {
		assert.Equal(t, suite.String(), it.AreaID, it.Type)
		if it.Type == "accessCode" {
			codes++
			assert.Equal(t, "Access code: Ana · Suite", it.Title)
			assert.True(t, it.End.Equal(end.Add(time.Hour)))
		}
	}
	assert.Equal(t, 1, codes)
}

// Items keep their nanoseconds, and [from, to) is compared on them: an
// instant a nanosecond before from, or at to, is out; a stay ending
// microseconds after from overlaps it. An early check-out's instant ends
// the stay whole.
func TestCalendarKeepsNanoseconds(t *testing.T) {
	f := newFixture(t)
	account, property, room := uuid.New(), uuid.New(), uuid.New()
	ns := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	start, end := ns("2027-05-01T10:00:00.123456789Z"), ns("2027-05-02T10:00:00.987654321Z")
	id, code := uuid.New(), uuid.New()
	f.append("booking-"+id.String(),
		booking.BookingCreated{BookingID: id, AccountID: account, PropertyID: property, AreaID: room,
			GuestUserID: uuid.New(), StartDateTime: start, EndDateTime: end, Source: "web"},
		booking.AccessCodeCreated{AccessCodeID: code, BookingID: id, AccountID: account, PropertyID: property, AreaID: room,
			CodeHash: "h", Salt: "s", ValidFrom: start, ValidUntil: end})
	types := func(from, to time.Time) map[string]queries.CalendarItem {
		t.Helper()
		items, err := f.q.Items(context.Background(), account.String(), []string{property.String()}, from, to)
		require.NoError(t, err)
		out := map[string]queries.CalendarItem{}
		for _, it := range items {
			out[it.Type] = it
		}
		return out
	}
	keys := func(m map[string]queries.CalendarItem) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	day := 24 * time.Hour

	all := types(start.Add(-day), end.Add(day))
	require.Len(t, all, 4)
	assert.Equal(t, start, all["stay"].Start)
	assert.Equal(t, end, all["stay"].End)
	assert.Equal(t, start, all["arrival"].Start)
	assert.Equal(t, end, all["departure"].Start)
	assert.Equal(t, start, all["accessCode"].Start)
	assert.Equal(t, end, all["accessCode"].End)

	for _, c := range []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"from a nanosecond after the arrival", start.Add(time.Nanosecond), end.Add(day), []string{"stay", "accessCode", "departure"}},
		{"to a nanosecond after the arrival", start.Add(-day), start.Add(time.Nanosecond), []string{"stay", "accessCode", "arrival"}},
		{"to at the arrival", start.Add(-day), start, nil},
		{"from 54µs before the end", ns("2027-05-02T10:00:00.9876Z"), end.Add(day), []string{"stay", "accessCode", "departure"}},
		{"from at the end", end, end.Add(day), []string{"departure"}},
		{"from a nanosecond after the end", end.Add(time.Nanosecond), end.Add(day), nil},
	} {
		assert.ElementsMatch(t, c.want, keys(types(c.from, c.to)), c.name)
	}

	out := ns("2027-05-01T20:00:00.232191454Z")
	f.append("booking-"+id.String(),
		booking.BookingCheckedIn{BookingID: id, AccountID: account, PropertyID: property, Method: "manual", At: start},
		booking.BookingCheckedOut{BookingID: id, AccountID: account, PropertyID: property, Method: "manual", At: out})
	all = types(start.Add(-day), end.Add(day))
	assert.Equal(t, out, all["stay"].End, "the early check-out's instant")
	assert.Equal(t, out, all["departure"].Start)
}

// A booking 1.2 ms long runs across three milliseconds (.9 to 2.1): a
// range from its last one still finds it, the property's longest item
// being counted in the milliseconds its start and end fall in.
func TestCalendarFindsAnItemAcrossMilliseconds(t *testing.T) {
	f := newFixture(t)
	account, property := uuid.New(), uuid.New()
	base := time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)
	start, end := base.Add(900*time.Microsecond), base.Add(2100*time.Microsecond)
	id := uuid.New()
	f.append("booking-"+id.String(), booking.BookingCreated{BookingID: id, AccountID: account, PropertyID: property,
		AreaID: uuid.New(), GuestUserID: uuid.New(), StartDateTime: start, EndDateTime: end, Source: "web"})
	items, err := f.q.Items(context.Background(), account.String(), nil, base.Add(2*time.Millisecond), base.Add(time.Second))
	require.NoError(t, err)
	var got []string
	for _, it := range items {
		got = append(got, it.Type)
	}
	assert.ElementsMatch(t, []string{"stay", "departure"}, got)
}
