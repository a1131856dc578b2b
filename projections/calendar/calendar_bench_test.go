package calendar_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/eventstore"
)

// BenchmarkPropertyMonth: one month of a property's calendar among 10,000
// bookings spread over four years (about seven a day). Reports p99.
func BenchmarkPropertyMonth(b *testing.B) {
	f := newFixture(b)
	account, property, room := uuid.New(), uuid.New(), uuid.New()
	base := time.Date(2025, 1, 1, 15, 0, 0, 0, time.UTC)
	var last uint64
	for i := range 10_000 {
		id := uuid.New()
		start := base.Add(time.Duration(i) * 3 * time.Hour)
		d, err := f.registry.Encode(uuid.New(), booking.BookingCreated{BookingID: id, AccountID: account, PropertyID: property,
			AreaID: room, StartDateTime: start, EndDateTime: start.Add(2*24*time.Hour + 20*time.Hour), Source: "web"},
			eventstore.Metadata{OccurredAt: time.Now()})
		require.NoError(b, err)
		res, err := f.store.Append(context.Background(), "booking-"+id.String(), eventstore.NoStream, d)
		require.NoError(b, err)
		last = res.Position
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(b, f.set.WaitFor(ctx, last))
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	var took []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		items, err := f.q.Items(context.Background(), account.String(), []string{property.String()}, from, to)
		took = append(took, time.Since(t0))
		if err != nil || len(items) < 600 {
			b.Fatalf("%d items, %v", len(items), err)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkUpcomingAcrossProperties: the next 14 days for a caller with
// 1,000 properties of ten bookings each, account-wide and scoped to all
// 1,000 by id. Reports p99.
func BenchmarkUpcomingAcrossProperties(b *testing.B) {
	f := newFixture(b)
	account := uuid.New()
	now := time.Now().UTC()
	var last uint64
	var props []string
	for p := range 1000 {
		property := uuid.New()
		props = append(props, property.String())
		for i := range 10 {
			id := uuid.New()
			start := now.Add(time.Duration(p%24)*time.Hour + time.Duration(i)*5*24*time.Hour - 20*24*time.Hour)
			d, err := f.registry.Encode(uuid.New(), booking.BookingCreated{BookingID: id, AccountID: account, PropertyID: property,
				AreaID: uuid.New(), StartDateTime: start, EndDateTime: start.Add(3 * 24 * time.Hour), Source: "web"},
				eventstore.Metadata{OccurredAt: time.Now()})
			require.NoError(b, err)
			res, err := f.store.Append(context.Background(), "booking-"+id.String(), eventstore.NoStream, d)
			require.NoError(b, err)
			last = res.Position
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(b, f.set.WaitFor(ctx, last))
	for _, tc := range []struct {
		name  string
		scope []string
	}{{"account", nil}, {"scoped", props}} {
		b.Run(tc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				t0 := time.Now()
				items, err := f.q.Items(context.Background(), account.String(), tc.scope, now, now.AddDate(0, 0, 14))
				took = append(took, time.Since(t0))
				if err != nil || len(items) < 1000 {
					b.Fatalf("%d items, %v", len(items), err)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
