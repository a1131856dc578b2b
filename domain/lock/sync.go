package lock

import (
	"crypto/ed25519"
	"encoding/base64"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/firmware"
)

// AccessLogCategory names the streams of the locks' access logs,
// `accesslog-<lockId>`: one per lock, apart from the lock's own stream, so
// that a busy door's history never slows the loading of the lock.
const AccessLogCategory = "accesslog"

// SyncHeartbeat is how often a sync that changes nothing is recorded: a
// lock that syncs every minute would otherwise add an event a minute to
// its stream. A sync that reports another key-map or firmware version is
// always recorded; lastKnownSyncDate is at most this old.
const SyncHeartbeat = 15 * time.Minute

// FutureTolerance is how far after the server's clock an access date may
// be before the entry is flagged futureDate (it is kept all the same).
const FutureTolerance = 5 * time.Minute

// Bounds of the free text a lock sends.
const (
	MaxFirmwareVersionLength = firmware.MaxVersionLength
	MaxDenyReasonLength      = 256
	// MaxDeviceSignatureLength bounds the base64 text of a signature
	// (an Ed25519 signature is 88 characters).
	MaxDeviceSignatureLength = 128
)

// LockSynced: the lock called its sync. SyncDate is the lock's clock,
// ReceivedAt the server's; the versions are those the lock says it runs
// and holds.
type LockSynced struct {
	LockID                 uuid.UUID `json:"lockId"`
	AccountID              uuid.UUID `json:"accountId"`
	SyncDate               time.Time `json:"syncDate"`
	ReceivedAt             time.Time `json:"receivedAt"`
	CurrentFirmwareVersion string    `json:"currentFirmwareVersion"`
	CurrentKeyMapVersion   uint64    `json:"currentKeyMapVersion"`
}

// AccessResult is what the lock did with a presented credential.
type AccessResult string

// The results a lock reports.
const (
	Granted AccessResult = "granted"
	Denied  AccessResult = "denied"
)

// Valid reports whether r is a known result.
func (r AccessResult) Valid() bool { return r == Granted || r == Denied }

// LockAccessLogged: one access attempt a lock reported, with the server's
// checks. AccessDate is when it happened by the lock's clock (and
// AccessDateAsSent the exact text the device signed); RecordedAt is when
// the server learned it. PropertyID is the lock's at sync time; UserID,
// UserGroupID and AreaID (the area of the grant that admitted the
// credential, else the lock's area) come from the key-map entry that
// matched. It lives in the stream `accesslog-<lockId>`.
type LockAccessLogged struct {
	LockAccessLogID  uuid.UUID    `json:"lockAccessLogId"`
	LockID           uuid.UUID    `json:"lockId"`
	AccountID        uuid.UUID    `json:"accountId"`
	PropertyID       uuid.UUID    `json:"propertyId,omitzero"`
	AreaID           uuid.UUID    `json:"areaId,omitzero"`
	UserGroupID      uuid.UUID    `json:"userGroupId,omitzero"`
	UserID           uuid.UUID    `json:"userId,omitzero"`
	UserDeviceID     uuid.UUID    `json:"userDeviceId,omitzero"`
	AccessCodeID     uuid.UUID    `json:"accessCodeId,omitzero"`
	AccessKeyID      uuid.UUID    `json:"accessKeyId,omitzero"`
	AccessDate       time.Time    `json:"accessDate"`
	AccessDateAsSent string       `json:"accessDateAsSent"`
	RecordedAt       time.Time    `json:"recordedAt"`
	Result           AccessResult `json:"result"`
	DenyReason       string       `json:"denyReason,omitempty"`
	DeviceSignature  string       `json:"deviceSignature,omitempty"`
	// DeviceSignatureFailure: the entry names an access key but its device
	// signature is missing, malformed, made by another key, or over other
	// text (another lock, log id or date).
	DeviceSignatureFailure bool `json:"deviceSignatureFailure"`
	// StaleCredential: a granted entry whose access key (or, without
	// one, access code) was not in the key map in force at AccessDate
	// (revoked, but the lock had not synced).
	StaleCredential bool `json:"staleCredential"`
	// FutureDate: AccessDate is more than FutureTolerance after RecordedAt.
	FutureDate bool `json:"futureDate"`
	// KeyMapVersion is the version of the lock's key map in force at
	// AccessDate.
	KeyMapVersion uint64 `json:"keyMapVersion"`
}

// EventType names the event in the log.
func (LockSynced) EventType() string { return "LockSynced" }

// EventType names the event in the log.
func (LockAccessLogged) EventType() string { return "LockAccessLogged" }

// AccessLogStream is the stream of a lock's access log.
func AccessLogStream(lockID uuid.UUID) string { return AccessLogCategory + "-" + lockID.String() }

// accessLogNamespace seeds the ids of LockAccessLogged events.
var accessLogNamespace = uuid.MustParse("5f0b2c1e-8d7a-4e36-9a41-6c2d0f8e7b13")

// AccessLogEventID is the event id of a lock's access-log entry: the same
// for the same (lock, lockAccessLogId), so an entry the lock sends again is
// stored once.
func AccessLogEventID(lockID, lockAccessLogID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(accessLogNamespace, append(lockID[:len(lockID):len(lockID)], lockAccessLogID[:]...))
}

// syncState is what the lock last reported, as far as it was recorded.
type syncState struct {
	synced          bool
	keyMapVersion   uint64
	firmwareVersion string
	syncDate        time.Time
	receivedAt      time.Time
}

func (s syncState) apply(e LockSynced) syncState {
	return syncState{synced: true, keyMapVersion: e.CurrentKeyMapVersion, firmwareVersion: e.CurrentFirmwareVersion,
		syncDate: e.SyncDate, receivedAt: e.ReceivedAt}
}

// CurrentKeyMapVersion is the key-map version the lock last confirmed.
func (s State) CurrentKeyMapVersion() uint64 { return s.sync.keyMapVersion }

// CurrentFirmwareVersion is the firmware version the lock last reported.
func (s State) CurrentFirmwareVersion() string { return s.sync.firmwareVersion }

// LastKnownSyncDate is when the server last recorded a sync of the lock
// (its clock); nil before the first.
func (s State) LastKnownSyncDate() *time.Time {
	if !s.sync.synced {
		return nil
	}
	t := s.sync.receivedAt
	return &t
}

// Sync is what a lock reports when it syncs.
type Sync struct {
	// SyncDate is the lock's clock.
	SyncDate               time.Time
	CurrentFirmwareVersion string
	CurrentKeyMapVersion   uint64
}

// Validate checks the report. That a syncDate was sent is the decoder's
// to check (time.Time's zero, 0001-01-01T00:00:00Z, is an instant a lock
// may send: one far from now, refused by Decide as stale).
func (c Sync) Validate() error {
	if err := domain.ValidateInstant("syncDate", c.SyncDate); err != nil {
		return err
	}
	return ValidateFirmwareVersion("currentFirmwareVersion", c.CurrentFirmwareVersion)
}

// ValidateFirmwareVersion checks a version a lock reports: empty
// (unknown), or one the firmware routes take (firmware.ValidateVersion:
// 1 to 64 letters, digits, dots and dashes, not `.` or `..`), so that a
// lock never reports a version no firmware could be named by.
func ValidateFirmwareVersion(field, v string) error {
	if v == "" {
		return nil
	}
	return firmware.ValidateVersion(field, v)
}

// MaxSyncSkew bounds how far a sync's syncDate (the lock's clock) may be
// from the server's: a captured signed sync replayed later is refused.
const MaxSyncSkew = 15 * time.Minute

// ErrStaleSync refuses a sync dated too far from now: a replayed request, or
// a lock whose clock is off.
var ErrStaleSync = domain.NewError(domain.ErrUnprocessable, "syncDate is more than 15 minutes from the server's clock: a replayed or stale sync is refused")

// Check validates the report and refuses one dated more than MaxSyncSkew
// from now (ErrStaleSync).
func (c Sync) Check(now time.Time) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if skew := now.Sub(c.SyncDate); skew > MaxSyncSkew || skew < -MaxSyncSkew {
		return ErrStaleSync
	}
	return nil
}

// Decide records LockSynced when the lock reports another key-map or
// firmware version than it last did, on its first sync, and otherwise once
// per SyncHeartbeat; a sync that changes nothing in between records
// nothing.
func (c Sync) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if err := c.Check(now); err != nil {
		return nil, err
	}
	last := s.sync
	if c.CurrentFirmwareVersion == "" {
		// Not reported: the lock runs what it last said it runs.
		c.CurrentFirmwareVersion = last.firmwareVersion
	}
	if last.synced && last.keyMapVersion == c.CurrentKeyMapVersion && last.firmwareVersion == c.CurrentFirmwareVersion &&
		now.Sub(last.receivedAt) < SyncHeartbeat {
		return nil, nil
	}
	return []domain.Event{LockSynced{
		LockID: s.id, AccountID: s.accountID, SyncDate: c.SyncDate.UTC(), ReceivedAt: now.UTC(),
		CurrentFirmwareVersion: c.CurrentFirmwareVersion, CurrentKeyMapVersion: c.CurrentKeyMapVersion,
	}}, nil
}

// AccessAttempt is one entry of a lock's access log as the lock sent it.
type AccessAttempt struct {
	LockAccessLogID uuid.UUID
	AccessDate      time.Time
	// AccessDateAsSent is the accessDate text exactly as sent: what the
	// device signed.
	AccessDateAsSent string
	// AccessKeyID names the device credential; AccessCodeID an access
	// code. One of the two is required.
	AccessKeyID     uuid.UUID
	UserDeviceID    uuid.UUID
	AccessCodeID    uuid.UUID
	Result          AccessResult
	DenyReason      string
	DeviceSignature string
}

// Validate checks an entry; fields are named as in the entry.
func (a AccessAttempt) Validate() error {
	switch {
	case a.LockAccessLogID == uuid.Nil:
		return domain.InvalidField("lockAccessLogId", "is required")
	case a.AccessDateAsSent == "":
		// Missing is no text sent. The instant itself may be any of the
		// years 1 to 9999, 0001-01-01T00:00:00Z (time.Time's zero) too.
		return domain.InvalidField("accessDate", "is required")
	case a.AccessKeyID == uuid.Nil && a.AccessCodeID == uuid.Nil:
		return domain.InvalidField("accessKeyId", "is required unless accessCodeId is given")
	case !a.Result.Valid():
		return domain.InvalidField("result", `must be "granted" or "denied"`)
	case a.Result == Granted && a.DenyReason != "":
		return domain.InvalidField("denyReason", "is only for denied entries")
	case len(a.DeviceSignature) > MaxDeviceSignatureLength:
		return domain.InvalidField("deviceSignature", "is too long for a signature")
	}
	if err := domain.ValidateInstant("accessDate", a.AccessDate); err != nil {
		return err
	}
	if err := domain.ValidateText("denyReason", a.DenyReason, MaxDenyReasonLength); err != nil {
		return err
	}
	return domain.ValidateText("deviceSignature", a.DeviceSignature, MaxDeviceSignatureLength)
}

// DeviceSignedText is what a device signs for an access: the UTF-8 text
// `lockId|lockAccessLogId|accessDate`, the date exactly as the lock sends
// it.
func DeviceSignedText(lockID, lockAccessLogID uuid.UUID, accessDate string) []byte {
	return []byte(lockID.String() + "|" + lockAccessLogID.String() + "|" + accessDate)
}

// Credential is what the server knew, when the lock synced, of the
// credential an access attempt names.
type Credential struct {
	// KeyMapVersion is the version of the lock's key map in force at the
	// access date.
	KeyMapVersion uint64
	// InKeyMap: the access key was in that key map; the fields below come
	// from its entry. For an entry naming only an access code: the code
	// was in that key map (the fields below stay unset).
	InKeyMap bool
	// Known: the server knows the access key (from the key map, or else
	// from the device that registered it); the fields below are set.
	Known        bool
	UserID       uuid.UUID
	UserDeviceID uuid.UUID
	UserGroupID  uuid.UUID
	AreaID       uuid.UUID
	// PublicKey is the device's Ed25519 key, standard base64.
	PublicKey string
}

// LogAccess records one attempt of a lock's access log with the server's
// checks.
type LogAccess struct {
	Attempt    AccessAttempt
	Credential Credential
}

// Decide records LockAccessLogged. The entry is kept whatever its checks
// say; they become its flags.
func (c LogAccess) Decide(s State, now time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	a, cred := c.Attempt, c.Credential
	if err := a.Validate(); err != nil {
		return nil, err
	}
	e := LockAccessLogged{
		LockAccessLogID: a.LockAccessLogID, LockID: s.id, AccountID: s.accountID, PropertyID: s.propertyID, AreaID: s.areaID,
		UserDeviceID: a.UserDeviceID, AccessCodeID: a.AccessCodeID, AccessKeyID: a.AccessKeyID,
		AccessDate: a.AccessDate.UTC(), AccessDateAsSent: a.AccessDateAsSent, RecordedAt: now.UTC(),
		Result: a.Result, DenyReason: a.DenyReason, DeviceSignature: a.DeviceSignature,
		FutureDate: a.AccessDate.Sub(now) > FutureTolerance, KeyMapVersion: cred.KeyMapVersion,
	}
	if a.AccessKeyID != uuid.Nil {
		if cred.Known {
			e.UserID, e.UserDeviceID = cred.UserID, cred.UserDeviceID
			if cred.UserGroupID != uuid.Nil {
				e.UserGroupID = cred.UserGroupID
			}
			if cred.AreaID != uuid.Nil {
				e.AreaID = cred.AreaID
			}
		}
		e.DeviceSignatureFailure = !cred.Known ||
			!deviceSigned(cred.PublicKey, a.DeviceSignature, DeviceSignedText(s.id, a.LockAccessLogID, a.AccessDateAsSent))
		e.StaleCredential = a.Result == Granted && !cred.InKeyMap
	} else if a.AccessCodeID != uuid.Nil {
		e.StaleCredential = a.Result == Granted && !cred.InKeyMap
	}
	return []domain.Event{e}, nil
}

// deviceSigned reports whether sig (standard base64) is the Ed25519
// signature of msg by pub (standard base64).
func deviceSigned(pub, sig string, msg []byte) bool {
	if pub == "" || sig == "" {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(pub)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return false
	}
	s, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(s) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(key), msg, s)
}
