package firmware

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// MaxSize is the largest firmware image accepted: 64 MiB.
const MaxSize = 64 << 20

// State is a firmware version as its events left it.
type State struct {
	accountID  uuid.UUID
	version    string
	deviceType DeviceType
	size       int64
	sha256     string
	uploaded   bool
}

// Exists reports whether the version was uploaded.
func (s State) Exists() bool { return s.uploaded }

// AccountID is the account the version belongs to.
func (s State) AccountID() uuid.UUID { return s.accountID }

// Version is the version string.
func (s State) Version() string { return s.version }

// DeviceType is the kind of device the firmware is for.
func (s State) DeviceType() DeviceType { return s.deviceType }

// Size is the image's length in bytes.
func (s State) Size() int64 { return s.size }

// SHA256 is the image's hash, lowercase hex: the name of its blob.
func (s State) SHA256() string { return s.sha256 }

// Upload records a version whose bytes the handler has stored, with their
// length and hash.
type Upload struct {
	AccountID  uuid.UUID
	Version    string
	DeviceType DeviceType
	Size       int64
	SHA256     string
}

// Decide records FirmwareVersionUploaded; nothing when the version was
// uploaded before with the same bytes; ErrOtherBytes when with others.
func (c Upload) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if c.AccountID == uuid.Nil {
		return nil, domain.InvalidField("accountId", "is required")
	}
	if err := ValidateVersion("version", c.Version); err != nil {
		return nil, err
	}
	if c.DeviceType != DeviceLock {
		return nil, domain.InvalidField("deviceType", `must be "Lock"`)
	}
	switch {
	case c.Size <= 0:
		return nil, domain.InvalidField("file", "is empty")
	case c.Size > MaxSize:
		return nil, domain.InvalidField("file", fmt.Sprintf("is larger than %d bytes", MaxSize))
	case !isHexSHA256(c.SHA256):
		return nil, domain.InvalidField("sha256", "must be 64 lowercase hex digits")
	}
	if s.uploaded {
		if s.sha256 == c.SHA256 && s.size == c.Size && s.deviceType == c.DeviceType {
			return nil, nil
		}
		return nil, ErrOtherBytes
	}
	return []domain.Event{FirmwareVersionUploaded{
		AccountID: c.AccountID, FirmwareVersion: c.Version, DeviceType: c.DeviceType, Size: c.Size, SHA256: c.SHA256,
	}}, nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// Evolve applies one event to a version's state.
func Evolve(s State, e domain.Event) State {
	if e, ok := e.(FirmwareVersionUploaded); ok {
		s = State{
			accountID: e.AccountID, version: e.FirmwareVersion, deviceType: e.DeviceType,
			size: e.Size, sha256: e.SHA256, uploaded: true,
		}
	}
	return s
}
