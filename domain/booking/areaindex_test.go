package booking

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
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

// In an area's index, a booking of the area itself overlaps every slot;
// slots held via two sub-areas do not overlap each other.
func TestAreaIndexCountsSubAreas(t *testing.T) {
	t.Parallel()
	room1 := uuid.MustParse("00000000-0000-0000-0000-0000000000e1")
	room2 := uuid.MustParse("00000000-0000-0000-0000-0000000000e2")
	b2 := uuid.MustParse("00000000-0000-0000-0000-0000000000a2")
	b3 := uuid.MustParse("00000000-0000-0000-0000-0000000000a3")
	hold := func(x AreaIndex, id, via uuid.UUID) ([]domain.Event, error) {
		return Hold{AreaID: areaID, BookingID: id, AccountID: accountID, PropertyID: propID, Start: start, End: end, ViaAreaID: via}.Decide(x, start)
	}
	viaRoom1 := EvolveAreaIndex(AreaIndex{}, BookingSlotHeld{AreaID: areaID, BookingID: bookingID, Start: start, End: end, ViaAreaID: room1})
	if _, err := hold(viaRoom1, b2, uuid.Nil); !errors.Is(err, ErrOverlap) {
		t.Errorf("the whole area while a room is booked: %v", err)
	}
	if _, err := hold(viaRoom1, b2, room2); err != nil {
		t.Errorf("another room at the same time: %v", err)
	}
	if _, err := hold(viaRoom1, b2, room1); err != nil {
		t.Errorf("the same room meets in its own index, not here: %v", err)
	}
	own := EvolveAreaIndex(AreaIndex{}, BookingSlotHeld{AreaID: areaID, BookingID: bookingID, Start: start, End: end})
	if _, err := hold(own, b3, room1); !errors.Is(err, ErrOverlap) {
		t.Errorf("a room while the whole area is booked: %v", err)
	}
	if events, err := hold(viaRoom1, bookingID, room1); err != nil || events != nil {
		t.Errorf("the same via slot again: %v, %v", events, err)
	}
	if events, err := hold(viaRoom1, bookingID, uuid.Nil); err != nil || len(events) != 1 {
		t.Errorf("the booking now of the area itself: %v, %v", events, err)
	}
}
