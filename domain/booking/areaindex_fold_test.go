package booking

import (
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
)

// TestFoldAreaIndexIsEvolveOneByOne: folding any history of an area's
// index, from any index reached by part of it, gives the index
// EvolveAreaIndex gives event by event, and leaves the index it started
// from as it was (the pipeline caches states).
func TestFoldAreaIndexIsEvolveOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bookings := make([]uuid.UUID, 6)
	for i := range bookings {
		bookings[i] = uuid.New()
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 300 {
		var evs []domain.Event
		for range 1 + rng.IntN(40) {
			b := bookings[rng.IntN(len(bookings))]
			if rng.IntN(3) == 0 {
				evs = append(evs, BookingSlotReleased{BookingID: b})
				continue
			}
			start := at.Add(time.Duration(rng.IntN(100)) * time.Hour)
			evs = append(evs, BookingSlotHeld{BookingID: b, Start: start, End: start.Add(time.Hour)})
		}
		cut := rng.IntN(len(evs))
		var start AreaIndex
		for _, e := range evs[:cut] {
			start = EvolveAreaIndex(start, e)
		}
		before := maps.Clone(start.slots)

		want := start
		for _, e := range evs[cut:] {
			want = EvolveAreaIndex(want, e)
		}
		got := FoldAreaIndex(start, evs[cut:])
		require.Equal(t, len(want.slots), len(got.slots))
		for id, s := range want.slots {
			require.Equal(t, s, got.slots[id])
		}
		require.Equal(t, before, start.slots, "the index folded from is unchanged")
	}
}
