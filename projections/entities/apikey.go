package entities

import (
	"context"

	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

const zeroID = "00000000-0000-0000-0000-000000000000"

// APIKey is the output of GET /accounts/keys. The secret is never kept;
// the row's lookup column holds its hash for authentication.
type APIKey struct {
	APIKeyID       string              `json:"apiKeyId"`
	DisplayName    string              `json:"displayName"`
	APIPermissions []apikey.Permission `json:"apiPermissions"`
	LockID         string              `json:"lockId,omitempty"`
	Base
}

func apiKeyHandlers() map[string]Handler {
	return map[string]Handler{
		apikey.APIKeyCreated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(apikey.APIKeyCreated)
			doc := APIKey{APIKeyID: e.APIKeyID.String(), DisplayName: e.DisplayName, APIPermissions: e.APIPermissions, Base: NewBase(KindAPIKey, env)}
			if doc.APIPermissions == nil {
				doc.APIPermissions = []apikey.Permission{}
			}
			if e.LockID.String() != zeroID {
				doc.LockID = e.LockID.String()
			}
			return Save(ctx, tx, Row{
				Kind: KindAPIKey, ID: doc.APIKeyID, AccountID: e.AccountID.String(), ParentID: doc.LockID,
				Position: env.Position, State: StateActive, Lookup: e.KeyHash,
			}, doc)
		},
		apikey.APIKeyDeleted{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(apikey.APIKeyDeleted)
			return Update(ctx, tx, KindAPIKey, e.APIKeyID.String(), env, func(d *APIKey, r *Row) error {
				d.TypeState, r.State, r.Lookup = StateDeleted, StateDeleted, ""
				return nil
			})
		},
	}
}
