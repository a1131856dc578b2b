package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/booking"
)

// areaChain is an area and its ancestors, the area first.
func (s *Service) areaChain(ctx context.Context, areaID uuid.UUID) ([]uuid.UUID, error) {
	chain := []uuid.UUID{areaID}
	// Bounded, and cycle-checked, in case the tree were ever broken.
	for id := areaID; len(chain) <= maxAreaDepth; {
		a, err := Load(ctx, s.p, areaAgg, id)
		if err != nil {
			return nil, fmt.Errorf("ancestors of area %s: %w", areaID, err)
		}
		id = a.State.ParentAreaID()
		if id == uuid.Nil || slices.Contains(chain, id) {
			return chain, nil
		}
		chain = append(chain, id)
	}
	return chain, nil
}

// slots are a booking's slots in the indexes of its area's chain.
type slots struct {
	accountID, propertyID, bookingID uuid.UUID
	chain                            []uuid.UUID
	start, end                       time.Time
}

// slotsOf is where a booking holds its slots.
func (s *Service) slotsOf(ctx context.Context, accountID, propertyID, areaID, bookingID uuid.UUID, start, end time.Time) (slots, error) {
	chain, err := s.areaChain(ctx, areaID)
	return slots{accountID: accountID, propertyID: propertyID, bookingID: bookingID, chain: chain, start: start, end: end}, err
}

// holdOne holds the booking's slot in one index of the chain: its own
// in the booked area's, via the booked area in an ancestor's.
func (s *Service) holdOne(ctx context.Context, sl slots, areaID uuid.UUID) (Result, error) {
	return Run(ctx, s.p, areaIndexAgg, areaID, "HoldBookingSlot", sl.holdIn(areaID))
}

func (sl slots) holdIn(areaID uuid.UUID) booking.Hold {
	via := uuid.Nil
	if areaID != sl.chain[0] {
		via = sl.chain[0]
	}
	return booking.Hold{AreaID: areaID, BookingID: sl.bookingID, AccountID: sl.accountID, PropertyID: sl.propertyID,
		Start: sl.start, End: sl.end, ViaAreaID: via}
}

// free returns ErrOverlap when another booking holds an overlapping slot
// in any index of the chain, holding nothing: an attempt that a slot
// taken meanwhile refuses, and that may be tried again, then appends
// nothing. hold still decides: a booking may take a slot after this.
func (s *Service) free(ctx context.Context, sl slots) error {
	for _, a := range sl.chain {
		idx, err := Load(ctx, s.p, areaIndexAgg, a)
		if err != nil {
			return err
		}
		if _, err := sl.holdIn(a).Decide(idx.State, s.p.Now()); err != nil {
			return err
		}
	}
	return nil
}

// hold holds every slot, the booked area's first; each is appended at its
// index's revision, so of two overlapping bookings of an area and of one
// of its ancestors (or the same area) racing, one gets ErrBookingOverlap
// in the index they share. It returns the areas it held, for undo (none,
// not nil, when the first hold fails: release reads nil as every area).
func (s *Service) hold(ctx context.Context, sl slots) ([]uuid.UUID, error) {
	held := []uuid.UUID{}
	for _, a := range sl.chain {
		if _, err := s.holdOne(ctx, sl, a); err != nil {
			return held, err
		}
		held = append(held, a)
	}
	return held, nil
}

// release frees the booking's slots in the given areas' indexes (all of
// the chain when areas is nil).
func (s *Service) release(ctx context.Context, sl slots, areas []uuid.UUID) (Result, error) {
	if areas == nil {
		areas = sl.chain
	}
	var res Result
	for _, a := range areas {
		r, err := Run(ctx, s.p, areaIndexAgg, a, "ReleaseBookingSlot", booking.Release{
			AreaID: a, BookingID: sl.bookingID, AccountID: sl.accountID, PropertyID: sl.propertyID})
		if err != nil {
			return res, err
		}
		res = later(res, r)
	}
	return res, nil
}

// restore gives back what a failed change held in areas: the old slots
// where the booking had them (old.chain), nothing elsewhere.
func (s *Service) restore(ctx context.Context, old slots, areas []uuid.UUID) error {
	var errs []error
	for _, a := range areas {
		var err error
		if slices.Contains(old.chain, a) {
			_, err = s.holdOne(ctx, old, a)
		} else {
			_, err = s.release(ctx, old, []uuid.UUID{a})
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// gone lists the areas of old's chain that next's does not have.
func gone(old, next slots) []uuid.UUID {
	out := []uuid.UUID{}
	for _, a := range old.chain {
		if !slices.Contains(next.chain, a) {
			out = append(out, a)
		}
	}
	return out
}
