package commands

import (
	"slices"

	"github.com/accessd/accessd/domain"
)

// ErrGrantOutOfScope refuses a user's grant for a property (or the whole
// account) outside the caller's own scope.
var ErrGrantOutOfScope = domain.NewError(domain.ErrForbidden,
	"a grant for a property needs manage-access or owner there; an account-wide grant needs it account-wide")

// grantsInScope returns the grants a user gets when the actor sends after
// in place of before: a grant outside the actor's scope (one it could not
// manage itself) may be neither added nor removed, so a key scoped to one
// property cannot give anyone access to another, and the grants it cannot
// see (the user's answer hides them) are kept as they were. `me` grants
// name a user, not a property, and follow the user rules.
func grantsInScope(actor domain.Actor, before, after []domain.Grant) ([]domain.Grant, error) {
	inScope := func(g domain.Grant) bool {
		return g.Permission == domain.PermMe || actor.Can(domain.PermManageAccess, g.PropertyID)
	}
	var out []domain.Grant
	for _, g := range before {
		if !inScope(g) {
			out = append(out, g)
		}
	}
	for _, g := range after {
		switch {
		case inScope(g):
			out = append(out, g)
		case !slices.Contains(before, g):
			return nil, ErrGrantOutOfScope
		}
	}
	return out, nil
}
