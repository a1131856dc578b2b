package commands

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/booking"
)

// DueBookings lists the bookings whose time-driven transition is due: the
// bookings read model, so the due list survives restarts. Stays lists,
// in booking id order after the given one, the bookings of a guest user
// that are checked in, or checked out before an end still to come: the
// ones whose membership Reconcile checks.
type DueBookings interface {
	Due(ctx context.Context, now time.Time, limit int) ([]booking.Due, error)
	Stays(ctx context.Context, now time.Time, after uuid.UUID, limit int) ([]booking.Stay, error)
}

// BookingScheduler issues the scheduled transitions of bookings: the door
// check-in once a granted opening was seen, noCheckIn at start plus the
// grace period, completed at the end. Each
// runs under an idempotency key derived from the booking and the
// transition, so its event id is deterministic and a transition never
// fires twice, whatever restarts or repeated ticks happen.
//
// The keys are internal (withInternalKey): they live in a key space no
// client's Idempotency-Key reaches, so a client sending the key's text
// ("booking-scheduler/noCheckIn/<id>") neither pre-empts a step (its ids
// are its own) nor suppresses one (the scheduler never reads its events
// as the step already done). Builds before that derived the ids from the
// bare text. A step one of them appended is not run again by a newer
// build: the booking's status already refuses the transition, and where
// a step spans streams (the slot release and the membership after a
// status event) Execute also reads an event under the old id as done,
// but only one no client wrote (no API key, user or request fingerprint
// in its metadata), since a client can make those ids.
type BookingScheduler struct {
	s   *Service
	due DueBookings
	log *slog.Logger
	// standing are the noCheckIn bookings whose late door opening could
	// not check the guest in yet, already logged: they stay due, and are
	// tried again (each tick, or now and then when refused for good),
	// until their end; one warning each is enough.
	standing sync.Map
	// refused are the noCheckIn bookings whose late door check-in was
	// refused for a reason that does not pass by itself (the guest never
	// registered, the guest user is deleted), each with when to try again:
	// not every tick, only in case the property's rules changed.
	refusedMu sync.Mutex
	refused   map[uuid.UUID]time.Time
}

// refusedRetryAfter is how long a refused late door check-in waits
// before it is tried again; maxRefused bounds the ones remembered.
const (
	refusedRetryAfter = 10 * time.Minute
	maxRefused        = 10000
)

// waits reports whether the booking's late door check-in was refused
// lately, for good.
func (b *BookingScheduler) waits(bookingID uuid.UUID, now time.Time) bool {
	b.refusedMu.Lock()
	defer b.refusedMu.Unlock()
	until, ok := b.refused[bookingID]
	return ok && now.Before(until)
}

// refuse remembers a refusal for good, dropping the stale ones (all of
// them, at worst: each is only tried once more) when full.
func (b *BookingScheduler) refuse(bookingID uuid.UUID, now time.Time) {
	b.refusedMu.Lock()
	defer b.refusedMu.Unlock()
	if b.refused == nil {
		b.refused = map[uuid.UUID]time.Time{}
	}
	if len(b.refused) >= maxRefused {
		maps.DeleteFunc(b.refused, func(_ uuid.UUID, until time.Time) bool { return !now.Before(until) })
		if len(b.refused) >= maxRefused {
			clear(b.refused)
		}
	}
	b.refused[bookingID] = now.Add(refusedRetryAfter)
}

// NewBookingScheduler returns a scheduler, refusing nil dependencies.
func NewBookingScheduler(s *Service, due DueBookings, log *slog.Logger) (*BookingScheduler, error) {
	if s == nil || due == nil || log == nil {
		return nil, errors.New("commands: booking scheduler needs a service, a due list and a logger")
	}
	return &BookingScheduler{s: s, due: due, log: log}, nil
}

// schedulerBatch bounds the bookings one tick handles.
const schedulerBatch = 200

// Tick runs every transition due at the pipeline's clock and returns how
// many it appended. A booking the read model shows as due but the log
// does not (read-model lag, a check-in meanwhile) is skipped.
func (b *BookingScheduler) Tick(ctx context.Context) (int, error) {
	now := b.s.p.Now()
	due, err := b.due.Due(ctx, now, schedulerBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		if d.Status == booking.StatusNoCheckIn && b.waits(d.BookingID, now) {
			continue
		}
		res, err := b.fire(ctx, d)
		if errors.Is(err, booking.ErrTransition) || errors.Is(err, booking.ErrNotDue) || errors.Is(err, booking.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		if !res.Replayed && len(res.Events) > 0 {
			n++
		}
	}
	return n, nil
}

func (b *BookingScheduler) fire(ctx context.Context, d booking.Due) (Result, error) {
	ctx = domain.WithActor(ctx, domain.Actor{AccountID: d.AccountID,
		Grants: []domain.Grant{{Permission: domain.PermOwner, PropertyID: d.PropertyID}}})
	switch d.Status {
	case booking.StatusBooked:
		if d.DoorCheckIn {
			ctx = schedulerStep(ctx, "doorAccess", d.BookingID)
			arrived := d.DoorAccessAt
			res, err := b.s.checkInBooking(ctx, d.BookingID, booking.MethodDoorAccess, uuid.Nil, &arrived)
			if !errors.Is(err, booking.ErrCheckInClosed) && !errors.Is(err, booking.ErrGuestRegistrationRequired) &&
				!errors.Is(err, booking.ErrGuestUserDeleted) {
				return res, err
			}
			// The window closed meanwhile, or the guest user is deleted
			// (the deletion, finished, cancels the booking): noCheckIn if due.
		}
		ctx = schedulerStep(ctx, "noCheckIn", d.BookingID)
		set, err := b.s.bookingSettings(ctx, d.PropertyID)
		if err != nil {
			return Result{}, err
		}
		var ended booking.State
		res, err := b.s.onBooking(ctx, mustActor(ctx), d.BookingID, "RecordNoCheckIn", func(st booking.State, now time.Time) ([]domain.Event, error) {
			ended = st
			return booking.RecordNoCheckIn{Settings: set}.Decide(st, now)
		})
		if err != nil {
			return res, err
		}
		return b.s.afterEnd(ctx, ended, res, false)
	case booking.StatusNoCheckIn:
		// The lock's log came after noCheckIn, with an opening in time:
		// the guest is checked in after all.
		if !d.DoorCheckIn {
			return Result{}, nil
		}
		ctx = schedulerStep(ctx, "lateDoorAccess", d.BookingID)
		arrived := d.DoorAccessAt
		res, err := b.s.checkInBooking(ctx, d.BookingID, booking.MethodDoorAccess, uuid.Nil, &arrived)
		if errors.Is(err, booking.ErrCheckInClosed) || errors.Is(err, booking.ErrGuestRegistrationRequired) ||
			errors.Is(err, booking.ErrGuestUserDeleted) || errors.Is(err, booking.ErrOverlap) {
			// noCheckIn cannot be undone now (another booking took the
			// slot meanwhile, say): it stands until a later tick can, and
			// says so once.
			if errors.Is(err, booking.ErrGuestRegistrationRequired) || errors.Is(err, booking.ErrGuestUserDeleted) {
				b.refuse(d.BookingID, b.s.p.Now())
			}
			if _, logged := b.standing.LoadOrStore(d.BookingID, true); !logged {
				b.log.Warn("booking scheduler: a door opening in time came after noCheckIn; it stands for now",
					"bookingId", d.BookingID, "openedAt", arrived, "err", err)
			}
			return res, booking.ErrTransition
		}
		return res, err
	case booking.StatusCheckedIn:
		ctx = schedulerStep(ctx, "completed", d.BookingID)
		return b.s.endStay(ctx, d.BookingID, "CompleteBooking", booking.Complete{}, true)
	}
	return Result{}, nil
}

// schedulerStep keys a step of the booking's (its event ids) and names it
// as the correlation of the events it appends: a retry of the step, by
// this scheduler or another, correlates the same.
func schedulerStep(ctx context.Context, step string, bookingID uuid.UUID) context.Context {
	ctx = withInternalKey(ctx, "booking-scheduler/"+step+"/"+bookingID.String())
	return WithCorrelationID(ctx, "booking-scheduler-"+step+"-"+bookingID.String())
}

func mustActor(ctx context.Context) domain.Actor {
	a, _ := domain.ActorFrom(ctx)
	return a
}

// Run ticks every interval until ctx ends, logging failures. It skips
// ticks while ready (if given) says the read models have not caught up
// since start: a due list read before then would be incomplete.
func (b *BookingScheduler) Run(ctx context.Context, interval time.Duration, ready func() bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	ticks := 0
	for {
		if ready == nil || ready() {
			// Reconcile on the first ready tick (a crash is followed by a
			// restart) and every reconcileEvery ticks after.
			if ticks%reconcileEvery == 0 {
				b.reconcileAndLog(ctx)
			}
			ticks++
			b.tickAndLog(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reconcileEvery is how many ticks pass between reconciliations: each
// loads every current stay, so it runs less often than the transitions.
const reconcileEvery = 30

func (b *BookingScheduler) reconcileAndLog(ctx context.Context) {
	n, err := b.Reconcile(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		b.log.Error("booking scheduler: reconcile", "err", err)
	case n > 0:
		b.log.Warn("booking scheduler: repaired memberships", "repairs", n)
	}
}

func (b *BookingScheduler) tickAndLog(ctx context.Context) {
	n, err := b.Tick(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		b.log.Error("booking scheduler", "err", err)
	case n > 0:
		b.log.Info("booking scheduler", "transitions", n)
	}
}
