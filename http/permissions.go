package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
)

// permissionInput is one `apiPermissions`/`userPermissions` entry as sent.
// Its scopes are kept raw so that a scope left out, the only way to ask for
// an account-wide grant, is told apart from one given as null, `""` or the
// nil UUID: each of those would otherwise read as no scope, and a client
// that lost the id it meant to scope to would grant the whole account.
type permissionInput struct {
	Permission string          `json:"permission"`
	PropertyID json.RawMessage `json:"propertyId,omitempty"`
	UserID     json.RawMessage `json:"userId,omitempty"`
}

// grantsOf parses permission entries, naming the exact field at fault: a
// malformed entry is a 400; a scope given as the nil UUID names no
// property or user, a 422 as for an id of nobody's (after every 400 of the
// list, as the commands' check of the ids comes after them).
func grantsOf(field string, in []permissionInput) ([]domain.Grant, error) {
	out := make([]domain.Grant, 0, len(in))
	var noTarget error
	for i, p := range in {
		at := fmt.Sprintf("%s[%d]", field, i)
		g := domain.Grant{Permission: domain.Permission(p.Permission)}
		if !g.Permission.Valid() {
			return nil, domain.InvalidField(at+".permission", fmt.Sprintf("unknown permission %q", p.Permission))
		}
		for _, s := range []struct {
			name    string
			raw     json.RawMessage
			dst     *uuid.UUID
			unknown *domain.Error
			absent  string
		}{
			{"propertyId", p.PropertyID, &g.PropertyID, commands.ErrNoSuchProperty, "an account-wide grant"},
			{"userId", p.UserID, &g.UserID, commands.ErrNoSuchUser, "a grant other than `me`"},
		} {
			id, given, err := scopeID(at+"."+s.name, s.raw, s.absent)
			if err != nil {
				return nil, err
			}
			if given && id == uuid.Nil && noTarget == nil {
				noTarget = s.unknown.At(at + "." + s.name)
			}
			*s.dst = id
		}
		out = append(out, g)
	}
	if noTarget != nil {
		return nil, noTarget
	}
	return out, nil
}

// scopeID parses a grant's scope as sent: absent is no scope; anything
// else must be a UUID, null and `""` included, which would otherwise pass
// for absent. absent says what leaving the field out asks for.
func scopeID(field string, raw json.RawMessage, absent string) (id uuid.UUID, given bool, err error) {
	if raw == nil {
		return uuid.Nil, false, nil
	}
	if bytes.Equal(raw, []byte("null")) {
		return uuid.Nil, true, domain.InvalidField(field, "must be a UUID (leave it out for "+absent+")")
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return uuid.Nil, true, domain.InvalidField(field, "must be a string")
	}
	if id, err = uuid.Parse(s); err != nil || len(s) != 36 {
		return uuid.Nil, true, domain.InvalidField(field, "must be a UUID")
	}
	return id, true, nil
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
