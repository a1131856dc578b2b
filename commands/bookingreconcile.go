package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/group"
)

// reconcileBatch bounds the stays one page of a reconciliation reads.
const reconcileBatch = 200

// Reconcile repairs what a crash between a booking's status event and its
// membership write left wrong: a checked-in guest user who is not a
// member of the booked area's group until the booking's end becomes one
// (unless that user was deleted: see EndBookingsOfUser);
// a guest checked out (or completed) before the end who is still a member
// by the stay's membership is removed. The list comes from the read model,
// the decision from the aggregates. Each repair runs under an idempotency
// key derived from the booking, its window and the group's revision at
// which the membership was found wrong (the drift), so its event ids are
// deterministic and a repair never doubles, even racing the command it
// completes, while a membership changed by hand again later is a new drift
// and repaired again. It returns how many repairs it made (two schedulers
// racing on the same repair append it once and may both count it).
func (b *BookingScheduler) Reconcile(ctx context.Context) (int, error) {
	n := 0
	after := uuid.Nil
	for {
		stays, err := b.due.Stays(ctx, b.s.p.Now(), after, reconcileBatch)
		if err != nil {
			return n, fmt.Errorf("reconcile stays: %w", err)
		}
		for _, st := range stays {
			fixed, err := b.reconcile(ctx, st)
			if err != nil {
				return n, fmt.Errorf("reconcile booking %s: %w", st.BookingID, err)
			}
			n += fixed
			after = st.BookingID
		}
		if len(stays) < reconcileBatch {
			return n, nil
		}
	}
}

// reconcile makes one booking's membership follow its status.
func (b *BookingScheduler) reconcile(ctx context.Context, stay booking.Stay) (int, error) {
	l, err := Load(ctx, b.s.p, bookingAgg, stay.BookingID)
	if err != nil {
		return 0, err
	}
	st := l.State
	if !st.Exists() || st.GuestUserID() == uuid.Nil || !st.End().After(b.s.p.Now()) {
		return 0, nil // nobody to admit, or the membership has expired anyway
	}
	end := st.End()
	ctx = domain.WithActor(ctx, domain.Actor{AccountID: st.AccountID(),
		Grants: []domain.Grant{{Permission: domain.PermOwner, PropertyID: st.PropertyID()}}})
	var decide func(group.State, time.Time) ([]domain.Event, error)
	var step string
	switch st.Status() {
	case booking.StatusCheckedIn:
		// A deleted guest user is nobody to admit: their deletion, which
		// ends the stay, ended or is to end their memberships, and the
		// reconciliation must not give one back meanwhile.
		deleted, err := b.s.guestUserDeleted(ctx, st)
		if err != nil || deleted {
			return 0, err
		}
		step = "stay"
		decide = func(g group.State, now time.Time) ([]domain.Event, error) {
			return group.AddMember{UserID: st.GuestUserID(), ValidUntil: &end, BookingID: st.ID()}.Decide(g, now)
		}
	case booking.StatusCheckedOut, booking.StatusCompleted:
		step = "unstay"
		decide = func(g group.State, now time.Time) ([]domain.Event, error) {
			// Only the stay's own membership goes: one with another
			// window was given for another reason after the stay.
			m, member := g.Member(st.GuestUserID())
			if !member || m.ValidUntil == nil || !m.ValidUntil.Equal(end) {
				return nil, nil
			}
			return group.RemoveMember{UserID: st.GuestUserID()}.Decide(g, now)
		}
	default:
		return 0, nil
	}
	// The group as it stands: most stays need no repair, and those cost
	// no keyed load (every event id of the group's stream).
	g, err := Load(ctx, b.s.p, groupAgg, st.AreaUserGroupID())
	if err != nil {
		return 0, err
	}
	if !g.State.Exists() {
		return 0, nil // the area is gone, and its group with it
	}
	if events, err := decide(g.State, b.s.p.Now()); err != nil || len(events) == 0 {
		if errors.Is(err, group.ErrNotMember) {
			err = nil
		}
		return 0, err
	}
	// The key names the drift: the booking, its end, and the group's
	// revision at which the membership was found wrong. Two schedulers
	// that see the same drift at the same revision derive the same event
	// ids, so one repair is appended; one that saw it at another revision
	// (an unrelated member changed between the two reads) decides against
	// the stream as it is when appending, at its exact revision, so it
	// finds the first repair made and appends nothing. A membership changed
	// by hand after a repair is found at a later revision: a new drift,
	// repaired again, where a key of the booking alone replayed the first
	// repair and left it wrong.
	ctx = withInternalKey(ctx, fmt.Sprintf("booking-scheduler/%s/%s/%s/%d", step, st.ID(), end.UTC().Format(time.RFC3339Nano), g.Revision))
	ctx = WithCorrelationID(ctx, "booking-scheduler-"+step+"-"+st.ID().String())
	res, err := Execute(ctx, b.s.p, groupAgg, st.AreaUserGroupID(), "ReconcileBookingStay", func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
		if !l.State.Exists() {
			return nil, nil // the area is gone, and its group with it
		}
		return decide(l.State, now)
	})
	if errors.Is(err, group.ErrNotMember) {
		return 0, nil
	}
	if err != nil || res.Replayed || len(res.Events) == 0 {
		return 0, err
	}
	return 1, nil
}
