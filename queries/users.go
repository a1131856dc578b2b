package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/projections/entities"
)

// PositionWaiter waits until the read models reflect the log up to a
// position.
type PositionWaiter interface {
	WaitFor(ctx context.Context, position uint64) error
}

// cascadeWaitTimeout bounds how long the cascade of a deletion waits for
// the read models.
const cascadeWaitTimeout = 5 * time.Second

// cascadeReader is what the readers of a deletion's cascade share: the
// entities read model, and what waits for it to reach the deletion, so
// that they see everything recorded before it.
type cascadeReader struct {
	entities *Entities
	waiter   PositionWaiter
}

// reached waits, at most cascadeWaitTimeout, for the read models to
// reflect the log up to position.
func (r cascadeReader) reached(ctx context.Context, position uint64) error {
	ctx, cancel := context.WithTimeout(ctx, cascadeWaitTimeout)
	defer cancel()
	return r.waiter.WaitFor(ctx, position)
}

// liveIDs lists, in position order, the ids of the account's live
// documents of kind that the filter and keep (nil: every one) select.
func (r cascadeReader) liveIDs(ctx context.Context, kind string, accountID uuid.UUID, f ListFilter, keep func(Document) (bool, error)) ([]uuid.UUID, error) {
	var out []uuid.UUID
	page := Page{Size: MaxPageSize}
	for {
		docs, next, err := r.entities.List(ctx, kind, accountID.String(), f, page, false)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if keep != nil {
				ok, err := keep(d)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			id, err := uuid.Parse(d.ID)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", kind, d.ID, err)
			}
			out = append(out, id)
		}
		if next == "" {
			return out, nil
		}
		page.After = docs[len(docs)-1].Position
	}
}

// UserDevices lists a user's devices for the cascade of the user's
// deletion (commands.UserDevices).
type UserDevices struct{ cascadeReader }

// NewUserDevices returns the finder over the entities read model; waiter
// lets it see every device recorded before the deletion.
func NewUserDevices(e *Entities, waiter PositionWaiter) *UserDevices {
	return &UserDevices{cascadeReader{entities: e, waiter: waiter}}
}

// UserDeviceIDs lists the user's active devices once the read models have
// reached position.
func (u *UserDevices) UserDeviceIDs(ctx context.Context, accountID, userID uuid.UUID, position uint64) ([]uuid.UUID, error) {
	if err := u.reached(ctx, position); err != nil {
		return nil, fmt.Errorf("devices of user %s: %w", userID, err)
	}
	ids, err := u.liveIDs(ctx, entities.KindDevice, accountID, ListFilter{ParentID: userID.String()}, nil)
	if err != nil {
		return nil, fmt.Errorf("devices of user %s: %w", userID, err)
	}
	return ids, nil
}

// UserAPIKeys finds the API keys that may act as a user, for the cascade
// of the user's deletion (commands.UserAPIKeys).
type UserAPIKeys struct{ cascadeReader }

// NewUserAPIKeys returns the finder over the entities read model; waiter
// lets it see every key recorded before the deletion.
func NewUserAPIKeys(e *Entities, waiter PositionWaiter) *UserAPIKeys {
	return &UserAPIKeys{cascadeReader{entities: e, waiter: waiter}}
}

// MeAPIKeyIDs lists the account's live keys holding `me` for the user,
// whatever else they hold, once the read models have reached position.
func (k *UserAPIKeys) MeAPIKeyIDs(ctx context.Context, accountID, userID uuid.UUID, position uint64) ([]uuid.UUID, error) {
	if err := k.reached(ctx, position); err != nil {
		return nil, fmt.Errorf("api keys of user %s: %w", userID, err)
	}
	ids, err := k.liveIDs(ctx, entities.KindAPIKey, accountID, ListFilter{}, func(d Document) (bool, error) {
		var key entities.APIKey
		if err := json.Unmarshal(d.JSON, &key); err != nil {
			return false, fmt.Errorf("api key %s: %w", d.ID, err)
		}
		return slices.ContainsFunc(key.APIPermissions, func(p apikey.Permission) bool {
			return p.Permission == domain.PermMe && p.UserID == userID
		}), nil
	})
	if err != nil {
		return nil, fmt.Errorf("api keys of user %s: %w", userID, err)
	}
	return ids, nil
}

// LastState returns the document of kind with id in account whatever its
// state, deleted included, without its private part: what a delete
// answers.
func (q *Entities) LastState(ctx context.Context, kind, accountID, id string) (Document, error) {
	d := Document{Row: entities.Row{Kind: kind, ID: id}}
	var raw string
	var pos int64
	err := q.db.QueryRowContext(ctx, q.db.Dialect.Rebind(`SELECT account_id, property_id, parent_id, position, state, public
		FROM `+entities.Table+` WHERE kind = ? AND id = ?`), kind, id).
		Scan(&d.AccountID, &d.PropertyID, &d.ParentID, &pos, &d.State, &raw)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && d.AccountID != accountID) {
		return d, fmt.Errorf("%s %s: %w", kind, id, ErrEntityNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("get %s: %w", kind, err)
	}
	d.Position, d.JSON = uint64(pos), json.RawMessage(raw)
	return d, nil
}
