package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/accessd/accessd/cmd/internal/atomicfile"
	"github.com/accessd/accessd/domain/access"
)

// stateMode is the only mode a state file may have: it holds private keys
// and an API key, so it is the simulator's alone.
const stateMode = 0o600

// serverKey is the server's signing key as pinned on first use.
type serverKey struct {
	KeyID     string `json:"keyId"`
	PublicKey string `json:"publicKey"`
}

// lockState is everything a simulated lock keeps: its private keys, its
// own API key, the server key it trusts, its key map and the access log
// entries it has not yet handed to the server.
type lockState struct {
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	Server      serverKey `json:"server"`
	LockID      string    `json:"lockId,omitempty"`
	DisplayName string    `json:"displayName"`
	APIKey      string    `json:"apiKey,omitempty"`
	Keys        keyPairs  `json:"keys"`

	FirmwareVersion         string         `json:"firmwareVersion"`
	RequiredFirmwareVersion string         `json:"requiredFirmwareVersion,omitempty"`
	KeyMapVersion           uint64         `json:"keyMapVersion"`
	KeyMap                  []access.Entry `json:"keyMap"`
	LastSyncDate            *time.Time     `json:"lastSyncDate,omitempty"`
	PendingAccessLogs       []accessLog    `json:"pendingAccessLogs"`
	// UsedAccessLogIDs are the lockAccessLogIds of the last credentials
	// presented, oldest first, so that one presented again is refused.
	UsedAccessLogIDs []string `json:"usedAccessLogIds"`
}

// phoneState is everything a simulated phone keeps: its private keys, the
// API key it syncs with, the server key it trusts and its access map.
type phoneState struct {
	Kind         string    `json:"kind"`
	URL          string    `json:"url"`
	Server       serverKey `json:"server"`
	UserID       string    `json:"userId"`
	UserDeviceID string    `json:"userDeviceId,omitempty"`
	AccessKeyID  string    `json:"accessKeyId,omitempty"`
	APIKey       string    `json:"apiKey"`
	DeviceType   string    `json:"deviceType"`
	MakeModel    string    `json:"makeModel"`
	Keys         keyPairs  `json:"keys"`

	AccessMapVersion int64            `json:"userAccessMapVersion"`
	AccessMap        []accessMapEntry `json:"accessMap"`
	LastSyncDate     *time.Time       `json:"lastSyncDate,omitempty"`
}

// accessMapEntry is a door the phone may open (an entry of the user
// access map).
type accessMapEntry struct {
	PropertyID  string          `json:"propertyId"`
	AreaID      string          `json:"areaId"`
	LockID      string          `json:"lockId"`
	UserGroupID string          `json:"userGroupId"`
	Schedule    json.RawMessage `json:"schedule"`
	AccessKeyID string          `json:"accessKeyId"`
}

// accessLog is one access attempt as the lock sends it at its next sync.
type accessLog struct {
	LockAccessLogID string `json:"lockAccessLogId"`
	AccessDate      string `json:"accessDate"`
	AccessKeyID     string `json:"accessKeyId"`
	UserDeviceID    string `json:"userDeviceId,omitempty"`
	AccessCodeID    string `json:"accessCodeId,omitempty"`
	Result          string `json:"result"`
	DenyReason      string `json:"denyReason,omitempty"`
	DeviceSignature string `json:"deviceSignature,omitempty"`
}

const (
	kindLock  = "lock"
	kindPhone = "phone"
)

// errNoState: the state file is not there yet.
var errNoState = errors.New("no state file")

// loadState reads a state file of the kind named. A file others may read
// is refused: its keys may have leaked.
func loadState[T any](path, kind string, kindOf func(*T) string) (*T, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, errNoState)
	}
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %#o lets others read its private keys; it must be 0600", path, info.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := new(T)
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("%s: not a state file: %w", path, err)
	}
	if got := kindOf(s); got != kind {
		return nil, fmt.Errorf("%s: the state of a %q, not of a %s", path, got, kind)
	}
	return s, nil
}

func loadLock(path string) (*lockState, error) {
	return loadState(path, kindLock, func(s *lockState) string { return s.Kind })
}

func loadPhone(path string) (*phoneState, error) {
	return loadState(path, kindPhone, func(s *phoneState) string { return s.Kind })
}

// saveState writes v to path with mode 0600, atomically: a crash leaves
// the old file or the new one, never half of one.
func saveState(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, "", stateMode, func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	})
}

// lockStateFile holds the state file's companion lock, so that two
// commands on one state (an open during a sync) do not lose each other's
// changes. It returns the release function.
func lockStateFile(path string) (func(), error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, stateMode)
	if err != nil {
		return nil, err
	}
	if err := flockExclusive(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}
