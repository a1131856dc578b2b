package booking

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestAreaIndexRefusesOverlaps(t *testing.T) {
	t.Parallel()
	other := uuid.MustParse("00000000-0000-0000-0000-0000000000a2")
	held := BookingSlotHeld{AreaID: areaID, BookingID: bookingID, AccountID: accountID, PropertyID: propID, Start: start, End: end}
	x := EvolveAreaIndex(AreaIndex{}, held)
	hold := func(id uuid.UUID, from, until time.Time) error {
		_, err := Hold{AreaID: areaID, BookingID: id, AccountID: accountID, PropertyID: propID, Start: from, End: until}.Decide(x, start)
		return err
	}
	for name, c := range map[string]struct {
		from, until time.Time
		want        error
	}{
		"inside":         {start.Add(time.Hour), end.Add(-time.Hour), ErrOverlap},
		"around":         {start.Add(-time.Hour), end.Add(time.Hour), ErrOverlap},
		"over the start": {start.Add(-time.Hour), start.Add(time.Hour), ErrOverlap},
		"right after":    {end, end.Add(time.Hour), nil},
		"right before":   {start.Add(-time.Hour), start, nil},
	} {
		if err := hold(other, c.from, c.until); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	if err := hold(bookingID, start, end.Add(time.Hour)); err != nil {
		t.Errorf("a booking moving its own slot: %v", err)
	}
	if events, _ := (Hold{AreaID: areaID, BookingID: bookingID, Start: start, End: end}).Decide(x, start); events != nil {
		t.Errorf("the same slot again: %v", events)
	}
	rel, _ := Release{AreaID: areaID, BookingID: bookingID}.Decide(x, start)
	x = EvolveAreaIndex(x, rel[0])
	if err := hold(other, start, end); err != nil {
		t.Errorf("after release: %v", err)
	}
	if events, _ := (Release{AreaID: areaID, BookingID: bookingID}).Decide(x, start); events != nil {
		t.Errorf("release twice: %v", events)
	}
}
