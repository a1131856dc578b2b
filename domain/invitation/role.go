package invitation

import (
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Role is what a member is to a property; it maps to permissions scoped to
// that property (see Grants).
type Role string

// The roles of the Channex reference's property users.
const (
	RoleOwner   Role = "owner"
	RoleManager Role = "manager"
	RoleStaff   Role = "staff"
	RoleUser    Role = "user"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleManager, RoleStaff, RoleUser:
		return true
	}
	return false
}

// rolePermissions maps each role to its permissions in the property:
// owner → owner; manager → manage-access, install-lock, support;
// staff → support; user → me (the member acts only as themself).
var rolePermissions = map[Role][]domain.Permission{
	RoleOwner:   {domain.PermOwner},
	RoleManager: {domain.PermManageAccess, domain.PermInstallLock, domain.PermSupport},
	RoleStaff:   {domain.PermSupport},
	RoleUser:    {domain.PermMe},
}

// Permissions are the role's permissions with the overrides applied, in a
// stable order: the role's, then the added ones; a removal wins.
func Permissions(r Role, o Overrides) []domain.Permission {
	var out []domain.Permission
	for _, p := range append(slices.Clone(rolePermissions[r]), o.Add...) {
		if !slices.Contains(out, p) && !slices.Contains(o.Remove, p) {
			out = append(out, p)
		}
	}
	return out
}

// Grants are a member's grants: every permission of Permissions scoped to
// the property; `me` also names the user, as a `me` grant must.
func Grants(r Role, o Overrides, propertyID, userID uuid.UUID) []domain.Grant {
	ps := Permissions(r, o)
	out := make([]domain.Grant, 0, len(ps))
	for _, p := range ps {
		g := domain.Grant{Permission: p, PropertyID: propertyID}
		if p == domain.PermMe {
			g.UserID = userID
		}
		out = append(out, g)
	}
	return out
}

// GivesOwner reports whether a role with overrides makes the member an
// owner of the property.
func GivesOwner(r Role, o Overrides) bool {
	return slices.Contains(Permissions(r, o), domain.PermOwner)
}

// validRole checks a role and its overrides: known permissions, each once.
func validRole(r Role, o Overrides) error {
	if !r.Valid() {
		return domain.InvalidField("role", "must be one of owner, manager, staff, user")
	}
	for _, l := range []struct {
		name string
		ps   []domain.Permission
	}{{"overrides.add", o.Add}, {"overrides.remove", o.Remove}} {
		for i, p := range l.ps {
			at := fmt.Sprintf("%s[%d]", l.name, i)
			if !p.Valid() {
				return domain.InvalidField(at, fmt.Sprintf("unknown permission %q", p))
			}
			if slices.Index(l.ps, p) != i {
				return domain.InvalidField(at, fmt.Sprintf("%q is listed twice", p))
			}
		}
	}
	for i, p := range o.Add {
		if slices.Contains(o.Remove, p) {
			return domain.InvalidField(fmt.Sprintf("overrides.add[%d]", i), fmt.Sprintf("%q is both added and removed", p))
		}
	}
	return nil
}
