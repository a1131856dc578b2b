package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
)

// bookingAgg is one booking; areaIndexAgg one area's held slots.
var (
	bookingAgg   = Aggregate[booking.State]{Category: booking.Category, Evolve: booking.Evolve}
	areaIndexAgg = Aggregate[booking.AreaIndex]{Category: booking.AreaIndexCategory, Evolve: booking.EvolveAreaIndex, Fold: booking.FoldAreaIndex}
)

// ErrBookingOverlap: the area is already booked at an overlapping time.
var ErrBookingOverlap = booking.ErrOverlap

// BookingOverlaps finds, in the read model, access codes already in use
// by other bookings. Since the area indexes refuse overlapping bookings of
// related areas, only bookings recorded before they did can hold such
// codes; the race-free check of a code against its own booking's is the
// booking's decision (booking.CreateAccessCode).
type BookingOverlaps interface {
	CodeInUse(ctx context.Context, accountID, areaID uuid.UUID, code string, from, until time.Time) (bool, error)
}

// SetBookingOverlaps supplies the read model CreateAccessCode consults for
// codes in use; without it they are not checked. Call it while wiring,
// before the service takes commands.
func (s *Service) SetBookingOverlaps(b BookingOverlaps) { s.bookingOverlaps = b }

// bookingSettings are the booking rules of a property, as its events set
// them (the defaults for a property that never did).
func (s *Service) bookingSettings(ctx context.Context, propertyID uuid.UUID) (booking.Settings, error) {
	l, err := Load(ctx, s.p, propertyAgg, propertyID)
	if err != nil {
		return booking.Settings{}, fmt.Errorf("booking settings of property %s: %w", propertyID, err)
	}
	return settingsOf(l.State.BookingSettings()), nil
}

// settingsOf turns a property's booking settings into the booking rules.
func settingsOf(p property.BookingSettings) booking.Settings {
	return booking.Settings{
		CheckInOpensBefore:       time.Duration(p.CheckInOpensMinutesBefore) * time.Minute,
		GracePeriod:              time.Duration(p.NoCheckInGraceMinutes) * time.Minute,
		RequireGuestRegistration: p.GuestRegistrationRequired,
	}
}

// CreateBooking books an area of a property for a guest: a user of the
// account (GuestUserID), or a person given by name (Guest), registered
// with the booking with the details sealed. A guest by name gets no
// membership at check-in (there is no user to admit); access codes serve.
type CreateBooking struct {
	PropertyID, AreaID, GuestUserID uuid.UUID
	Guest                           *GuestDetails
	StartDateTime, EndDateTime      time.Time
	Source                          booking.Source
	ExternalRefs                    []domain.ExternalRef
}

// CreatedBooking is a new booking.
type CreatedBooking struct {
	BookingID uuid.UUID
	Result
}

// CreateBooking books an area. Needs `manage-access` (or `owner`) for the
// property; an overlapping live booking of the same area, of one of its
// ancestors or of one of its sub-areas is a conflict.
func (s *Service) CreateBooking(ctx context.Context, c CreateBooking) (CreatedBooking, error) {
	actor, err := s.authorizeGroupProperty(ctx, c.PropertyID)
	if err != nil {
		return CreatedBooking{}, err
	}
	ar, err := s.bookableArea(ctx, actor, c.PropertyID, c.AreaID)
	if err != nil {
		return CreatedBooking{}, err
	}
	id, err := s.newRootID(ctx, "booking", booking.Category)
	if err != nil {
		return CreatedBooking{}, err
	}
	cmd := booking.Create{
		BookingID: id, AccountID: actor.AccountID, PropertyID: c.PropertyID, AreaID: c.AreaID,
		AreaUserGroupID: ar.AreaUserGroupID(), GuestUserID: c.GuestUserID,
		StartDateTime: c.StartDateTime, EndDateTime: c.EndDateTime, Source: c.Source,
		ExternalRefs: c.ExternalRefs,
	}
	if c.Guest != nil {
		if cmd.Guest, err = s.sealGuest(ctx, *c.Guest); err != nil {
			res, err := replayIfGuestErased(ctx, s.p, bookingAgg, id, "CreateBooking", err)
			return CreatedBooking{BookingID: id, Result: res}, err
		}
	} else {
		if err := domain.RequireID("guest.userId", c.GuestUserID); err != nil {
			return CreatedBooking{}, err
		}
		u, err := Load(ctx, s.p, userAgg, c.GuestUserID)
		if err != nil {
			return CreatedBooking{}, err
		}
		if !u.State.Exists() || u.State.AccountID() != actor.AccountID {
			return CreatedBooking{}, user.ErrNotFound.At("guest.userId")
		}
	}
	// Refuse bad input before holding the slots, then hold them, then
	// record the booking; if that fails, the slots are given back.
	if _, err := cmd.Decide(booking.State{}, s.p.Now()); err != nil {
		return CreatedBooking{}, err
	}
	sl, err := s.slotsOf(ctx, actor.AccountID, c.PropertyID, c.AreaID, id, c.StartDateTime, c.EndDateTime)
	if err != nil {
		return CreatedBooking{}, err
	}
	if held, err := s.hold(ctx, sl); err != nil {
		_, relErr := s.release(ctx, sl, held)
		return CreatedBooking{}, errors.Join(err, relErr)
	}
	res, err := Run(ctx, s.p, bookingAgg, id, "CreateBooking", cmd)
	if err != nil {
		_, relErr := s.release(ctx, sl, nil)
		return CreatedBooking{}, errors.Join(err, relErr)
	}
	return CreatedBooking{BookingID: id, Result: res}, nil
}

// bookableArea loads an area of the actor's account in the property.
func (s *Service) bookableArea(ctx context.Context, actor domain.Actor, propertyID, areaID uuid.UUID) (area.State, error) {
	if err := domain.RequireID("areaId", areaID); err != nil {
		return area.State{}, err
	}
	a, err := Load(ctx, s.p, areaAgg, areaID)
	if err != nil {
		return area.State{}, err
	}
	if !a.State.Exists() || a.State.AccountID() != actor.AccountID || a.State.PropertyID() != propertyID {
		return area.State{}, area.ErrNotFound.At("areaId")
	}
	return a.State, nil
}

// UpdateBooking is a PATCH of a booking: nil fields keep their value.
type UpdateBooking struct {
	AreaID                     *uuid.UUID
	StartDateTime, EndDateTime *time.Time
}

// UpdateBooking changes a booking's dates or area. A checked-in guest's
// membership moves with the new end.
func (s *Service) UpdateBooking(ctx context.Context, bookingID uuid.UUID, c UpdateBooking) (Result, error) {
	actor, cur, err := s.loadBooking(ctx, bookingID)
	if err != nil {
		return Result{}, err
	}
	st := cur.State
	cmd := booking.Reschedule{AreaID: st.AreaID(), AreaUserGroupID: st.AreaUserGroupID(), StartDateTime: st.Start(), EndDateTime: st.End()}
	if c.AreaID != nil && *c.AreaID != st.AreaID() {
		ar, err := s.bookableArea(ctx, actor, st.PropertyID(), *c.AreaID)
		if err != nil {
			return Result{}, err
		}
		cmd.AreaID, cmd.AreaUserGroupID = *c.AreaID, ar.AreaUserGroupID()
	}
	if c.StartDateTime != nil {
		cmd.StartDateTime = *c.StartDateTime
	}
	if c.EndDateTime != nil {
		cmd.EndDateTime = *c.EndDateTime
	}
	// Refuse bad input or a refused transition first; then hold the new
	// slots, record the change, and free the old areas' slots if it moved.
	if events, err := cmd.Decide(st, s.p.Now()); err != nil || len(events) == 0 {
		return Result{Stream: bookingAgg.Stream(bookingID), Revision: cur.Revision, Position: cur.Position}, err
	}
	old, err := s.slotsOf(ctx, actor.AccountID, st.PropertyID(), st.AreaID(), bookingID, st.Start(), st.End())
	if err != nil {
		return Result{}, err
	}
	next, err := s.slotsOf(ctx, actor.AccountID, st.PropertyID(), cmd.AreaID, bookingID, cmd.StartDateTime, cmd.EndDateTime)
	if err != nil {
		return Result{}, err
	}
	if held, err := s.hold(ctx, next); err != nil {
		return Result{}, errors.Join(err, s.restore(ctx, old, held))
	}
	var after booking.State
	res, err := s.onBooking(ctx, actor, bookingID, "UpdateBooking", func(st booking.State, now time.Time) ([]domain.Event, error) {
		events, err := cmd.Decide(st, now)
		if err == nil && len(events) > 0 {
			after = booking.Evolve(st, events[0])
		}
		return events, err
	})
	if err != nil {
		// Give back what the change held: the old window where the booking
		// had slots, nothing where it had none.
		return res, errors.Join(err, s.restore(ctx, old, next.chain))
	}
	rel, err := s.release(ctx, old, gone(old, next))
	if res = later(res, rel); err != nil {
		return res, err
	}
	if len(res.Events) == 0 || after.Status() != booking.StatusCheckedIn {
		return res, nil
	}
	return s.grantStay(ctx, after, res)
}

// CheckInBooking checks a booking in and makes the guest a member of the
// booked area's group until the booking's end.
func (s *Service) CheckInBooking(ctx context.Context, bookingID uuid.UUID, method booking.CheckMethod, userID uuid.UUID) (Result, error) {
	return s.checkInBooking(ctx, bookingID, method, userID, nil)
}

// checkInBooking is CheckInBooking judged at arrivedAt when that is known
// and earlier (the scheduler's door check-in: when the door was opened).
func (s *Service) checkInBooking(ctx context.Context, bookingID uuid.UUID, method booking.CheckMethod, userID uuid.UUID, arrivedAt *time.Time) (Result, error) {
	actor, cur, err := s.loadBooking(ctx, bookingID)
	if err != nil {
		return Result{}, err
	}
	if userID != uuid.Nil {
		// Who checked in must be a user of the account: an unknown id, or
		// another account's, is a 404 like every id that names nothing.
		u, err := Load(ctx, s.p, userAgg, userID)
		if err != nil {
			return Result{}, err
		}
		if !u.State.Exists() || u.State.AccountID() != actor.AccountID {
			return Result{}, user.ErrNotFound.At("userId")
		}
	}
	set, err := s.bookingSettings(ctx, cur.State.PropertyID())
	if err != nil {
		return Result{}, err
	}
	// A guest user whose deletion has not ended the booking yet (one
	// interrupted, to be finished by the next DeleteUser) is nobody to
	// admit: the booking's decision refuses the check-in.
	guestDeleted, err := s.guestUserDeleted(ctx, cur.State)
	if err != nil {
		return Result{}, err
	}
	cmd := booking.CheckIn{Method: method, UserID: userID, Settings: set, ArrivedAt: arrivedAt, GuestUserDeleted: guestDeleted}
	// A door opened in time, seen after noCheckIn: take back the slots
	// noCheckIn released before the booking is live again, but only once
	// the decision would allow it. The slot steps run without the
	// scheduler's key: an attempt refused by a slot taken meanwhile gives
	// back what it held, and a later one, under the same key, must hold it
	// again rather than find the first hold done. Holding and releasing
	// are idempotent by themselves; the check-in keeps the key.
	var reheld *slots
	slotCtx := WithIdempotencyKey(ctx, "")
	if cur.State.Status() == booking.StatusNoCheckIn {
		if _, err := cmd.Decide(cur.State, s.p.Now()); err != nil {
			return Result{}, err
		}
		sl, err := s.slotsOf(ctx, cur.State.AccountID(), cur.State.PropertyID(), cur.State.AreaID(), bookingID, cur.State.Start(), cur.State.End())
		if err != nil {
			return Result{}, err
		}
		// The scheduler tries again each tick while a slot is taken:
		// those attempts must append nothing.
		if err := s.free(ctx, sl); err != nil {
			return Result{}, err
		}
		if held, err := s.hold(slotCtx, sl); err != nil {
			_, relErr := s.release(slotCtx, sl, held)
			return Result{}, errors.Join(err, relErr)
		}
		reheld = &sl
	}
	var after booking.State
	res, err := s.onBooking(ctx, actor, bookingID, "CheckInBooking", func(st booking.State, now time.Time) ([]domain.Event, error) {
		events, err := cmd.Decide(st, now)
		if err == nil {
			after = booking.Evolve(st, events[0])
		}
		return events, err
	})
	if err != nil {
		if reheld != nil {
			_, relErr := s.release(slotCtx, *reheld, nil)
			err = errors.Join(err, relErr)
		}
		return res, err
	}
	return s.grantStay(ctx, after, res)
}

// guestUserDeleted reports whether the booking's guest is a user who was
// deleted (false for a guest by name). A user is never undeleted, so the
// answer read before a decision still holds at it.
func (s *Service) guestUserDeleted(ctx context.Context, st booking.State) (bool, error) {
	if st.GuestUserID() == uuid.Nil {
		return false, nil
	}
	u, err := Load(ctx, s.p, userAgg, st.GuestUserID())
	if err != nil {
		return false, err
	}
	return u.State.Deleted(), nil
}

// CheckOutBooking checks a booking out and ends the guest's membership.
func (s *Service) CheckOutBooking(ctx context.Context, bookingID uuid.UUID, method booking.CheckMethod) (Result, error) {
	return s.endStay(ctx, bookingID, "CheckOutBooking", booking.CheckOut{Method: method}, true)
}

// CancelBooking cancels a booked booking.
func (s *Service) CancelBooking(ctx context.Context, bookingID uuid.UUID, reason booking.CancelReason) (Result, error) {
	return s.endStay(ctx, bookingID, "CancelBooking", booking.Cancel{Reason: reason}, false)
}

// endStay runs a transition that ends the stay, then (revoke: after a
// check-in) the guest's membership of the area's group. A booked booking
// never made one, and the guest may be a member for another reason.
func (s *Service) endStay(ctx context.Context, bookingID uuid.UUID, name string, cmd Decider[booking.State], revoke bool) (Result, error) {
	actor, cur, err := s.loadBooking(ctx, bookingID)
	if err != nil {
		return Result{}, err
	}
	res, err := s.onBooking(ctx, actor, bookingID, name, cmd.Decide)
	if err != nil {
		return res, err
	}
	return s.afterEnd(ctx, cur.State, res, revoke)
}

// afterEnd frees the ended booking's slots in its area's index and its
// ancestors' and, when revoke, ends the guest's membership.
func (s *Service) afterEnd(ctx context.Context, st booking.State, res Result, revoke bool) (Result, error) {
	sl, err := s.slotsOf(ctx, st.AccountID(), st.PropertyID(), st.AreaID(), st.ID(), st.Start(), st.End())
	if err != nil {
		return res, err
	}
	rel, err := s.release(ctx, sl, nil)
	if res = later(res, rel); err != nil || !revoke {
		return res, err
	}
	return s.revokeStay(ctx, st, res)
}

// loadBooking loads a booking the actor manages: another account's or a
// property outside the actor's scope is 404; a reader without
// `manage-access` is 403.
func (s *Service) loadBooking(ctx context.Context, bookingID uuid.UUID) (domain.Actor, Loaded[booking.State], error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return actor, Loaded[booking.State]{}, ErrNoActor
	}
	l, err := Load(ctx, s.p, bookingAgg, bookingID)
	if err != nil {
		return actor, l, err
	}
	if !l.State.Exists() || l.State.AccountID() != actor.AccountID {
		return actor, l, booking.ErrNotFound
	}
	return actor, l, authorizeManageAccess(actor, l.State.PropertyID(), booking.ErrNotFound)
}

func (s *Service) onBooking(ctx context.Context, actor domain.Actor, bookingID uuid.UUID, name string, decide func(booking.State, time.Time) ([]domain.Event, error)) (Result, error) {
	return Execute(ctx, s.p, bookingAgg, bookingID, name, func(l Loaded[booking.State], now time.Time) ([]domain.Event, error) {
		if !l.State.Exists() || l.State.AccountID() != actor.AccountID {
			return nil, booking.ErrNotFound
		}
		return decide(l.State, now)
	})
}

// grantStay makes the guest of a checked-in booking a member of the area's
// group until the booking's end (or moves the window). It runs after the
// booking's event is appended: a failure here leaves a checked-in booking
// without access, which the booking scheduler's Reconcile repairs.
func (s *Service) grantStay(ctx context.Context, st booking.State, res Result) (Result, error) {
	if st.GuestUserID() == uuid.Nil {
		return res, nil // a guest by name: no user to admit
	}
	end := st.End()
	gr, err := Execute(ctx, s.p, groupAgg, st.AreaUserGroupID(), "GrantBookingStay", func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
		return group.AddMember{UserID: st.GuestUserID(), ValidUntil: &end, BookingID: st.ID()}.Decide(l.State, now)
	})
	return later(res, gr), err
}

// revokeStay ends the guest's membership of the area's group, if any.
func (s *Service) revokeStay(ctx context.Context, st booking.State, res Result) (Result, error) {
	if st.GuestUserID() == uuid.Nil {
		return res, nil
	}
	gr, err := Execute(ctx, s.p, groupAgg, st.AreaUserGroupID(), "RevokeBookingStay", func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
		if !l.State.Exists() {
			return nil, nil
		}
		if _, member := l.State.Member(st.GuestUserID()); !member {
			return nil, nil
		}
		return group.RemoveMember{UserID: st.GuestUserID()}.Decide(l.State, now)
	})
	if errors.Is(err, group.ErrNotMember) {
		err = nil
	}
	return later(res, gr), err
}

// later returns first with the furthest position of both, for
// read-your-writes.
func later(first, second Result) Result {
	if second.Position > first.Position {
		first.Position = second.Position
	}
	first.Events = append(first.Events, second.Events...)
	return first
}
