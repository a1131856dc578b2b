// Package device is the user device aggregate: a phone of a user that made
// its own key pairs and registered the public halves, Ed25519 to sign
// credentials and X25519 to receive its sealed access map.
package device

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Category names the aggregate's streams: `device-<id>`.
const Category = "device"

// Type is the device's platform.
type Type string

// The platforms the reference knows.
const (
	IOS     Type = "iOS"
	Android Type = "Android"
)

// Valid reports whether t is a known platform.
func (t Type) Valid() bool { return t == IOS || t == Android }

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "user device not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "user device already exists")
)

// State is a device as its events left it.
type State struct {
	id                  uuid.UUID
	accountID           uuid.UUID
	userID              uuid.UUID
	accessKeyID         uuid.UUID
	deviceType          Type
	makeModel           string
	displayName         string
	publicKey           string
	encryptionPublicKey string
	provisioned         bool
	deprovisioned       bool
	sync                syncState
}

// Exists reports whether the device was provisioned and not deprovisioned.
func (s State) Exists() bool { return s.provisioned && !s.deprovisioned }

// Active reports whether the device's credentials count (typeState active).
func (s State) Active() bool { return s.Exists() }

// Deprovisioned reports whether the device was deprovisioned.
func (s State) Deprovisioned() bool { return s.deprovisioned }

// ID is the device's id (`userDeviceId`).
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account the device belongs to.
func (s State) AccountID() uuid.UUID { return s.accountID }

// UserID is the user who holds the device.
func (s State) UserID() uuid.UUID { return s.userID }

// DeviceType is the device's platform.
func (s State) DeviceType() Type { return s.deviceType }

// MakeModel is the device's make and model.
func (s State) MakeModel() string { return s.makeModel }

// DisplayName is the device's name.
func (s State) DisplayName() string { return s.displayName }

// PublicKey is the device's Ed25519 public key, standard base64.
func (s State) PublicKey() string { return s.publicKey }

// EncryptionPublicKey is the device's X25519 public key, standard base64.
func (s State) EncryptionPublicKey() string { return s.encryptionPublicKey }

// AccessKeyID is the id of the registered public key, which key maps and
// access logs name (`accessKeyId`).
func (s State) AccessKeyID() uuid.UUID { return s.accessKeyID }

// Provision registers a user's device. The handler has checked that the user
// exists in the account, and picks AccessKeyID for the public key.
type Provision struct {
	UserDeviceID        uuid.UUID
	AccountID           uuid.UUID
	UserID              uuid.UUID
	DeviceType          Type
	MakeModel           string
	DisplayName         string
	PublicKey           string
	EncryptionPublicKey string
	AccessKeyID         uuid.UUID
}

// Decide checks the device and its keys and records UserDeviceProvisioned.
func (c Provision) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if s.provisioned {
		return nil, ErrExists
	}
	switch {
	case c.UserDeviceID == uuid.Nil:
		return nil, domain.InvalidField("userDeviceId", "is required")
	case c.AccountID == uuid.Nil:
		return nil, domain.InvalidField("accountId", "is required")
	case c.UserID == uuid.Nil:
		return nil, domain.InvalidField("userId", "is required")
	case c.AccessKeyID == uuid.Nil:
		return nil, domain.InvalidField("accessKeyId", "is required")
	}
	if err := validDetails(c.DeviceType, c.MakeModel, c.DisplayName); err != nil {
		return nil, err
	}
	pub, err := SigningKey("publicKey", c.PublicKey)
	if err != nil {
		return nil, err
	}
	enc, err := EncryptionKey("encryptionPublicKey", c.EncryptionPublicKey)
	if err != nil {
		return nil, err
	}
	return []domain.Event{UserDeviceProvisioned{
		UserDeviceID:        c.UserDeviceID,
		AccountID:           c.AccountID,
		UserID:              c.UserID,
		DeviceType:          c.DeviceType,
		MakeModel:           c.MakeModel,
		DisplayName:         c.DisplayName,
		PublicKey:           pub,
		EncryptionPublicKey: enc,
		AccessKeyID:         c.AccessKeyID,
	}}, nil
}

// Update replaces the device's writable fields and, when given, its keys.
// An empty key keeps the registered one. A new public key is a new access
// key: the handler passes its id in AccessKeyID (ignored otherwise).
type Update struct {
	DeviceType          Type
	MakeModel           string
	DisplayName         string
	PublicKey           string
	EncryptionPublicKey string
	AccessKeyID         uuid.UUID
}

// Decide records UserDeviceUpdated when a writable field changes and
// UserDeviceKeysRotated when a key does; nothing when nothing changes.
func (c Update) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if err := validDetails(c.DeviceType, c.MakeModel, c.DisplayName); err != nil {
		return nil, err
	}
	pub, enc, keyID := s.publicKey, s.encryptionPublicKey, s.accessKeyID
	if c.PublicKey != "" {
		k, err := SigningKey("publicKey", c.PublicKey)
		if err != nil {
			return nil, err
		}
		if k != pub {
			if c.AccessKeyID == uuid.Nil || c.AccessKeyID == s.accessKeyID {
				return nil, domain.InvalidField("accessKeyId", "a new public key needs a new access key id")
			}
			pub, keyID = k, c.AccessKeyID
		}
	}
	if c.EncryptionPublicKey != "" {
		k, err := EncryptionKey("encryptionPublicKey", c.EncryptionPublicKey)
		if err != nil {
			return nil, err
		}
		enc = k
	}
	ch := domain.NewChanges(s, Evolve)
	if c.DeviceType != s.deviceType || c.MakeModel != s.makeModel || c.DisplayName != s.displayName {
		ch.Record(UserDeviceUpdated{
			UserDeviceID: s.id, AccountID: s.accountID, UserID: s.userID,
			DeviceType: c.DeviceType, MakeModel: c.MakeModel, DisplayName: c.DisplayName,
		})
	}
	if pub != s.publicKey || enc != s.encryptionPublicKey {
		ch.Record(UserDeviceKeysRotated{
			UserDeviceID: s.id, AccountID: s.accountID, UserID: s.userID,
			PublicKey: pub, EncryptionPublicKey: enc, AccessKeyID: keyID,
		})
	}
	return ch.Events(), nil
}

// Deprovision retires the device: its credentials leave every key map.
type Deprovision struct{}

// Decide records UserDeviceDeprovisioned.
func (Deprovision) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	return []domain.Event{UserDeviceDeprovisioned{
		UserDeviceID: s.id, AccountID: s.accountID, UserID: s.userID, AccessKeyID: s.accessKeyID,
	}}, nil
}

func validDetails(t Type, makeModel, displayName string) error {
	if !t.Valid() {
		return domain.InvalidField("deviceType", `must be "iOS" or "Android"`)
	}
	if err := domain.ValidateName("makeModel", makeModel); err != nil {
		return err
	}
	return domain.ValidateName("displayName", displayName)
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case UserDeviceProvisioned:
		s = State{
			id:                  e.UserDeviceID,
			accountID:           e.AccountID,
			userID:              e.UserID,
			accessKeyID:         e.AccessKeyID,
			deviceType:          e.DeviceType,
			makeModel:           e.MakeModel,
			displayName:         e.DisplayName,
			publicKey:           e.PublicKey,
			encryptionPublicKey: e.EncryptionPublicKey,
			provisioned:         true,
		}
	case UserDeviceUpdated:
		s.deviceType, s.makeModel, s.displayName = e.DeviceType, e.MakeModel, e.DisplayName
	case UserDeviceKeysRotated:
		s.publicKey, s.encryptionPublicKey, s.accessKeyID = e.PublicKey, e.EncryptionPublicKey, e.AccessKeyID
	case UserDeviceDeprovisioned:
		s.deprovisioned = true
	case UserDeviceSynced:
		s = evolveSync(s, e)
	}
	return s
}
