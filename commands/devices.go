package commands

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/user"
)

// ProvisionDevice registers a phone of a user with the public halves of
// the key pairs it made: Ed25519 (PublicKey) and X25519
// (EncryptionPublicKey), standard base64.
type ProvisionDevice struct {
	DeviceType          device.Type
	MakeModel           string
	DisplayName         string
	PublicKey           string
	EncryptionPublicKey string
}

// ProvisionedDevice is a new device.
type ProvisionedDevice struct {
	UserDeviceID uuid.UUID
	AccessKeyID  uuid.UUID
	Result
}

// ProvisionDevice adds a device to a user of the actor's account, with a
// new id and a new access key id. Needs `manage-access` (in any scope),
// `owner`, or `me` for that user. Should the user be deleted while the
// device is recorded, the device is deprovisioned again and the answer is
// 404, so no device outlives its user.
func (s *Service) ProvisionDevice(ctx context.Context, userID uuid.UUID, c ProvisionDevice) (ProvisionedDevice, error) {
	actor, err := authorizeUserSelf(ctx, userID)
	if err != nil {
		return ProvisionedDevice{}, err
	}
	if err := s.liveUser(ctx, actor, userID); err != nil {
		return ProvisionedDevice{}, err
	}
	deviceID, err := s.newRootID(ctx, "user-device", device.Category)
	if err != nil {
		return ProvisionedDevice{}, err
	}
	cmd := device.Provision{
		UserDeviceID: deviceID, AccountID: actor.AccountID, UserID: userID,
		DeviceType: c.DeviceType, MakeModel: c.MakeModel, DisplayName: c.DisplayName,
		PublicKey: c.PublicKey, EncryptionPublicKey: c.EncryptionPublicKey,
		AccessKeyID: s.rootChildID(ctx, "user-device-access-key"),
	}
	res, err := Run(ctx, s.p, deviceAgg, cmd.UserDeviceID, "ProvisionUserDevice", cmd)
	if err != nil {
		return ProvisionedDevice{}, err
	}
	// DeleteUser lists devices after recording UserDeleted: a device
	// recorded after that is this check's to retire.
	if err := s.liveUser(ctx, actor, userID); err != nil {
		if _, derr := s.deprovisionOf(ctx, actor, userID, cmd.UserDeviceID, "ProvisionUserDevice"); derr != nil {
			return ProvisionedDevice{}, derr
		}
		return ProvisionedDevice{}, err
	}
	return ProvisionedDevice{UserDeviceID: cmd.UserDeviceID, AccessKeyID: cmd.AccessKeyID, Result: res}, nil
}

// UpdateDevice replaces a device's writable fields. An empty key keeps the
// registered one; a new PublicKey is a new access key, with a new id.
type UpdateDevice struct {
	DeviceType          device.Type
	MakeModel           string
	DisplayName         string
	PublicKey           string
	EncryptionPublicKey string
}

// UpdateDevice changes a device of the user named. Needs `manage-access`
// (in any scope), `owner`, or `me` for that user; a device of another
// account or another user is the same 404 as a missing one.
func (s *Service) UpdateDevice(ctx context.Context, userID, deviceID uuid.UUID, c UpdateDevice) (Result, error) {
	actor, err := authorizeUserSelf(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	// The id of a rotated key derives from the key, so a repeated keyed
	// request names the same access key.
	keyID := s.newID(ctx, "user-device-access-key\x00"+deviceID.String()+"\x00"+c.PublicKey)
	return s.onDevice(ctx, actor, userID, deviceID, "UpdateUserDevice", device.Update{
		DeviceType: c.DeviceType, MakeModel: c.MakeModel, DisplayName: c.DisplayName,
		PublicKey: c.PublicKey, EncryptionPublicKey: c.EncryptionPublicKey, AccessKeyID: keyID,
	})
}

// DeprovisionDevice retires a device of the user named: its key stops
// opening doors. Same permissions as UpdateDevice.
func (s *Service) DeprovisionDevice(ctx context.Context, userID, deviceID uuid.UUID) (Result, error) {
	actor, err := authorizeUserSelf(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	return s.onDevice(ctx, actor, userID, deviceID, "DeprovisionUserDevice", device.Deprovision{})
}

// onDevice decides a command on a live device of the user in the actor's
// account.
func (s *Service) onDevice(ctx context.Context, actor domain.Actor, userID, deviceID uuid.UUID, name string, cmd Decider[device.State]) (Result, error) {
	return Execute(ctx, s.p, deviceAgg, deviceID, name, func(l Loaded[device.State], now time.Time) ([]domain.Event, error) {
		st := l.State
		if !st.Exists() || st.AccountID() != actor.AccountID || st.UserID() != userID {
			return nil, device.ErrNotFound
		}
		return cmd.Decide(st, now)
	})
}

// liveUser checks that the user exists in the actor's account.
func (s *Service) liveUser(ctx context.Context, actor domain.Actor, userID uuid.UUID) error {
	u, err := Load(ctx, s.p, userAgg, userID)
	if err != nil {
		return err
	}
	if !u.State.Exists() || u.State.AccountID() != actor.AccountID {
		return user.ErrNotFound
	}
	return nil
}
