package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// phoneProvision makes the phone's key pairs and registers their public
// halves as a device of the user (POST /users/{userId}/devices).
func phoneProvision(ctx context.Context, e env, args []string) error {
	f := newFlags(e, "phone provision")
	rawURL := f.need("url", "the accessd server, such as http://127.0.0.1:8080")
	key := f.need("key", "an API key that may act for the user (a `me` key for them, or owner, manage-access); kept to sync with")
	userID := f.need("user", "the user the phone belongs to")
	path := f.need("state", "the phone's state file, created with mode 0600")
	name := f.String("name", "locksim phone", "the device's display name")
	deviceType := f.String("device-type", "iOS", "iOS or Android")
	makeModel := f.String("make-model", "locksim", "the device's make and model")
	if err := f.parse(args); err != nil {
		return err
	}
	base, err := baseURL(*rawURL)
	if err != nil {
		return usageError{msg: err.Error()}
	}
	user, err := uuid.Parse(*userID)
	if err != nil {
		return usageError{msg: fmt.Sprintf("--user: %q is not a UUID", *userID)}
	}
	release, err := lockStateFile(*path)
	if err != nil {
		return err
	}
	defer release()
	st, err := loadPhone(*path)
	switch {
	case errors.Is(err, errNoState):
		keys, err := newKeyPairs()
		if err != nil {
			return err
		}
		st = &phoneState{Kind: kindPhone, Keys: keys, AccessMap: []accessMapEntry{}}
	case err != nil:
		return err
	case st.UserDeviceID != "":
		return fmt.Errorf("%s: already provisioned as device %s of user %s", *path, st.UserDeviceID, st.UserID)
	}
	if err := st.Keys.check(); err != nil {
		return err
	}
	st.URL, st.UserID, st.APIKey, st.DeviceType, st.MakeModel = base, user.String(), *key, *deviceType, *makeModel
	c := client{http: e.http, base: base, apiKey: *key}
	if err := c.pinServerKey(ctx, &st.Server); err != nil {
		return err
	}
	if err := saveState(*path, st); err != nil {
		return err
	}
	encPub, err := st.Keys.encryptionPublicKey()
	if err != nil {
		return err
	}
	a, err := c.sendJSON(ctx, "POST", "/users/"+st.UserID+"/devices", map[string]string{
		"deviceType": *deviceType, "makeModel": *makeModel, "displayName": *name,
		"publicKey": st.Keys.signingPublicKey(), "encryptionPublicKey": encPub,
	})
	if err != nil {
		return err
	}
	var out struct {
		UserDeviceID string `json:"userDeviceId"`
		UserID       string `json:"userId"`
		PublicKey    string `json:"publicKey"`
		AccessKeyID  string `json:"accessKeyId"`
	}
	if err := json.Unmarshal(a.Data, &out); err != nil {
		return fmt.Errorf("POST /users/%s/devices: %w", st.UserID, err)
	}
	switch {
	case out.UserID != st.UserID || out.PublicKey != st.Keys.signingPublicKey():
		return fmt.Errorf("POST /users/%s/devices: the device registered is not this one", st.UserID)
	case out.UserDeviceID == "" || out.AccessKeyID == "":
		return fmt.Errorf("POST /users/%s/devices: no userDeviceId or accessKeyId in the answer", st.UserID)
	}
	st.UserDeviceID, st.AccessKeyID = out.UserDeviceID, out.AccessKeyID
	if err := saveState(*path, st); err != nil {
		return err
	}
	return printJSON(e, map[string]string{
		"userId": st.UserID, "userDeviceId": st.UserDeviceID, "accessKeyId": st.AccessKeyID, "serverKeyId": st.Server.KeyID,
	})
}

// phoneSyncAnswer is the signed data of a phone sync's answer.
type phoneSyncAnswer struct {
	UserAccessMapVersion          int64  `json:"userAccessMapVersion"`
	EncryptedUserAccessMapEntries string `json:"encryptedUserAccessMapEntries"`
}

// phoneSync syncs the phone, its body signed with the device key; checks
// the server's signature of the answer and opens the sealed access map
// when one comes.
func phoneSync(ctx context.Context, e env, args []string) error {
	f := newFlags(e, "phone sync")
	path := f.need("state", "the phone's state file")
	key := f.String("key", "", "the API key to sync with (default: the one given at provisioning)")
	osVersion := f.String("os-version", "17.4", "the OS version the phone reports")
	appVersion := f.String("app-version", "locksim-1.0", "the app version the phone reports")
	if err := f.parse(args); err != nil {
		return err
	}
	release, err := lockStateFile(*path)
	if err != nil {
		return err
	}
	defer release()
	st, err := loadProvisionedPhone(*path)
	if err != nil {
		return err
	}
	if *key != "" {
		st.APIKey = *key
	}
	body, err := json.Marshal(map[string]any{
		"deviceType": st.DeviceType, "makeModel": st.MakeModel, "currentOsVersion": *osVersion,
		"currentAppVersion": *appVersion, "currentUserAccessMapVersion": st.AccessMapVersion,
	})
	if err != nil {
		return err
	}
	syncPath := "/users/" + st.UserID + "/devices/" + st.UserDeviceID + "/sync"
	c := client{http: e.http, base: st.URL, apiKey: st.APIKey}
	a, err := c.send(ctx, "PUT", syncPath, body, map[string]string{"x-device-signature": st.Keys.sign(body)})
	if err != nil {
		return err
	}
	if err := verifyServer(st.Server, a.Data, a.Signatures); err != nil {
		return fmt.Errorf("PUT %s: %w", syncPath, err)
	}
	var out phoneSyncAnswer
	if err := json.Unmarshal(a.Data, &out); err != nil {
		return fmt.Errorf("PUT %s: %w", syncPath, err)
	}
	updated := false
	switch {
	case out.EncryptedUserAccessMapEntries != "":
		if out.UserAccessMapVersion < st.AccessMapVersion {
			return fmt.Errorf("the server sent access map version %d, older than version %d held: refused", out.UserAccessMapVersion, st.AccessMapVersion)
		}
		plain, err := st.Keys.open(out.EncryptedUserAccessMapEntries)
		if err != nil {
			return fmt.Errorf("access map: %w", err)
		}
		var entries []accessMapEntry
		if err := json.Unmarshal(plain, &entries); err != nil {
			return fmt.Errorf("access map: not a list of entries: %w", err)
		}
		if entries == nil {
			entries = []accessMapEntry{}
		}
		st.AccessMap, st.AccessMapVersion, updated = entries, out.UserAccessMapVersion, true
	case out.UserAccessMapVersion != st.AccessMapVersion:
		return fmt.Errorf("the server says access map version %d, the phone holds %d, and no map came", out.UserAccessMapVersion, st.AccessMapVersion)
	}
	now := e.now().UTC()
	st.LastSyncDate = &now
	if err := saveState(*path, st); err != nil {
		return err
	}
	locks := make([]string, 0, len(st.AccessMap))
	for _, m := range st.AccessMap {
		locks = append(locks, m.LockID)
	}
	return printJSON(e, map[string]any{
		"userDeviceId": st.UserDeviceID, "userAccessMapVersion": st.AccessMapVersion, "accessMapUpdated": updated, "lockIds": locks,
	})
}

// phoneCredential signs a credential for a lock, dated now (or --at), and
// prints it: the phone's accessKeyId and userDeviceId, a fresh
// lockAccessLogId, and the signature of `lockId|lockAccessLogId|accessDate`.
// A lock the access map does not list is refused unless --force.
func phoneCredential(_ context.Context, e env, args []string) error {
	f := newFlags(e, "phone credential")
	path := f.need("state", "the phone's state file")
	lockID := f.need("lock", "the lock to open")
	atFlag := f.String("at", "", "the phone's clock, RFC 3339 (default: now)")
	force := f.Bool("force", false, "sign even for a lock the access map does not list")
	if err := f.parse(args); err != nil {
		return err
	}
	lock, err := uuid.Parse(*lockID)
	if err != nil {
		return usageError{msg: fmt.Sprintf("--lock: %q is not a UUID", *lockID)}
	}
	at, err := instantFlag(e, "at", *atFlag)
	if err != nil {
		return err
	}
	st, err := loadProvisionedPhone(*path)
	if err != nil {
		return err
	}
	var entries []accessMapEntry
	for _, m := range st.AccessMap {
		if m.LockID == lock.String() {
			entries = append(entries, m)
		}
	}
	if len(entries) == 0 && !*force {
		return fmt.Errorf("lock %s is not in the phone's access map (version %d): sync the phone, or --force to sign anyway", lock, st.AccessMapVersion)
	}
	if len(entries) > 0 && !admitsAny(entries, at) {
		fmt.Fprintf(e.stderr, "locksim: warning: no schedule of the access map admits %s at lock %s\n", at.UTC().Format(time.RFC3339), lock)
	}
	c := credential{
		AccessKeyID: st.AccessKeyID, UserDeviceID: st.UserDeviceID, LockID: lock.String(),
		LockAccessLogID: uuid.NewString(), AccessDate: at.UTC().Format(accessDateLayout),
	}
	c.DeviceSignature = st.Keys.sign(c.signedText())
	return printJSON(e, c)
}

// admitsAny reports whether a schedule of the entries admits t.
func admitsAny(entries []accessMapEntry, t time.Time) bool {
	for _, m := range entries {
		var s *domain.Schedule
		if err := json.Unmarshal(m.Schedule, &s); err != nil {
			return true // unreadable here: the lock decides
		}
		if s.Admits(t, time.UTC) {
			return true
		}
	}
	return false
}

// phoneStatus prints what the phone holds, never its private keys or API
// key.
func phoneStatus(_ context.Context, e env, args []string) error {
	f := newFlags(e, "phone status")
	path := f.need("state", "the phone's state file")
	if err := f.parse(args); err != nil {
		return err
	}
	st, err := loadPhone(*path)
	if err != nil {
		return err
	}
	encPub, err := st.Keys.encryptionPublicKey()
	if err != nil {
		return err
	}
	return printJSON(e, struct {
		UserID               string           `json:"userId"`
		UserDeviceID         string           `json:"userDeviceId"`
		AccessKeyID          string           `json:"accessKeyId"`
		URL                  string           `json:"url"`
		ServerKeyID          string           `json:"serverKeyId"`
		PublicKey            string           `json:"publicKey"`
		EncryptionPublicKey  string           `json:"encryptionPublicKey"`
		UserAccessMapVersion int64            `json:"userAccessMapVersion"`
		AccessMap            []accessMapEntry `json:"accessMap"`
		LastSyncDate         *time.Time       `json:"lastSyncDate,omitempty"`
	}{st.UserID, st.UserDeviceID, st.AccessKeyID, st.URL, st.Server.KeyID, st.Keys.signingPublicKey(), encPub,
		st.AccessMapVersion, st.AccessMap, st.LastSyncDate})
}

// loadProvisionedPhone loads a phone state that has a device id.
func loadProvisionedPhone(path string) (*phoneState, error) {
	st, err := loadPhone(path)
	if err != nil {
		return nil, err
	}
	if st.UserDeviceID == "" {
		return nil, fmt.Errorf("%s: the phone is not provisioned yet (locksim phone provision)", path)
	}
	return st, st.Keys.check()
}
