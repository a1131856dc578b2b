package entities

import (
	"context"

	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Account is the output of GET /account.
type Account struct {
	AccountID       string `json:"accountId"`
	DisplayName     string `json:"displayName"`
	ParentAccountID string `json:"parentAccountId,omitempty"`
	Base
}

func accountHandlers() map[string]Handler {
	return map[string]Handler{
		account.AccountCreated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(account.AccountCreated)
			doc := Account{AccountID: e.AccountID.String(), DisplayName: e.DisplayName, Base: NewBase(KindAccount, env)}
			row := Row{Kind: KindAccount, ID: doc.AccountID, AccountID: doc.AccountID, Position: env.Position, State: StateActive}
			if e.ParentAccountID.String() != zeroID {
				doc.ParentAccountID = e.ParentAccountID.String()
				row.ParentID = doc.ParentAccountID
			}
			return Save(ctx, tx, row, doc)
		},
		account.AccountUpdated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(account.AccountUpdated)
			return Update(ctx, tx, KindAccount, e.AccountID.String(), env, func(d *Account, _ *Row) error {
				d.DisplayName = e.DisplayName
				return nil
			})
		},
	}
}
