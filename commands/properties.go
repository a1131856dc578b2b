package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/domain/property"
)

// Counts answers how many things are still inside a property or an area,
// as the read models see them, for the deletes that such things refuse.
type Counts interface {
	// InstalledLocks counts the account's locks still in the property (in
	// one of its areas or not).
	InstalledLocks(ctx context.Context, accountID, propertyID uuid.UUID) (int, error)
	// AreaChildren counts the account's locks installed in the area and
	// its areas directly under it.
	AreaChildren(ctx context.Context, accountID, areaID uuid.UUID) (locks, subAreas int, err error)
}

// errNoCounts is a wiring fault: a delete that must count what is inside
// runs without a Counts.
var errNoCounts = errors.New("commands: no Counts wired (Service.SetCounts)")

// SetCounts gives the service what property and area deletes count with.
// It is called once, at wiring, before the service takes requests.
func (s *Service) SetCounts(c Counts) { s.counts = c }

// CreateProperty adds a property to the actor's account; an empty Timezone
// means UTC.
type CreateProperty struct {
	DisplayName      string
	Address          *domain.Address
	Timezone         string
	AccessManagerIDs []uuid.UUID
	ExternalRefs     []domain.ExternalRef
	// BookingSettings: nil means the defaults.
	BookingSettings *property.BookingSettings
}

// NewProperty is a created property.
type NewProperty struct {
	PropertyID uuid.UUID
	Result
}

// CreateProperty needs `manage-access` (or `owner`) for the whole account:
// the property is not there yet to be scoped to.
func (s *Service) CreateProperty(ctx context.Context, c CreateProperty) (NewProperty, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermManageAccess)
	if err != nil {
		return NewProperty{}, err
	}
	if err := s.requireUsers(ctx, actor.AccountID, "accessManagerIds", c.AccessManagerIDs); err != nil {
		return NewProperty{}, err
	}
	id := s.newID(ctx, "property")
	res, err := Run(ctx, s.p, propertyAgg, id, "CreateProperty", property.Create{
		PropertyID: id, AccountID: actor.AccountID, DisplayName: c.DisplayName, Address: c.Address,
		Timezone: c.Timezone, AccessManagerIDs: c.AccessManagerIDs, ExternalRefs: c.ExternalRefs,
		BookingSettings: c.BookingSettings,
	})
	if err != nil {
		return NewProperty{}, err
	}
	return NewProperty{PropertyID: id, Result: res}, nil
}

// UpdateProperty replaces every writable field of a property. Needs
// `manage-access` (or `owner`) for that property.
func (s *Service) UpdateProperty(ctx context.Context, id uuid.UUID, c property.Update) (Result, error) {
	return Execute(ctx, s.p, propertyAgg, id, "UpdateProperty", func(l Loaded[property.State], now time.Time) ([]domain.Event, error) {
		if err := authorizeProperty(ctx, l.State, domain.PermManageAccess); err != nil {
			return nil, err
		}
		if err := s.requireUsers(ctx, l.State.AccountID(), "accessManagerIds", c.AccessManagerIDs, l.State.AccessManagerIDs()...); err != nil {
			return nil, err
		}
		return c.Decide(l.State, now)
	})
}

// DeleteProperty removes a property that no lock is in any more, then
// withdraws its pending invitations and erases their e-mails
// (finishPropertyDeletion). A deletion interrupted after PropertyDeleted
// (a crash, a 503), or made before deletions withdrew invitations, is
// finished by the next DeleteProperty of the same property by a caller
// who could have deleted it, which still answers 404. Needs
// `manage-access` (or `owner`) for that property.
func (s *Service) DeleteProperty(ctx context.Context, id uuid.UUID) (Result, error) {
	if s.counts == nil {
		return Result{}, errNoCounts
	}
	if s.personal == nil {
		return Result{}, errNoPersonalData
	}
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return Result{}, ErrNoActor
	}
	var unfinished bool
	res, err := Execute(ctx, s.p, propertyAgg, id, "DeleteProperty", func(l Loaded[property.State], now time.Time) ([]domain.Event, error) {
		st := l.State
		unfinished = st.Deleted() && st.AccountID() == actor.AccountID && actor.CanAny(id, domain.PermManageAccess)
		if unfinished {
			return nil, property.ErrNotFound
		}
		if err := authorizeProperty(ctx, st, domain.PermManageAccess); err != nil {
			return nil, err
		}
		n, err := s.counts.InstalledLocks(ctx, st.AccountID(), id)
		if err != nil {
			return nil, err
		}
		return property.Delete{InstalledLocks: n}.Decide(st, now)
	})
	if unfinished {
		if _, ferr := s.finishPropertyDeletion(ctx, actor, id, Result{}); ferr != nil {
			return Result{}, ferr
		}
	}
	if err != nil {
		return Result{}, err
	}
	return s.finishPropertyDeletion(ctx, actor, id, res)
}

// finishPropertyDeletion is the cascade after PropertyDeleted: it
// withdraws every pending invitation of the property (their tokens stop
// working), then erases the key of the e-mail of every invitation of the
// property no longer pending (withdrawn now or before, or accepted, which
// erased it already), judged on the members stream as stored (a replay
// under the request's Idempotency-Key decides nothing). Every step
// records nothing for what is done already and erases its keys again. It
// returns the furthest append, for read-your-writes.
func (s *Service) finishPropertyDeletion(ctx context.Context, actor domain.Actor, propertyID uuid.UUID, res Result) (Result, error) {
	mr, err := Execute(ctx, s.p, membersAgg, propertyID, "WithdrawInvitationsOfDeletedProperty", func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
		if l.State.AccountID() != actor.AccountID {
			return nil, nil // no invitation was ever made to the property
		}
		return invitation.WithdrawAll{}.Decide(l.State, now)
	})
	if err != nil {
		return Result{}, fmt.Errorf("withdraw the invitations of deleted property %s: %w", propertyID, err)
	}
	res = furthest(res, mr)
	members, err := Load(ctx, s.p, membersAgg, propertyID)
	if err != nil {
		return Result{}, err
	}
	if members.State.AccountID() != actor.AccountID {
		return res, nil
	}
	for _, id := range members.State.Invitations() {
		if members.State.InvitationStatus(id) == invitation.StatusPending {
			continue // made after the withdrawal: the next deletion withdraws it
		}
		if err := s.personal.Erase(ctx, id); err != nil {
			return Result{}, fmt.Errorf("erase the e-mail of invitation %s: %w", id, err)
		}
	}
	return res, nil
}

// authorizeProperty checks that the actor may change property s, or what
// is in it, with one of perms (`owner` always may). A property of another
// account, or one outside the actor's scope, answers the same 404 as a
// missing one; one the actor can see but not change answers 403.
func authorizeProperty(ctx context.Context, s property.State, perms ...domain.Permission) error {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return ErrNoActor
	}
	if !s.Exists() || s.AccountID() != actor.AccountID {
		return property.ErrNotFound
	}
	if actor.CanAny(s.ID(), perms...) {
		return nil
	}
	if err := AuthorizeRead(actor, s.ID(), property.ErrNotFound); err != nil {
		return err
	}
	return ErrPermission
}

// loadProperty loads a property and checks that the actor may change what
// is in it with one of perms.
func (s *Service) loadProperty(ctx context.Context, id uuid.UUID, perms ...domain.Permission) (domain.Actor, property.State, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return actor, property.State{}, ErrNoActor
	}
	l, err := Load(ctx, s.p, propertyAgg, id)
	if err != nil {
		return actor, property.State{}, err
	}
	if err := authorizeProperty(ctx, l.State, perms...); err != nil {
		return actor, property.State{}, err
	}
	return actor, l.State, nil
}
