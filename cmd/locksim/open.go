package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/access"
)

// accessDateLayout is how access dates are written: RFC 3339 in UTC with
// milliseconds, so two attempts in one second keep their order.
const accessDateLayout = "2006-01-02T15:04:05.000Z07:00"

// credentialTolerance is how far a credential's accessDate may be from the
// lock's clock: a credential is shown when it is made, so an older one is
// a replay, and a later one a phone with a wrong clock.
const credentialTolerance = 5 * time.Minute

// maxUsedAccessLogIDs bounds the credentials a lock remembers to refuse a
// second presentation of.
const maxUsedAccessLogIDs = 10000

// The reasons a lock denies.
const (
	denyWrongLock          = "wrongLock"          // signed for another lock
	denyExpiredCredential  = "expiredCredential"  // accessDate too far from the lock's clock
	denyReplayedCredential = "replayedCredential" // presented before
	denyUnknownCredential  = "unknownCredential"  // its key is not in the key map
	denyBadSignature       = "badSignature"       // not signed by the key in the key map
	denyOutsideSchedule    = "outsideSchedule"    // no entry's schedule admits the instant
)

// credential is what a phone presents to a lock: deviceSignature is the
// device's Ed25519 signature of the UTF-8 text
// `lockId|lockAccessLogId|accessDate`.
type credential struct {
	AccessKeyID     string `json:"accessKeyId"`
	UserDeviceID    string `json:"userDeviceId"`
	LockID          string `json:"lockId"`
	LockAccessLogID string `json:"lockAccessLogId"`
	AccessDate      string `json:"accessDate"`
	DeviceSignature string `json:"deviceSignature"`
}

// signedText is what the device signs.
func (c credential) signedText() []byte {
	return []byte(c.LockID + "|" + c.LockAccessLogID + "|" + c.AccessDate)
}

// parseCredential reads a credential strictly: every id a UUID (written
// lowercase, as signed), the date RFC 3339.
func parseCredential(raw []byte) (credential, time.Time, error) {
	var c credential
	if err := decodeStrict(raw, &c); err != nil {
		return c, time.Time{}, fmt.Errorf("not a credential: %w", err)
	}
	for _, f := range []struct{ name, value string }{
		{"accessKeyId", c.AccessKeyID}, {"userDeviceId", c.UserDeviceID}, {"lockId", c.LockID}, {"lockAccessLogId", c.LockAccessLogID},
	} {
		if id, err := uuid.Parse(f.value); err != nil || id.String() != f.value {
			return c, time.Time{}, fmt.Errorf("not a credential: %s must be a lowercase UUID", f.name)
		}
	}
	at, err := time.Parse(time.RFC3339, c.AccessDate)
	if err != nil {
		return c, time.Time{}, fmt.Errorf("not a credential: accessDate must be an RFC 3339 date-time")
	}
	return c, at, nil
}

// decision is what the lock did with a credential.
type decision struct {
	Result          string `json:"result"`
	DenyReason      string `json:"denyReason,omitempty"`
	LockAccessLogID string `json:"lockAccessLogId"`
	AccessDate      string `json:"accessDate"`
	AccessKeyID     string `json:"accessKeyId"`
	UserDeviceID    string `json:"userDeviceId"`
	// The key-map entry that admitted the credential, when granted.
	UserID      string `json:"userId,omitempty"`
	UserGroupID string `json:"userGroupId,omitempty"`
	AreaID      string `json:"areaId,omitempty"`
}

// decide decides offline whether credential c, dated signedAt, opens the
// lock at instant at (its clock), and returns the access log entry to
// keep. The entry carries the credential's log id, date and signature, so
// that the server can check the device signed it; when the credential
// was presented before, or is dated too far from the lock's clock, the
// entry gets an id of newID and the lock's clock instead, since those of
// the credential are not this attempt's.
func decide(st *lockState, c credential, signedAt, at time.Time, newID func() string) (decision, accessLog) {
	d := decision{Result: "granted", LockAccessLogID: c.LockAccessLogID, AccessDate: c.AccessDate,
		AccessKeyID: c.AccessKeyID, UserDeviceID: c.UserDeviceID}
	replayed := false
	for _, id := range st.UsedAccessLogIDs {
		replayed = replayed || id == c.LockAccessLogID
	}
	expired := signedAt.Sub(at).Abs() > credentialTolerance
	if replayed {
		d.LockAccessLogID = newID()
	}
	if replayed || expired {
		d.AccessDate = at.UTC().Format(accessDateLayout)
	}
	var matches []access.Entry
	for _, e := range st.KeyMap {
		if e.AccessKeyID.String() == c.AccessKeyID && e.UserDeviceID.String() == c.UserDeviceID {
			matches = append(matches, e)
		}
	}
	switch {
	case c.LockID != st.LockID:
		d.DenyReason = denyWrongLock
	case expired:
		d.DenyReason = denyExpiredCredential
	case replayed:
		d.DenyReason = denyReplayedCredential
	case len(matches) == 0:
		d.DenyReason = denyUnknownCredential
	case !verifyEd25519(matches[0].PublicKey, c.signedText(), c.DeviceSignature):
		d.DenyReason = denyBadSignature
	default:
		d.DenyReason = denyOutsideSchedule
		for _, e := range matches {
			if e.Schedule.Admits(at, time.UTC) { // an entry's schedule carries the property's zone
				d.DenyReason = ""
				d.UserID, d.UserGroupID, d.AreaID = e.UserID.String(), e.UserGroupID.String(), e.AreaID.String()
				break
			}
		}
	}
	if d.DenyReason != "" {
		d.Result = "denied"
	}
	return d, accessLog{
		LockAccessLogID: d.LockAccessLogID, AccessDate: d.AccessDate, AccessKeyID: c.AccessKeyID, UserDeviceID: c.UserDeviceID,
		Result: d.Result, DenyReason: d.DenyReason, DeviceSignature: c.DeviceSignature,
	}
}

// remember keeps a presented credential's log id, so it opens only once.
func (st *lockState) remember(lockAccessLogID string) {
	st.UsedAccessLogIDs = append(st.UsedAccessLogIDs, lockAccessLogID)
	if n := len(st.UsedAccessLogIDs) - maxUsedAccessLogIDs; n > 0 {
		st.UsedAccessLogIDs = append([]string(nil), st.UsedAccessLogIDs[n:]...)
	}
}

// lockOpen decides offline whether the credential opens the lock now (or
// at --at), logs the attempt for the next sync, and prints the decision.
// A denial is a decision, not a failure: the exit status is 0.
func lockOpen(_ context.Context, e env, args []string) error {
	f := newFlags(e, "lock open")
	path := f.need("state", "the lock's state file")
	credPath := f.need("credential", `the credential the phone made ("-": standard input)`)
	atFlag := f.String("at", "", "the lock's clock, RFC 3339 (default: now)")
	if err := f.parse(args); err != nil {
		return err
	}
	at, err := instantFlag(e, "at", *atFlag)
	if err != nil {
		return err
	}
	raw, err := readInput(*credPath)
	if err != nil {
		return err
	}
	c, signedAt, err := parseCredential(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *credPath, err)
	}
	release, err := lockStateFile(*path)
	if err != nil {
		return err
	}
	defer release()
	st, err := loadProvisionedLock(*path)
	if err != nil {
		return err
	}
	d, entry := decide(st, c, signedAt, at, func() string { return uuid.NewString() })
	st.remember(c.LockAccessLogID)
	st.PendingAccessLogs = append(st.PendingAccessLogs, entry)
	if err := saveState(*path, st); err != nil {
		return err
	}
	return printJSON(e, d)
}

// readInput reads a file, or standard input for "-".
func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	}
	return os.ReadFile(path)
}
