package commands

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/device"
)

// SyncDevice is a phone's signed sync request: the exact bytes it signed,
// its signature (standard base64 Ed25519), and how to read them.
type SyncDevice struct {
	Body      []byte
	Signature string
	// Parse reads the body into the command. It runs only once the
	// signature holds, so nothing is read from a body the device did not
	// sign.
	Parse func(body []byte) (device.Sync, error)
}

// SyncedDevice is what a sync recorded, and what the answer needs.
type SyncedDevice struct {
	Sync device.Sync
	// EncryptionPublicKey is the device's X25519 key, to seal its access
	// map to.
	EncryptionPublicKey string
	Result
}

// SyncDevice records a phone's sync. Needs `manage-access` (in any
// scope), `owner`, or `me` for the user. The device must be a live device
// of that user in the actor's account (404), and the body must carry the
// device's signature (401, and nothing is recorded) before it is read at
// all; the signature is checked again, with the device as the append sees
// it, so a key rotated meanwhile cannot slip through. A request repeated
// with an Idempotency-Key is checked the same way.
func (s *Service) SyncDevice(ctx context.Context, userID, deviceID uuid.UUID, c SyncDevice) (SyncedDevice, error) {
	actor, err := authorizeUserSelf(ctx, userID)
	if err != nil {
		return SyncedDevice{}, err
	}
	if c.Parse == nil {
		return SyncedDevice{}, errors.New("commands: SyncDevice needs a parser")
	}
	live := func(st device.State) error {
		if !st.Exists() || st.AccountID() != actor.AccountID || st.UserID() != userID {
			return device.ErrNotFound
		}
		return st.VerifySignature(c.Body, c.Signature)
	}
	l, err := Load(ctx, s.p, deviceAgg, deviceID)
	if err != nil {
		return SyncedDevice{}, err
	}
	if err := live(l.State); err != nil {
		return SyncedDevice{}, err
	}
	in, err := c.Parse(c.Body)
	if err != nil {
		return SyncedDevice{}, err
	}
	out := SyncedDevice{Sync: in, EncryptionPublicKey: l.State.EncryptionPublicKey()}
	res, err := Execute(ctx, s.p, deviceAgg, deviceID, "SyncUserDevice", func(l Loaded[device.State], now time.Time) ([]domain.Event, error) {
		if err := live(l.State); err != nil {
			return nil, err
		}
		out.EncryptionPublicKey = l.State.EncryptionPublicKey()
		return in.Decide(l.State, now)
	})
	if err != nil {
		return SyncedDevice{}, err
	}
	out.Result = res
	return out, nil
}
