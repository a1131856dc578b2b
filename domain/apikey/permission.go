package apikey

import (
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Permission is one entry of `apiPermissions` (the reference's
// UserPermission) as events carry it: a permission, optionally scoped to a
// property, and for `me` to the user it names. Users hold the same entries.
type Permission struct {
	Permission domain.Permission `json:"permission"`
	PropertyID uuid.UUID         `json:"propertyId,omitzero"`
	UserID     uuid.UUID         `json:"userId,omitzero"`
}

// Grant returns the entry as the domain's Grant.
func (p Permission) Grant() domain.Grant {
	return domain.Grant{Permission: p.Permission, PropertyID: p.PropertyID, UserID: p.UserID}
}

// FromGrants turns grants into event entries (nil for none).
func FromGrants(gs []domain.Grant) []Permission {
	if len(gs) == 0 {
		return nil
	}
	out := make([]Permission, len(gs))
	for i, g := range gs {
		out[i] = Permission{Permission: g.Permission, PropertyID: g.PropertyID, UserID: g.UserID}
	}
	return out
}

// ToGrants turns event entries back into grants (nil for none).
func ToGrants(ps []Permission) []domain.Grant {
	if len(ps) == 0 {
		return nil
	}
	out := make([]domain.Grant, len(ps))
	for i, p := range ps {
		out[i] = p.Grant()
	}
	return out
}

// MaxGrants bounds the grants of a list a command gives: a key's
// `apiPermissions`, a user's `userPermissions`.
const MaxGrants = 100

// ValidateGrants checks a permission list a command gives: at most
// MaxGrants entries, each valid (see ValidateGrantEntries). held are the
// grants the list replaces, of a list stored before these rules: one
// longer than MaxGrants may be given back as long, not longer, so that
// rewriting it (a PUT sending back what it read, one grant changed) is not
// refused for what it already held. Only commands are checked: the events
// of a list stored before still apply as they are.
func ValidateGrants(field string, gs []domain.Grant, held ...domain.Grant) error {
	if len(gs) > MaxGrants && len(gs) > len(held) {
		return domain.InvalidField(field, fmt.Sprintf("at most %d entries", MaxGrants))
	}
	return ValidateGrantEntries(field, gs, held...)
}

// ValidateGrantEntries checks every entry of a permission list: a known
// permission; `me` names the user it is for, and only `me` names a user;
// every `me` of the list names the same user, since a key acts as one
// user (with two, it would act as one and be taken for both), but for the
// `me` grants of held: a list stored before this rule keeps the users it
// named, so that rewriting it (a user's other grants changed) is not
// refused for what it already held; it names no new one beside them. No
// entry is listed twice exactly (permission and scopes), but as often as
// held lists it, for the same reason.
// field is the list's input name (`apiPermissions`, `userPermissions`), so
// an error names the exact entry: `apiPermissions[1].userId`.
func ValidateGrantEntries(field string, gs []domain.Grant, held ...domain.Grant) error {
	var me uuid.UUID
	seen := make(map[domain.Grant]int, len(gs))
	var heldCount map[domain.Grant]int
	for i, g := range gs {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !g.Permission.Valid():
			return domain.InvalidField(at+".permission", fmt.Sprintf("unknown permission %q", g.Permission))
		case g.Permission == domain.PermMe && g.UserID == uuid.Nil:
			return domain.InvalidField(at+".userId", "the `me` permission needs the userId it is for")
		case g.Permission != domain.PermMe && g.UserID != uuid.Nil:
			return domain.InvalidField(at+".userId", "only the `me` permission is scoped to a user")
		case g.Permission == domain.PermMe && me != uuid.Nil && g.UserID != me && !(holdsMe(held, me) && holdsMe(held, g.UserID)):
			return domain.InvalidField(at+".userId", fmt.Sprintf("a list acts as one user: `me` already names %s", me))
		case g.Permission == domain.PermMe:
			me = g.UserID
		}
		if seen[g]++; seen[g] > 1 {
			if heldCount == nil {
				heldCount = make(map[domain.Grant]int, len(held))
				for _, h := range held {
					heldCount[h]++
				}
			}
			if seen[g] > heldCount[g] {
				return domain.InvalidField(at, "is listed twice")
			}
		}
	}
	return nil
}

// holdsMe reports whether grants hold `me` for userID.
func holdsMe(grants []domain.Grant, userID uuid.UUID) bool {
	return slices.Contains(grants, domain.Grant{Permission: domain.PermMe, UserID: userID})
}
