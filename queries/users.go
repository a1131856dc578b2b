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

// deviceWaitTimeout bounds how long the cascade of a user's deletion waits
// for the read models.
const deviceWaitTimeout = 5 * time.Second

// UserDevices lists a user's devices for the cascade of the user's
// deletion (commands.UserDevices).
type UserDevices struct {
	entities *Entities
	waiter   PositionWaiter
}

// NewUserDevices returns the finder over the entities read model; waiter
// lets it see every device recorded before the deletion.
func NewUserDevices(e *Entities, waiter PositionWaiter) *UserDevices {
	return &UserDevices{entities: e, waiter: waiter}
}

// UserDeviceIDs lists the user's active devices once the read models have
// reached position.
func (u *UserDevices) UserDeviceIDs(ctx context.Context, accountID, userID uuid.UUID, position uint64) ([]uuid.UUID, error) {
	wctx, cancel := context.WithTimeout(ctx, deviceWaitTimeout)
	err := u.waiter.WaitFor(wctx, position)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("devices of user %s: %w", userID, err)
	}
	var out []uuid.UUID
	page := Page{Size: MaxPageSize}
	for {
		docs, next, err := u.entities.List(ctx, entities.KindDevice, accountID.String(), ListFilter{ParentID: userID.String()}, page, false)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			id, err := uuid.Parse(d.ID)
			if err != nil {
				return nil, fmt.Errorf("devices of user %s: %w", userID, err)
			}
			out = append(out, id)
		}
		if next == "" {
			return out, nil
		}
		page.After = docs[len(docs)-1].Position
	}
}

// UserAPIKeys finds the API keys that may act as a user, for the cascade
// of the user's deletion (commands.UserAPIKeys).
type UserAPIKeys struct {
	entities *Entities
	waiter   PositionWaiter
}

// NewUserAPIKeys returns the finder over the entities read model; waiter
// lets it see every key recorded before the deletion.
func NewUserAPIKeys(e *Entities, waiter PositionWaiter) *UserAPIKeys {
	return &UserAPIKeys{entities: e, waiter: waiter}
}

// MeAPIKeyIDs lists the account's live keys holding `me` for the user,
// whatever else they hold, once the read models have reached position.
func (k *UserAPIKeys) MeAPIKeyIDs(ctx context.Context, accountID, userID uuid.UUID, position uint64) ([]uuid.UUID, error) {
	wctx, cancel := context.WithTimeout(ctx, deviceWaitTimeout)
	err := k.waiter.WaitFor(wctx, position)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("api keys of user %s: %w", userID, err)
	}
	var out []uuid.UUID
	page := Page{Size: MaxPageSize}
	for {
		docs, next, err := k.entities.List(ctx, entities.KindAPIKey, accountID.String(), ListFilter{}, page, true)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			var key entities.APIKey
			if err := json.Unmarshal(d.JSON, &key); err != nil {
				return nil, fmt.Errorf("api key %s: %w", d.ID, err)
			}
			if !slices.ContainsFunc(key.APIPermissions, func(p apikey.Permission) bool {
				return p.Permission == domain.PermMe && p.UserID == userID
			}) {
				continue
			}
			id, err := uuid.Parse(d.ID)
			if err != nil {
				return nil, fmt.Errorf("api keys of user %s: %w", userID, err)
			}
			out = append(out, id)
		}
		if next == "" {
			return out, nil
		}
		page.After = docs[len(docs)-1].Position
	}
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
