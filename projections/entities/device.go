package entities

import (
	"context"

	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Device is the output of GET /users/{userId}/devices/{userDeviceId}. The
// row's ParentID is the user, so a user's devices list by parent.
type Device struct {
	UserDeviceID        string      `json:"userDeviceId"`
	UserID              string      `json:"userId"`
	DeviceType          device.Type `json:"deviceType"`
	MakeModel           string      `json:"makeModel"`
	DisplayName         string      `json:"displayName"`
	PublicKey           string      `json:"publicKey"`
	EncryptionPublicKey string      `json:"encryptionPublicKey"`
	AccessKeyID         string      `json:"accessKeyId"`
	Base
}

func deviceHandlers() map[string]Handler {
	return map[string]Handler{
		device.UserDeviceProvisioned{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(device.UserDeviceProvisioned)
			if _, _, found, err := Load[Device](ctx, tx, KindDevice, e.UserDeviceID.String()); err != nil || found {
				return err // a re-delivered provisioning must not undo later changes
			}
			doc := Device{
				UserDeviceID: e.UserDeviceID.String(), UserID: e.UserID.String(), DeviceType: e.DeviceType,
				MakeModel: e.MakeModel, DisplayName: e.DisplayName, PublicKey: e.PublicKey,
				EncryptionPublicKey: e.EncryptionPublicKey, AccessKeyID: e.AccessKeyID.String(), Base: NewBase(KindDevice, env),
			}
			if err := Save(ctx, tx, Row{
				Kind: KindDevice, ID: doc.UserDeviceID, AccountID: e.AccountID.String(), ParentID: doc.UserID,
				Position: env.Position, State: StateActive,
			}, doc); err != nil {
				return err
			}
			return Update(ctx, tx, KindUser, doc.UserID, env, func(u *User, _ *Row) error {
				u.addDevice(doc.UserDeviceID)
				return nil
			})
		},
		device.UserDeviceUpdated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(device.UserDeviceUpdated)
			return Update(ctx, tx, KindDevice, e.UserDeviceID.String(), env, func(d *Device, _ *Row) error {
				d.DeviceType, d.MakeModel, d.DisplayName = e.DeviceType, e.MakeModel, e.DisplayName
				return nil
			})
		},
		device.UserDeviceKeysRotated{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(device.UserDeviceKeysRotated)
			return Update(ctx, tx, KindDevice, e.UserDeviceID.String(), env, func(d *Device, _ *Row) error {
				d.PublicKey, d.EncryptionPublicKey, d.AccessKeyID = e.PublicKey, e.EncryptionPublicKey, e.AccessKeyID.String()
				return nil
			})
		},
		device.UserDeviceDeprovisioned{}.EventType(): func(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
			e := env.Event.(device.UserDeviceDeprovisioned)
			if err := Update(ctx, tx, KindDevice, e.UserDeviceID.String(), env, func(d *Device, r *Row) error {
				d.TypeState, r.State = StateDeleted, StateDeleted
				return nil
			}); err != nil {
				return err
			}
			return Update(ctx, tx, KindUser, e.UserID.String(), env, func(u *User, _ *Row) error {
				u.removeDevice(e.UserDeviceID.String())
				return nil
			})
		},
	}
}
