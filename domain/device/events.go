package device

import (
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// UserDeviceProvisioned: a user's device registered its public keys.
type UserDeviceProvisioned struct {
	UserDeviceID        uuid.UUID `json:"userDeviceId"`
	AccountID           uuid.UUID `json:"accountId"`
	UserID              uuid.UUID `json:"userId"`
	DeviceType          Type      `json:"deviceType"`
	MakeModel           string    `json:"makeModel"`
	DisplayName         string    `json:"displayName"`
	PublicKey           string    `json:"publicKey"`
	EncryptionPublicKey string    `json:"encryptionPublicKey"`
	AccessKeyID         uuid.UUID `json:"accessKeyId"`
}

// UserDeviceUpdated: the device's writable fields were replaced.
type UserDeviceUpdated struct {
	UserDeviceID uuid.UUID `json:"userDeviceId"`
	AccountID    uuid.UUID `json:"accountId"`
	UserID       uuid.UUID `json:"userId"`
	DeviceType   Type      `json:"deviceType"`
	MakeModel    string    `json:"makeModel"`
	DisplayName  string    `json:"displayName"`
}

// UserDeviceKeysRotated: the device registered new public keys. The keys are
// the full current pair; AccessKeyID changes with the public key.
type UserDeviceKeysRotated struct {
	UserDeviceID        uuid.UUID `json:"userDeviceId"`
	AccountID           uuid.UUID `json:"accountId"`
	UserID              uuid.UUID `json:"userId"`
	PublicKey           string    `json:"publicKey"`
	EncryptionPublicKey string    `json:"encryptionPublicKey"`
	AccessKeyID         uuid.UUID `json:"accessKeyId"`
}

// UserDeviceDeprovisioned: the device was retired; AccessKeyID is the key
// that stops opening doors.
type UserDeviceDeprovisioned struct {
	UserDeviceID uuid.UUID `json:"userDeviceId"`
	AccountID    uuid.UUID `json:"accountId"`
	UserID       uuid.UUID `json:"userId"`
	AccessKeyID  uuid.UUID `json:"accessKeyId"`
}

// EventType names the event in the log.
func (UserDeviceProvisioned) EventType() string { return "UserDeviceProvisioned" }

// EventType names the event in the log.
func (UserDeviceUpdated) EventType() string { return "UserDeviceUpdated" }

// EventType names the event in the log.
func (UserDeviceKeysRotated) EventType() string { return "UserDeviceKeysRotated" }

// EventType names the event in the log.
func (UserDeviceDeprovisioned) EventType() string { return "UserDeviceDeprovisioned" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event {
	return []domain.Event{UserDeviceProvisioned{}, UserDeviceUpdated{}, UserDeviceKeysRotated{}, UserDeviceDeprovisioned{}, UserDeviceSynced{}}
}
