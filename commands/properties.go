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
	id, err := s.newRootID(ctx, "property", property.Category)
	if err != nil {
		return NewProperty{}, err
	}
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

// PropertyScopedUsers finds, in the read model, the users whose
// userPermissions name a property, for the cascade of its deletion.
type PropertyScopedUsers interface {
	// UsersScopedTo lists, in id order after the given one, up to limit
	// live users of the account whose userPermissions hold a grant scoped
	// to the property, once the read models have reached position. It may
	// name more (the caller decides on each user's stream), never fewer.
	UsersScopedTo(ctx context.Context, accountID, propertyID uuid.UUID, position uint64, after uuid.UUID, limit int) ([]uuid.UUID, error)
}

// SetPropertyScopedUsers supplies the read model DeleteProperty's cascade
// consults. Call it while wiring, before the service takes commands.
func (s *Service) SetPropertyScopedUsers(u PropertyScopedUsers) { s.scopedUsers = u }

var errNoScopedUsers = errors.New("commands: no property-scoped users reader wired (Service.SetPropertyScopedUsers)")

// membersBatch bounds the events one append of a property's deletion
// makes to its members stream (invitations withdrawn, memberships ended),
// to stay well under a backend's largest append (KurrentDB's is 1 MiB by
// default).
const membersBatch = 200

// DeleteProperty removes a property that no lock is in any more, then
// withdraws its pending invitations and erases their e-mails, ends its
// memberships, and takes the property's scopes out of every user's
// userPermissions (finishPropertyDeletion). A deletion interrupted after
// PropertyDeleted (a crash, a 503), or made before deletions did all
// that, is finished by the next DeleteProperty of the same property by a
// caller who could have deleted it, which still answers 404. A Result
// with a position may come with an error: what was recorded all the same,
// which the caller settles as if it had succeeded. Needs `manage-access`
// (or `owner`) for that property.
func (s *Service) DeleteProperty(ctx context.Context, id uuid.UUID) (Result, error) {
	if s.counts == nil {
		return Result{}, errNoCounts
	}
	if s.personal == nil {
		return Result{}, errNoPersonalData
	}
	if s.scopedUsers == nil {
		return Result{}, errNoScopedUsers
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
		// Still a 404, with what finishing recorded, for the caller to
		// settle.
		done, ferr := s.finishPropertyDeletion(ctx, actor, id, Result{})
		if ferr != nil {
			return done, ferr
		}
		return done, err
	}
	if err != nil {
		return Result{}, err
	}
	return s.finishPropertyDeletion(ctx, actor, id, res)
}

// finishPropertyDeletion is the cascade after PropertyDeleted:
//   - it withdraws every pending invitation of the property (their tokens
//     stop working), membersBatch per append;
//   - it ends every membership, membersBatch per append;
//   - it erases the key of the e-mail of every invitation of the property
//     no longer pending (withdrawn now or before, or accepted, which
//     erased it already), judged on the members stream as stored (a
//     replay under the request's Idempotency-Key decides nothing);
//   - it takes every grant scoped to the property out of the
//     userPermissions of the members it removed and of every user the
//     read model shows holding one (given directly, or left by a
//     membership ended before), so that no user lists a scope of a
//     property that is no more. New grants on the property are refused
//     since its deletion (requireGrantTargets), so the read model, once
//     it reached the deletion, shows every holder.
//
// Every step records nothing for what is done already and erases its
// keys again. It returns the furthest append, for read-your-writes, with
// an error too: what was recorded before the failure is for the caller to
// settle.
func (s *Service) finishPropertyDeletion(ctx context.Context, actor domain.Actor, propertyID uuid.UUID, res Result) (Result, error) {
	prop, err := Load(ctx, s.p, propertyAgg, propertyID)
	if err != nil {
		return res, err
	}
	if !prop.State.Deleted() || prop.State.AccountID() != actor.AccountID {
		return res, nil // not this account's deleted property: nothing to finish
	}
	_, mr, err := s.onMembersInBatches(ctx, actor, propertyID, "WithdrawInvitationsOfDeletedProperty", invitation.WithdrawAll{Max: membersBatch}.Decide)
	if err != nil {
		return res, fmt.Errorf("withdraw the invitations of deleted property %s: %w", propertyID, err)
	}
	res = furthest(res, mr)
	ended, rr, err := s.onMembersInBatches(ctx, actor, propertyID, "RemoveMembersOfDeletedProperty", invitation.RemoveAll{Max: membersBatch}.Decide)
	if err != nil {
		return res, fmt.Errorf("remove the members of deleted property %s: %w", propertyID, err)
	}
	res = furthest(res, rr)
	var removed []uuid.UUID
	for _, e := range ended {
		if m, ok := e.(invitation.PropertyMemberRemoved); ok {
			removed = append(removed, m.UserID)
		}
	}
	// One pending now was made after the withdrawal: the next deletion
	// withdraws it.
	if err := s.eraseEmailsOfOverInvitations(ctx, actor, propertyID, invitation.State.Invitations); err != nil {
		return res, err
	}
	synced := map[uuid.UUID]bool{}
	strip := func(userID uuid.UUID) (Result, error) {
		if synced[userID] {
			return Result{}, nil
		}
		synced[userID] = true
		ur, err := s.syncMemberGrants(ctx, propertyID, userID, Result{})
		if err != nil {
			return Result{}, fmt.Errorf("take the grants of deleted property %s from user %s: %w", propertyID, userID, err)
		}
		return ur, nil
	}
	for _, id := range removed {
		ur, err := strip(id)
		if err != nil {
			return res, err
		}
		res = furthest(res, ur)
	}
	sr, err := eachListed(func(after uuid.UUID, limit int) ([]uuid.UUID, error) {
		return s.scopedUsers.UsersScopedTo(ctx, actor.AccountID, propertyID, prop.Position, after, limit)
	}, strip)
	if err != nil {
		return res, err
	}
	return furthest(res, sr), nil
}

// onMembersInBatches runs a step of a deleted property's cascade on its
// members stream until an append holds fewer than membersBatch events
// (decide records at most that many), and answers every event it
// appended (or, under a replayed Idempotency-Key, had appended) with the
// furthest append. Each batch is its own command name, so that the event
// ids a key derives differ from one batch to the next.
func (s *Service) onMembersInBatches(ctx context.Context, actor domain.Actor, propertyID uuid.UUID, name string, decide func(invitation.State, time.Time) ([]domain.Event, error)) ([]domain.Event, Result, error) {
	var events []domain.Event
	var out Result
	for batch := 0; ; batch++ {
		step := name
		if batch > 0 {
			step = fmt.Sprintf("%s/%d", name, batch)
		}
		r, err := Execute(ctx, s.p, membersAgg, propertyID, step, func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
			if l.State.AccountID() != actor.AccountID {
				return nil, nil // nobody was ever invited: nothing to withdraw or end
			}
			return decide(l.State, now)
		})
		if err != nil {
			return nil, Result{}, err
		}
		out = furthest(out, r)
		events = append(events, r.Events...)
		if len(r.Events) < membersBatch {
			return events, out, nil
		}
	}
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
