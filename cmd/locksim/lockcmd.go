package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/access"
)

// maxLogsPerSync is how many access log entries one sync carries at most
// (the server's limit); a lock with more syncs again.
const maxLogsPerSync = 1000

// lockProvision makes the lock's key pairs, registers their public halves
// (POST /locks), checks the server's signature of the answer, and keeps
// the lock's id and its own API key.
func lockProvision(ctx context.Context, e env, args []string) error {
	f := newFlags(e, "lock provision")
	rawURL := f.need("url", "the accessd server, such as http://127.0.0.1:8080")
	key := f.need("key", "an API key with provision-lock (an owner key will do)")
	path := f.need("state", "the lock's state file, created with mode 0600")
	name := f.need("name", "the lock's display name")
	firmware := f.String("firmware", "1.0.0", "the firmware version the lock says it runs")
	if err := f.parse(args); err != nil {
		return err
	}
	base, err := baseURL(*rawURL)
	if err != nil {
		return usageError{msg: err.Error()}
	}
	release, err := lockStateFile(*path)
	if err != nil {
		return err
	}
	defer release()
	st, err := loadLock(*path)
	switch {
	case errors.Is(err, errNoState):
		keys, err := newKeyPairs()
		if err != nil {
			return err
		}
		st = &lockState{Kind: kindLock, Keys: keys, KeyMap: []access.Entry{}, PendingAccessLogs: []accessLog{}, UsedAccessLogIDs: []string{}}
	case err != nil:
		return err
	case st.LockID != "":
		return fmt.Errorf("%s: already provisioned as lock %s", *path, st.LockID)
	}
	if err := st.Keys.check(); err != nil {
		return err
	}
	st.URL, st.DisplayName, st.FirmwareVersion = base, *name, *firmware
	c := client{http: e.http, base: base, apiKey: *key}
	if err := c.pinServerKey(ctx, &st.Server); err != nil {
		return err
	}
	// Keep the keys before registering them: a lost answer must not leave
	// a registered lock whose private keys are gone.
	if err := saveState(*path, st); err != nil {
		return err
	}
	encPub, err := st.Keys.encryptionPublicKey()
	if err != nil {
		return err
	}
	a, err := c.sendJSON(ctx, "POST", "/locks", map[string]string{
		"displayName": *name, "publicKey": st.Keys.signingPublicKey(), "encryptionPublicKey": encPub,
	})
	if err != nil {
		return err
	}
	if err := verifyServer(st.Server, a.Data, a.Signatures); err != nil {
		return fmt.Errorf("POST /locks: %w", err)
	}
	var out struct {
		LockID              string `json:"lockId"`
		PublicKey           string `json:"publicKey"`
		EncryptionPublicKey string `json:"encryptionPublicKey"`
		Private             struct {
			APIKey string `json:"apiKey"`
		} `json:"private"`
	}
	if err := json.Unmarshal(a.Data, &out); err != nil {
		return fmt.Errorf("POST /locks: %w", err)
	}
	id, err := uuid.Parse(out.LockID)
	switch {
	case err != nil:
		return fmt.Errorf("POST /locks: no lockId in the answer")
	case out.PublicKey != st.Keys.signingPublicKey() || out.EncryptionPublicKey != encPub:
		return fmt.Errorf("POST /locks: the lock registered is not ours: its public keys differ")
	case out.Private.APIKey == "":
		return fmt.Errorf("POST /locks: no private.apiKey in the answer (the key needs provision-lock)")
	}
	st.LockID, st.APIKey = id.String(), out.Private.APIKey
	if err := saveState(*path, st); err != nil {
		return err
	}
	return printJSON(e, map[string]string{
		"lockId": st.LockID, "displayName": st.DisplayName, "publicKey": out.PublicKey,
		"encryptionPublicKey": encPub, "serverKeyId": st.Server.KeyID,
	})
}

// lockSyncBody is the body of PUT /locks/{lockId}/sync.
type lockSyncBody struct {
	SyncDate               string      `json:"syncDate"`
	CurrentFirmwareVersion string      `json:"currentFirmwareVersion"`
	CurrentKeyMapVersion   uint64      `json:"currentKeyMapVersion"`
	AccessLogs             []accessLog `json:"accessLogs"`
}

// lockSyncAnswer is the signed data of the answer.
type lockSyncAnswer struct {
	SyncDate                time.Time `json:"syncDate"`
	KeyMapVersion           uint64    `json:"keyMapVersion"`
	EncryptedKeyMapEntries  string    `json:"encryptedKeyMapEntries"`
	RequiredFirmwareVersion string    `json:"requiredFirmwareVersion"`
	AcceptedAccessLogIDs    []string  `json:"acceptedAccessLogIds"`
}

// lockSyncReport is what lock sync prints.
type lockSyncReport struct {
	LockID                  string   `json:"lockId"`
	KeyMapVersion           uint64   `json:"keyMapVersion"`
	KeyMapEntries           int      `json:"keyMapEntries"`
	KeyMapUpdated           bool     `json:"keyMapUpdated"`
	SentAccessLogs          int      `json:"sentAccessLogs"`
	AcceptedAccessLogIDs    []string `json:"acceptedAccessLogIds"`
	PendingAccessLogs       int      `json:"pendingAccessLogs"`
	RequiredFirmwareVersion string   `json:"requiredFirmwareVersion,omitempty"`
}

// lockSync sends the pending access logs and the key-map version the lock
// holds, signed with its key; checks the server's signature of the answer;
// installs the sealed key map when one comes; and drops the entries the
// server accepted.
func lockSync(ctx context.Context, e env, args []string) error {
	f := newFlags(e, "lock sync")
	path := f.need("state", "the lock's state file")
	firmware := f.String("firmware", "", "the firmware version the lock runs from now on (default: as before)")
	if err := f.parse(args); err != nil {
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
	if *firmware != "" {
		st.FirmwareVersion = *firmware
	}
	c := client{http: e.http, base: st.URL, apiKey: st.APIKey}
	report := lockSyncReport{LockID: st.LockID, AcceptedAccessLogIDs: []string{}}
	for {
		batch := st.PendingAccessLogs[:min(len(st.PendingAccessLogs), maxLogsPerSync)]
		out, err := syncLockOnce(ctx, e, c, st, batch)
		if err != nil {
			return err
		}
		updated, err := st.applySync(out)
		if err != nil {
			return err
		}
		if err := saveState(*path, st); err != nil {
			return err
		}
		report.KeyMapUpdated = report.KeyMapUpdated || updated
		report.SentAccessLogs += len(batch)
		report.AcceptedAccessLogIDs = append(report.AcceptedAccessLogIDs, out.AcceptedAccessLogIDs...)
		if len(batch) < maxLogsPerSync || len(out.AcceptedAccessLogIDs) == 0 {
			break
		}
	}
	report.KeyMapVersion, report.KeyMapEntries = st.KeyMapVersion, len(st.KeyMap)
	report.PendingAccessLogs, report.RequiredFirmwareVersion = len(st.PendingAccessLogs), st.RequiredFirmwareVersion
	return printJSON(e, report)
}

// syncLockOnce sends one signed sync and returns its verified answer.
func syncLockOnce(ctx context.Context, e env, c client, st *lockState, logs []accessLog) (lockSyncAnswer, error) {
	body, err := json.Marshal(lockSyncBody{
		SyncDate: e.now().UTC().Format(time.RFC3339), CurrentFirmwareVersion: st.FirmwareVersion,
		CurrentKeyMapVersion: st.KeyMapVersion, AccessLogs: logs,
	})
	if err != nil {
		return lockSyncAnswer{}, err
	}
	path := "/locks/" + st.LockID + "/sync"
	a, err := c.send(ctx, "PUT", path, body, map[string]string{"x-lock-signature": st.Keys.sign(body)})
	if err != nil {
		return lockSyncAnswer{}, err
	}
	if err := verifyServer(st.Server, a.Data, a.Signatures); err != nil {
		return lockSyncAnswer{}, fmt.Errorf("PUT %s: %w", path, err)
	}
	var out lockSyncAnswer
	if err := json.Unmarshal(a.Data, &out); err != nil {
		return out, fmt.Errorf("PUT %s: %w", path, err)
	}
	if out.AcceptedAccessLogIDs == nil {
		return out, fmt.Errorf("PUT %s: the answer has no acceptedAccessLogIds", path)
	}
	return out, nil
}

// applySync installs what a verified answer brings: the key map when it
// is sealed in (refusing an older version than the one held), and drops
// the accepted entries. It reports whether the key map changed.
func (st *lockState) applySync(out lockSyncAnswer) (bool, error) {
	updated := false
	switch {
	case out.EncryptedKeyMapEntries != "":
		if out.KeyMapVersion < st.KeyMapVersion {
			return false, fmt.Errorf("the server sent key map version %d, older than version %d held: refused", out.KeyMapVersion, st.KeyMapVersion)
		}
		plain, err := st.Keys.open(out.EncryptedKeyMapEntries)
		if err != nil {
			return false, fmt.Errorf("key map: %w", err)
		}
		var entries []access.Entry
		if err := json.Unmarshal(plain, &entries); err != nil {
			return false, fmt.Errorf("key map: not a list of entries: %w", err)
		}
		if entries == nil {
			entries = []access.Entry{}
		}
		st.KeyMap, st.KeyMapVersion, updated = entries, out.KeyMapVersion, true
	case out.KeyMapVersion != st.KeyMapVersion:
		return false, fmt.Errorf("the server says key map version %d, the lock holds %d, and no map came", out.KeyMapVersion, st.KeyMapVersion)
	}
	accepted := make(map[string]bool, len(out.AcceptedAccessLogIDs))
	for _, id := range out.AcceptedAccessLogIDs {
		accepted[id] = true
	}
	kept := st.PendingAccessLogs[:0]
	for _, l := range st.PendingAccessLogs {
		if !accepted[l.LockAccessLogID] {
			kept = append(kept, l)
		}
	}
	st.PendingAccessLogs = kept
	st.RequiredFirmwareVersion = out.RequiredFirmwareVersion
	at := out.SyncDate.UTC()
	st.LastSyncDate = &at
	return updated, nil
}

// lockStatus prints what the lock holds, never its private keys or API
// key.
func lockStatus(_ context.Context, e env, args []string) error {
	f := newFlags(e, "lock status")
	path := f.need("state", "the lock's state file")
	if err := f.parse(args); err != nil {
		return err
	}
	st, err := loadLock(*path)
	if err != nil {
		return err
	}
	encPub, err := st.Keys.encryptionPublicKey()
	if err != nil {
		return err
	}
	return printJSON(e, struct {
		LockID                  string         `json:"lockId"`
		DisplayName             string         `json:"displayName"`
		URL                     string         `json:"url"`
		ServerKeyID             string         `json:"serverKeyId"`
		PublicKey               string         `json:"publicKey"`
		EncryptionPublicKey     string         `json:"encryptionPublicKey"`
		FirmwareVersion         string         `json:"firmwareVersion"`
		RequiredFirmwareVersion string         `json:"requiredFirmwareVersion,omitempty"`
		KeyMapVersion           uint64         `json:"keyMapVersion"`
		KeyMap                  []access.Entry `json:"keyMap"`
		LastSyncDate            *time.Time     `json:"lastSyncDate,omitempty"`
		PendingAccessLogs       []accessLog    `json:"pendingAccessLogs"`
	}{st.LockID, st.DisplayName, st.URL, st.Server.KeyID, st.Keys.signingPublicKey(), encPub, st.FirmwareVersion,
		st.RequiredFirmwareVersion, st.KeyMapVersion, st.KeyMap, st.LastSyncDate, st.PendingAccessLogs})
}

// loadProvisionedLock loads a lock state that has a lock id.
func loadProvisionedLock(path string) (*lockState, error) {
	st, err := loadLock(path)
	if err != nil {
		return nil, err
	}
	if st.LockID == "" || st.APIKey == "" {
		return nil, fmt.Errorf("%s: the lock is not provisioned yet (locksim lock provision)", path)
	}
	return st, st.Keys.check()
}

// printJSON prints v as one line of JSON on stdout.
func printJSON(e env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
