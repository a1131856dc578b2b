package device

import (
	"crypto/ed25519"
	"encoding/base64"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// ErrBadSignature: a sync body without the device's signature, or with
// one its registered key does not verify.
var ErrBadSignature = domain.NewError(domain.ErrUnauthenticated, "the device signature is missing or does not match the body")

// MaxVersionLength bounds the OS and app versions a device reports.
const MaxVersionLength = 64

// syncState is what the device said at its last sync.
type syncState struct {
	osVersion        string
	appVersion       string
	accessMapVersion int64
	syncedAt         time.Time
}

// LastSyncedAt is when the device last synced; zero if never.
func (s State) LastSyncedAt() time.Time { return s.sync.syncedAt }

// OSVersion is the OS version the device reported at its last sync.
func (s State) OSVersion() string { return s.sync.osVersion }

// AppVersion is the app version the device reported at its last sync.
func (s State) AppVersion() string { return s.sync.appVersion }

// ConfirmedAccessMapVersion is the access map version the device said it
// held at its last sync.
func (s State) ConfirmedAccessMapVersion() int64 { return s.sync.accessMapVersion }

// VerifySignature checks signature (standard base64 of an Ed25519
// signature) over body with the device's registered public key.
func (s State) VerifySignature(body []byte, signature string) error {
	if signature == "" {
		return ErrBadSignature
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return ErrBadSignature
	}
	pub, err := base64.StdEncoding.DecodeString(s.publicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return ErrBadSignature
	}
	if !ed25519.Verify(ed25519.PublicKey(pub), body, sig) {
		return ErrBadSignature
	}
	return nil
}

// Sync is what a device says when it syncs: what it is, what it runs, and
// the version of its access map it holds. The handler has verified the
// device's signature over the body it came in.
type Sync struct {
	DeviceType       Type
	MakeModel        string
	OSVersion        string
	AppVersion       string
	AccessMapVersion int64
}

// Decide records UserDeviceSynced at now.
func (c Sync) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if !c.DeviceType.Valid() {
		return nil, domain.InvalidField("deviceType", `must be "iOS" or "Android"`)
	}
	if err := domain.ValidateName("makeModel", c.MakeModel); err != nil {
		return nil, err
	}
	if err := validVersion("currentOsVersion", c.OSVersion); err != nil {
		return nil, err
	}
	if err := validVersion("currentAppVersion", c.AppVersion); err != nil {
		return nil, err
	}
	if c.AccessMapVersion < 0 {
		return nil, domain.InvalidField("currentUserAccessMapVersion", "must not be negative")
	}
	return []domain.Event{UserDeviceSynced{
		UserDeviceID: s.id, AccountID: s.accountID, UserID: s.userID,
		DeviceType: c.DeviceType, MakeModel: c.MakeModel,
		CurrentOSVersion: c.OSVersion, CurrentAppVersion: c.AppVersion,
		CurrentUserAccessMapVersion: c.AccessMapVersion, SyncedAt: now.UTC(),
	}}, nil
}

func validVersion(field, v string) error {
	if err := domain.ValidateName(field, v); err != nil {
		return err
	}
	return domain.ValidateText(field, v, MaxVersionLength)
}

// UserDeviceSynced: the device synced: what it reported running, and the
// version of its access map it confirmed holding, at SyncedAt.
type UserDeviceSynced struct {
	UserDeviceID                uuid.UUID `json:"userDeviceId"`
	AccountID                   uuid.UUID `json:"accountId"`
	UserID                      uuid.UUID `json:"userId"`
	DeviceType                  Type      `json:"deviceType"`
	MakeModel                   string    `json:"makeModel"`
	CurrentOSVersion            string    `json:"currentOsVersion"`
	CurrentAppVersion           string    `json:"currentAppVersion"`
	CurrentUserAccessMapVersion int64     `json:"currentUserAccessMapVersion"`
	SyncedAt                    time.Time `json:"syncedAt"`
}

// EventType names the event in the log.
func (UserDeviceSynced) EventType() string { return "UserDeviceSynced" }

// evolveSync applies UserDeviceSynced.
func evolveSync(s State, e UserDeviceSynced) State {
	s.sync = syncState{
		osVersion: e.CurrentOSVersion, appVersion: e.CurrentAppVersion,
		accessMapVersion: e.CurrentUserAccessMapVersion, syncedAt: e.SyncedAt,
	}
	return s
}
