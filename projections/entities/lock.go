package entities

import (
	"context"
	"time"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Lock is the output of GET /locks/{lockId}. The row's PropertyID is the
// property the lock is in and its ParentID the area, so lists filter on
// both; a lock in no property has neither.
type Lock struct {
	LockID              string     `json:"lockId"`
	PropertyID          string     `json:"propertyId,omitempty"`
	AreaID              string     `json:"areaId,omitempty"`
	OwnerID             string     `json:"ownerId,omitempty"`
	DisplayName         string     `json:"displayName"`
	InstallDate         *time.Time `json:"installDate,omitempty"`
	PurchaseDate        *time.Time `json:"purchaseDate,omitempty"`
	PublicKey           string     `json:"publicKey"`
	EncryptionPublicKey string     `json:"encryptionPublicKey"`
	// ExternalRefs is `[]` when the lock has none.
	ExternalRefs []domain.ExternalRef `json:"externalRefs"`
	Private      *LockPrivate         `json:"private,omitempty"`
	Base
}

// LockPrivate is the part of a lock shown to `owner`, `provision-lock`,
// `install-lock` and `support` callers only. LockSynced keeps the
// versions the lock confirmed and when it last synced (by the server's
// clock); they start at zero.
type LockPrivate struct {
	// KeyMapVersion is the version of the key map the lock should hold.
	KeyMapVersion int `json:"keyMapVersion"`
	// CurrentKeyMapVersion is the version the lock last confirmed.
	CurrentKeyMapVersion    int        `json:"currentKeyMapVersion"`
	LastKnownSyncDate       *time.Time `json:"lastKnownSyncDate,omitempty"`
	CurrentFirmwareVersion  string     `json:"currentFirmwareVersion"`
	RequiredFirmwareVersion string     `json:"requiredFirmwareVersion,omitempty"`
	// APIKeyID is the lock's own key.
	APIKeyID string `json:"apiKeyId,omitempty"`
	// APIKey is the key's secret: never stored, set only in the answer to
	// the provisioning request.
	APIKey string `json:"apiKey,omitempty"`
}

// Public implements Privater.
func (l Lock) Public() any {
	l.Private = nil
	return l
}

func lockHandlers() map[string]Handler {
	return map[string]Handler{
		lock.LockProvisioned{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockProvisioned)
			doc := Lock{
				LockID: e.LockID.String(), OwnerID: e.AccountID.String(), DisplayName: e.DisplayName,
				PurchaseDate: e.PurchaseDate, PublicKey: e.PublicKey, EncryptionPublicKey: e.EncryptionPublicKey,
				ExternalRefs: orNoRefs(e.ExternalRefs), Private: &LockPrivate{}, Base: NewBase(KindLock, env),
			}
			if e.APIKeyID.String() != zeroID {
				doc.Private.APIKeyID = e.APIKeyID.String()
			}
			return Save(ctx, tx, Row{
				Kind: KindLock, ID: doc.LockID, AccountID: doc.OwnerID, Position: env.Position, State: StateActive,
			}, doc)
		},
		lock.LockUpdated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockUpdated)
			return Update(ctx, tx, KindLock, e.LockID.String(), env, func(d *Lock, _ *Row) error {
				d.DisplayName = e.DisplayName
				return nil
			})
		},
		lock.LockPurchaseDateChanged{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockPurchaseDateChanged)
			return Update(ctx, tx, KindLock, e.LockID.String(), env, func(d *Lock, _ *Row) error {
				d.PurchaseDate = e.PurchaseDate
				return nil
			})
		},
		lock.LockExternalRefsChanged{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockExternalRefsChanged)
			return Update(ctx, tx, KindLock, e.LockID.String(), env, func(d *Lock, _ *Row) error {
				d.ExternalRefs = orNoRefs(e.ExternalRefs)
				return nil
			})
		},
		lock.LockInstalled{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockInstalled)
			return Update(ctx, tx, KindLock, e.LockID.String(), env, func(d *Lock, r *Row) error {
				at := env.Metadata.OccurredAt.UTC()
				d.PropertyID, d.AreaID, d.InstallDate = e.PropertyID.String(), e.AreaID.String(), &at
				r.PropertyID, r.ParentID = d.PropertyID, d.AreaID
				return nil
			})
		},
		lock.LockUninstalled{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockUninstalled)
			return Update(ctx, tx, KindLock, e.LockID.String(), env, func(d *Lock, r *Row) error {
				d.AreaID, d.InstallDate, r.ParentID = "", nil, ""
				if e.Mode != lock.UninstallArea {
					d.PropertyID, r.PropertyID = "", ""
				}
				if e.Mode == lock.UninstallOwner {
					// Released: the lock is no longer the account's.
					d.OwnerID, d.TypeState, r.State = "", StateDeleted, StateDeleted
				}
				return nil
			})
		},
		lock.LockSynced{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockSynced)
			return Update(ctx, tx, KindLock, e.LockID.String(), env, func(d *Lock, _ *Row) error {
				if d.Private == nil {
					d.Private = &LockPrivate{}
				}
				at := e.ReceivedAt.UTC()
				d.Private.CurrentKeyMapVersion, d.Private.CurrentFirmwareVersion = int(e.CurrentKeyMapVersion), e.CurrentFirmwareVersion
				d.Private.LastKnownSyncDate = &at
				return nil
			})
		},
		lock.LockDeprovisioned{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(lock.LockDeprovisioned)
			return Update(ctx, tx, KindLock, e.LockID.String(), env, func(d *Lock, r *Row) error {
				d.PropertyID, d.AreaID, d.InstallDate = "", "", nil
				r.PropertyID, r.ParentID = "", ""
				d.TypeState, r.State = StateDeleted, StateDeleted
				return nil
			})
		},
	}
}

// orNoRefs is refs as a document shows them: `[]`, never null, when none.
func orNoRefs(refs []domain.ExternalRef) []domain.ExternalRef {
	if refs == nil {
		return []domain.ExternalRef{}
	}
	return refs
}
