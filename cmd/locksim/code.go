package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/access"
)

// codeDecision is what the lock did with a code typed on its keypad.
type codeDecision struct {
	Result          string `json:"result"`
	DenyReason      string `json:"denyReason,omitempty"`
	LockAccessLogID string `json:"lockAccessLogId,omitempty"`
	AccessDate      string `json:"accessDate"`
	AccessCodeID    string `json:"accessCodeId,omitempty"`
	AreaID          string `json:"areaId,omitempty"`
}

// decideCode checks a typed code against the key map's code entries: the
// entry whose codeHash is sha256(salt || code) opens when its schedule
// admits the instant. A code matching no entry is denied and not logged
// (an access log names a credential, and there is none).
func decideCode(st *lockState, code string, at time.Time) (codeDecision, *accessLog) {
	d := codeDecision{Result: "denied", DenyReason: denyUnknownCredential, AccessDate: at.UTC().Format(accessDateLayout)}
	var match *access.Entry
	for i, e := range st.KeyMap {
		if e.AccessCodeID == uuid.Nil {
			continue
		}
		salt, err := hex.DecodeString(e.Salt)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(append(salt, code...))
		if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(e.CodeHash)) != 1 {
			continue
		}
		if match == nil || e.Schedule.Admits(at, time.UTC) {
			match = &st.KeyMap[i]
		}
	}
	if match == nil {
		return d, nil
	}
	d.AccessCodeID, d.LockAccessLogID = match.AccessCodeID.String(), uuid.NewString()
	if match.Schedule.Admits(at, time.UTC) {
		d.Result, d.DenyReason, d.AreaID = "granted", "", match.AreaID.String()
	} else {
		d.DenyReason = denyOutsideSchedule
	}
	return d, &accessLog{LockAccessLogID: d.LockAccessLogID, AccessDate: d.AccessDate, AccessCodeID: d.AccessCodeID,
		Result: d.Result, DenyReason: d.DenyReason}
}

// lockCode decides offline whether a code typed on the keypad opens the
// lock now (or at --at), logs the attempt for the next sync, and prints the
// decision. A denial is a decision, not a failure: the exit status is 0.
func lockCode(_ context.Context, e env, args []string) error {
	f := newFlags(e, "lock code")
	path := f.need("state", "the lock's state file")
	code := f.need("code", "the digits typed")
	atFlag := f.String("at", "", "the lock's clock, RFC 3339 (default: now)")
	if err := f.parse(args); err != nil {
		return err
	}
	at, err := instantFlag(e, "at", *atFlag)
	if err != nil {
		return err
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
	d, entry := decideCode(st, *code, at)
	if entry != nil {
		st.PendingAccessLogs = append(st.PendingAccessLogs, *entry)
		if err := saveState(*path, st); err != nil {
			return err
		}
	}
	return printJSON(e, d)
}
