package httpapi

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// permissionInput is one `apiPermissions`/`userPermissions` entry as sent.
type permissionInput struct {
	Permission string `json:"permission"`
	PropertyID string `json:"propertyId,omitempty"`
	UserID     string `json:"userId,omitempty"`
}

// grantsOf parses permission entries, naming the exact field at fault.
func grantsOf(field string, in []permissionInput) ([]domain.Grant, error) {
	out := make([]domain.Grant, 0, len(in))
	for i, p := range in {
		at := fmt.Sprintf("%s[%d]", field, i)
		g := domain.Grant{Permission: domain.Permission(p.Permission)}
		if !g.Permission.Valid() {
			return nil, domain.InvalidField(at+".permission", fmt.Sprintf("unknown permission %q", p.Permission))
		}
		var err error
		if g.PropertyID, err = optionalUUID(at+".propertyId", p.PropertyID); err != nil {
			return nil, err
		}
		if g.UserID, err = optionalUUID(at+".userId", p.UserID); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// requiredUUID parses a mandatory UUID body field.
func requiredUUID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, domain.InvalidField(field, "is required")
	}
	return optionalUUID(field, s)
}

// optionalUUID parses a UUID body field that may be absent.
func optionalUUID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, domain.InvalidField(field, "must be a UUID")
	}
	return id, nil
}
