package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

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
