package queries

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections/entities"
)

// PropertyScopedUsers finds the users whose userPermissions name a
// property, for the cascade of the property's deletion
// (commands.PropertyScopedUsers).
type PropertyScopedUsers struct{ cascadeReader }

// NewPropertyScopedUsers returns the finder over the entities read model;
// waiter lets it see every user change recorded before the deletion.
func NewPropertyScopedUsers(e *Entities, waiter PositionWaiter) *PropertyScopedUsers {
	return &PropertyScopedUsers{cascadeReader{entities: e, waiter: waiter}}
}

// UsersScopedTo lists, in id order after the given one, up to limit live
// users of the account whose userPermissions hold a grant scoped to the
// property, once the read models have reached position. The match is on
// the stored document's text: it may name a user whose document holds the
// id elsewhere (a name, an external reference), never miss one; the
// caller decides on the user's stream.
func (u *PropertyScopedUsers) UsersScopedTo(ctx context.Context, accountID, propertyID uuid.UUID, position uint64, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	if err := u.reached(ctx, position); err != nil {
		return nil, fmt.Errorf("users scoped to property %s: %w", propertyID, err)
	}
	// A uuid's text holds neither % nor _, so it needs no escaping.
	pattern := `%"propertyId":"` + strings.ToLower(propertyID.String()) + `"%`
	q := u.entities
	rows, err := q.db.QueryContext(ctx, q.db.Dialect.Rebind(`SELECT id FROM `+entities.Table+`
		WHERE kind = ? AND account_id = ? AND state <> ? AND id > ? AND public LIKE ?
		ORDER BY id LIMIT ?`), entities.KindUser, accountID.String(), entities.StateDeleted, after.String(), pattern, limit)
	if err != nil {
		return nil, fmt.Errorf("users scoped to property %s: %w", propertyID, err)
	}
	return scanIDs(rows, "users scoped to property")
}
