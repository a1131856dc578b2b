package queries_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bookings"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

// Late door openings a scheduler could not act on (a guest never
// registered, a slot taken) stay due until their bookings end: they come
// after every ordinary transition, so a batch full of them never keeps a
// noCheckIn or a completion waiting, and the ordinary ones come in due
// order.
func TestDueListsLateDoorCheckInsLast(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := readmodeltest.Open(ctx, t, filepath.Join(t.TempDir(), "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	inTx(t, db, func(tx projections.Tx) error { return bookings.New().Setup(ctx, tx) })
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return bookings.FormatTime(now.Add(d)) }
	insert := func(status booking.Status, start, end, door, noCheckIn string) uuid.UUID {
		id := uuid.New()
		inTx(t, db, func(tx projections.Tx) error {
			return tx.Write(ctx, `INSERT INTO `+tx.Table(bookings.Table)+` (booking_id, account_id, property_id, area_id, guest_user_id, status,
				start_at, end_at, door_access_at, no_check_in_at, position, applied, doc) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, 1, 1, '{}')`,
				id.String(), uuid.NewString(), uuid.NewString(), uuid.NewString(), string(status), start, end, door, noCheckIn)
		})
		return id
	}
	var late []uuid.UUID
	for range 3 {
		late = append(late, insert(booking.StatusNoCheckIn, at(-time.Hour), at(time.Hour), at(-59*time.Minute), at(-58*time.Minute)))
	}
	completed := insert(booking.StatusCheckedIn, at(-3*time.Hour), at(-time.Hour), "", at(-2*time.Hour))
	noShow := insert(booking.StatusBooked, at(-time.Hour), at(time.Hour), "", at(-30*time.Minute))

	due, err := queries.NewBookings(db).Due(ctx, now, 2)
	require.NoError(t, err)
	var got []uuid.UUID
	for _, d := range due {
		got = append(got, d.BookingID)
	}
	assert.Equal(t, []uuid.UUID{completed, noShow}, got, "the ordinary transitions first, by due time")

	due, err = queries.NewBookings(db).Due(ctx, now, 10)
	require.NoError(t, err)
	require.Len(t, due, 5)
	for _, d := range due[2:] {
		assert.Contains(t, late, d.BookingID)
		assert.True(t, d.DoorCheckIn)
	}
}
