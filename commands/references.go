package commands

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// A body that names another entity must name one of the caller's account
// that exists: a key scoped to another account's property, or an access
// manager who is nobody's user, would be a dead reference. The log is
// read, not a read model, so an entity created a moment ago counts.
// Another account's id gets the same answer as an id nobody has.

// ErrNoSuchUser and ErrNoSuchProperty answer a reference to a user or a
// property that is not one of the account's (the nil UUID, which names
// none, included).
var (
	ErrNoSuchUser     = domain.NewError(domain.ErrUnprocessable, "no such user")
	ErrNoSuchProperty = domain.NewError(domain.ErrUnprocessable, "no such property")
)

// requireUser checks that id is a user of the account.
func (s *Service) requireUser(ctx context.Context, accountID, id uuid.UUID, field string) error {
	u, err := Load(ctx, s.p, userAgg, id)
	if err != nil {
		return err
	}
	if !u.State.Exists() || u.State.AccountID() != accountID {
		return ErrNoSuchUser.At(field)
	}
	return nil
}

// requireUsers checks that each id is a user of the account, but those
// of kept: ids already stored stay valid after their user is deleted, so
// that a PUT sending back the whole object it read still succeeds.
func (s *Service) requireUsers(ctx context.Context, accountID uuid.UUID, field string, ids []uuid.UUID, kept ...uuid.UUID) error {
	for i, id := range ids {
		if slices.Contains(kept, id) {
			continue
		}
		if err := s.requireUser(ctx, accountID, id, fmt.Sprintf("%s[%d]", field, i)); err != nil {
			return err
		}
	}
	return nil
}

// requireGrantTargets checks that each grant's property and user scopes
// name the account's own live ones, but for the grants of kept: a grant
// already stored, exactly as stored, stays valid after its property or
// user is deleted, as access managers do, so that a PUT sending back the
// whole object it read still succeeds. Any other grant naming a deleted
// property or user (another permission in it, say) is a new grant there
// and is refused. field names the list (apiPermissions, userPermissions).
func (s *Service) requireGrantTargets(ctx context.Context, accountID uuid.UUID, field string, grants []domain.Grant, kept ...domain.Grant) error {
	for i, g := range grants {
		if slices.Contains(kept, g) {
			continue
		}
		if g.PropertyID != uuid.Nil {
			p, err := Load(ctx, s.p, propertyAgg, g.PropertyID)
			if err != nil {
				return err
			}
			at := fmt.Sprintf("%s[%d].propertyId", field, i)
			if p.State.Deleted() && p.State.AccountID() == accountID {
				return domain.NewError(domain.ErrUnprocessable, "the property is deleted").At(at)
			}
			if !p.State.Exists() || p.State.AccountID() != accountID {
				return ErrNoSuchProperty.At(at)
			}
		}
		if g.UserID != uuid.Nil {
			if err := s.requireUser(ctx, accountID, g.UserID, fmt.Sprintf("%s[%d].userId", field, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
