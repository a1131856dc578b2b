package commands

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
)

// CreateGroup is a custom user group to add to a property. Area groups are
// made by the area's handler, never through this command.
type CreateGroup struct {
	PropertyID  uuid.UUID
	DisplayName string
	GroupType   group.Type
}

// CreatedGroup is a new user group.
type CreatedGroup struct {
	UserGroupID uuid.UUID
	Result
}

// CreateGroup adds a custom user group to a property of the actor's
// account. Needs `manage-access` (or `owner`) for that property.
func (s *Service) CreateGroup(ctx context.Context, c CreateGroup) (CreatedGroup, error) {
	actor, err := s.authorizeGroupProperty(ctx, c.PropertyID)
	if err != nil {
		return CreatedGroup{}, err
	}
	id, err := s.newRootID(ctx, "group", group.Category)
	if err != nil {
		return CreatedGroup{}, err
	}
	res, err := Run(ctx, s.p, groupAgg, id, "CreateUserGroup", group.Create{
		UserGroupID: id, AccountID: actor.AccountID, PropertyID: c.PropertyID,
		DisplayName: c.DisplayName, GroupType: c.GroupType, GroupSource: group.SourceCustom,
	})
	if err != nil {
		return CreatedGroup{}, err
	}
	return CreatedGroup{UserGroupID: id, Result: res}, nil
}

// UpdateGroup replaces a group's writable fields (name and type).
func (s *Service) UpdateGroup(ctx context.Context, propertyID, groupID uuid.UUID, c group.Update) (Result, error) {
	return s.onGroup(ctx, propertyID, groupID, "UpdateUserGroup", func(st group.State, now time.Time) ([]domain.Event, error) {
		return c.Decide(st, now)
	})
}

// DeleteGroup removes a custom group and its memberships; an area's own
// group goes only with its area (group.ErrAreaGroup, a conflict).
func (s *Service) DeleteGroup(ctx context.Context, propertyID, groupID uuid.UUID) (Result, error) {
	return s.onGroup(ctx, propertyID, groupID, "DeleteUserGroup", func(st group.State, now time.Time) ([]domain.Event, error) {
		return group.Delete{}.Decide(st, now)
	})
}

// AddMember makes a user of the actor's account a member of a group, from
// ValidFrom until ValidUntil (nil ends are open). Adding a member again
// replaces the window, or changes nothing when it is the same.
type AddMember struct {
	PropertyID  uuid.UUID
	UserGroupID uuid.UUID
	UserID      uuid.UUID
	ValidFrom   *time.Time
	ValidUntil  *time.Time
}

// AddMember adds a user to a group. Needs `manage-access` (or `owner`) for
// the group's property; a user that does not exist in the account is 404.
func (s *Service) AddMember(ctx context.Context, c AddMember) (Result, error) {
	u, err := Load(ctx, s.p, userAgg, c.UserID)
	if err != nil {
		return Result{}, err
	}
	return s.onGroup(ctx, c.PropertyID, c.UserGroupID, "AddUserToUserGroup", func(st group.State, now time.Time) ([]domain.Event, error) {
		if !u.State.Exists() || u.State.AccountID() != st.AccountID() {
			return nil, user.ErrNotFound
		}
		return group.AddMember{UserID: c.UserID, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil}.Decide(st, now)
	})
}

// RemoveMember ends a user's membership of a group.
func (s *Service) RemoveMember(ctx context.Context, propertyID, groupID, userID uuid.UUID) (Result, error) {
	return s.onGroup(ctx, propertyID, groupID, "RemoveUserFromUserGroup", func(st group.State, now time.Time) ([]domain.Event, error) {
		return group.RemoveMember{UserID: userID}.Decide(st, now)
	})
}

// Memberships finds a user's groups in the read model, for the cascade of
// a user's deletion.
type Memberships interface {
	// GroupIDsOfUser lists every group whose log still has the user as a
	// member, also once the user is deleted.
	GroupIDsOfUser(ctx context.Context, accountID, userID uuid.UUID) ([]uuid.UUID, error)
}

// SetMemberships supplies the read model RemoveUserFromAllGroups consults.
// Call it while wiring, before the service takes commands.
func (s *Service) SetMemberships(m Memberships) { s.memberships = m }

var errNoMemberships = errors.New("commands: no memberships reader wired (Service.SetMemberships)")

// RemoveUserFromAllGroups ends every membership of a user of the actor's
// account, in every property: the cascade of DeleteUser, which has already
// authorized the deletion. The actor needs `manage-access` (or `owner`) in
// some scope. Groups deleted meanwhile, and memberships already ended, are
// skipped. The result is the furthest append, for read-your-writes.
func (s *Service) RemoveUserFromAllGroups(ctx context.Context, userID uuid.UUID) (Result, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return Result{}, ErrNoActor
	}
	if !holdsAnyScope(actor, domain.PermManageAccess, domain.PermOwner) {
		return Result{}, ErrPermission
	}
	if s.memberships == nil {
		return Result{}, errNoMemberships
	}
	u, err := Load(ctx, s.p, userAgg, userID)
	if err != nil {
		return Result{}, err
	}
	if !u.Exists || u.State.AccountID() != actor.AccountID {
		return Result{}, user.ErrNotFound
	}
	groupIDs, err := s.memberships.GroupIDsOfUser(ctx, actor.AccountID, userID)
	if err != nil {
		return Result{}, err
	}
	var out Result
	for _, groupID := range groupIDs {
		res, err := Execute(ctx, s.p, groupAgg, groupID, "RemoveUserFromAllGroups", func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
			st := l.State
			if !st.Exists() || st.AccountID() != actor.AccountID {
				return nil, nil
			}
			if _, member := st.Member(userID); !member {
				return nil, nil
			}
			return group.RemoveMember{UserID: userID}.Decide(st, now)
		})
		if err != nil {
			return Result{}, err
		}
		if res.Position > out.Position {
			out = res
		}
	}
	return out, nil
}

// onGroup runs a decision on a group of the actor's account in the
// property named, once the actor is found to hold `manage-access` (or
// `owner`) there. A group of another account or another property is the
// same 404 as a missing one; so is a group in a property outside the
// actor's scope.
func (s *Service) onGroup(ctx context.Context, propertyID, groupID uuid.UUID, name string, decide func(group.State, time.Time) ([]domain.Event, error)) (Result, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return Result{}, ErrNoActor
	}
	// A deleted property's groups went with it, as its areas did.
	prop, err := Load(ctx, s.p, propertyAgg, propertyID)
	if err != nil {
		return Result{}, err
	}
	if prop.State.Deleted() {
		return Result{}, group.ErrNotFound
	}
	return Execute(ctx, s.p, groupAgg, groupID, name, func(l Loaded[group.State], now time.Time) ([]domain.Event, error) {
		st := l.State
		if !st.Exists() || st.AccountID() != actor.AccountID || st.PropertyID() != propertyID {
			return nil, group.ErrNotFound
		}
		if err := authorizeManageAccess(actor, propertyID, group.ErrNotFound); err != nil {
			return nil, err
		}
		return decide(st, now)
	})
}

// authorizeGroupProperty checks that a property exists in the actor's
// account and that the actor manages access there.
func (s *Service) authorizeGroupProperty(ctx context.Context, propertyID uuid.UUID) (domain.Actor, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return actor, ErrNoActor
	}
	if err := domain.RequireID("propertyId", propertyID); err != nil {
		return actor, err
	}
	prop, err := Load(ctx, s.p, propertyAgg, propertyID)
	if err != nil {
		return actor, err
	}
	if !prop.State.Exists() || prop.State.AccountID() != actor.AccountID {
		return actor, property.ErrNotFound
	}
	return actor, authorizeManageAccess(actor, propertyID, property.ErrNotFound)
}

// authorizeManageAccess lets through an actor holding `manage-access` (or
// `owner`) for propertyID. One that may read the property but not manage
// it gets ErrPermission; one whose scope leaves the property out gets
// notFound.
func authorizeManageAccess(actor domain.Actor, propertyID uuid.UUID, notFound error) error {
	if actor.CanAny(propertyID, domain.PermManageAccess) {
		return nil
	}
	if err := AuthorizeRead(actor, propertyID, notFound); err != nil {
		return err
	}
	return ErrPermission
}
