package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/nacl/box"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/queries"
)

// RequiredFirmwareSource tells which firmware version a lock of an
// account must run ("": none required); queries.Firmware is one.
type RequiredFirmwareSource interface {
	RequiredFor(ctx context.Context, accountID, lockID uuid.UUID) (string, error)
	// AssignsAny reports whether the account assigns a version anywhere.
	AssignsAny(ctx context.Context, accountID uuid.UUID) (bool, error)
}

// lockSignatureHeader carries the lock's Ed25519 signature of the body.
const lockSignatureHeader = "x-lock-signature"

func (a *API) lockSyncRoutes() []route {
	return []route{
		{method: "PUT", path: "/locks/{lockId}/sync", operation: "syncLock", handler: a.syncLock, lockKey: true,
			summary: "A lock pushes its access logs and pulls its key map, sealed to its X25519 key when its version differs; " +
				"called with the lock's own key and x-lock-signature (its Ed25519 signature of the body); answer signed by the server."},
	}
}

// lockSyncInput is the body of PUT /locks/{lockId}/sync (LockSyncInput).
type lockSyncInput struct {
	SyncDate               *string              `json:"syncDate"`
	CurrentFirmwareVersion string               `json:"currentFirmwareVersion"`
	CurrentKeyMapVersion   *int64               `json:"currentKeyMapVersion"`
	AccessLogs             []lockAccessLogInput `json:"accessLogs"`
}

// lockAccessLogInput is one access attempt a lock sends (NewLockAccessLog).
type lockAccessLogInput struct {
	LockAccessLogID string `json:"lockAccessLogId"`
	AccessDate      string `json:"accessDate"`
	AccessKeyID     string `json:"accessKeyId"`
	UserDeviceID    string `json:"userDeviceId"`
	AccessCodeID    string `json:"accessCodeId"`
	Result          string `json:"result"`
	DenyReason      string `json:"denyReason"`
	DeviceSignature string `json:"deviceSignature"`
}

// lockSyncOutput is the signed answer (SignedLockSyncOutput data).
type lockSyncOutput struct {
	SyncDate                time.Time `json:"syncDate"`
	KeyMapVersion           uint64    `json:"keyMapVersion"`
	EncryptedKeyMapEntries  string    `json:"encryptedKeyMapEntries,omitempty"`
	RequiredFirmwareVersion string    `json:"requiredFirmwareVersion,omitempty"`
	AcceptedAccessLogIDs    []string  `json:"acceptedAccessLogIds"`
}

// decodeLockSync is the strict decoder of a verified sync body.
func decodeLockSync(body []byte) (commands.LockSync, error) {
	var in lockSyncInput
	if err := decodeJSON(body, &in); err != nil {
		return commands.LockSync{}, err
	}
	var out commands.LockSync
	if in.SyncDate == nil || *in.SyncDate == "" {
		return out, domain.InvalidField("syncDate", "is required")
	}
	at, err := domain.ParseInstant("syncDate", *in.SyncDate, "must be an RFC 3339 date-time")
	if err != nil {
		return out, err
	}
	if in.CurrentKeyMapVersion == nil {
		return out, domain.InvalidField("currentKeyMapVersion", "is required")
	}
	if *in.CurrentKeyMapVersion < 0 {
		return out, domain.InvalidField("currentKeyMapVersion", "must not be negative")
	}
	if len(in.AccessLogs) > commands.MaxAccessLogsPerSync {
		return out, domain.InvalidField("accessLogs", fmt.Sprintf("at most %d entries per sync", commands.MaxAccessLogsPerSync))
	}
	out.Report = lock.Sync{SyncDate: at, CurrentFirmwareVersion: in.CurrentFirmwareVersion, CurrentKeyMapVersion: uint64(*in.CurrentKeyMapVersion)}
	out.AccessLogs = make([]lock.AccessAttempt, len(in.AccessLogs))
	for i, e := range in.AccessLogs {
		a, err := e.attempt()
		if err != nil {
			return out, commands.AtEntry("accessLogs", i, err)
		}
		out.AccessLogs[i] = a
	}
	return out, nil
}

// attempt parses one entry; fields are named as in the entry.
func (e lockAccessLogInput) attempt() (lock.AccessAttempt, error) {
	a := lock.AccessAttempt{AccessDateAsSent: e.AccessDate, Result: lock.AccessResult(e.Result), DenyReason: e.DenyReason, DeviceSignature: e.DeviceSignature}
	var err error
	if a.LockAccessLogID, err = domain.ParseID("lockAccessLogId", e.LockAccessLogID); err != nil {
		return a, err
	}
	if e.AccessDate == "" {
		return a, domain.InvalidField("accessDate", "is required")
	}
	if a.AccessDate, err = domain.ParseInstant("accessDate", e.AccessDate, "must be an RFC 3339 date-time"); err != nil {
		return a, err
	}
	for _, f := range []struct {
		name string
		raw  string
		dst  *uuid.UUID
	}{{"accessKeyId", e.AccessKeyID, &a.AccessKeyID}, {"userDeviceId", e.UserDeviceID, &a.UserDeviceID}, {"accessCodeId", e.AccessCodeID, &a.AccessCodeID}} {
		if *f.dst, err = optionalUUID(f.name, f.raw); err != nil {
			return a, err
		}
	}
	return a, nil
}

// readRawBody reads a body of at most MaxBodyBytes, as it was sent.
func readRawBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, domain.InvalidField("body", "could not read the request body")
	}
	return body, nil
}

func (a *API) syncLock(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "lockId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	body, err := readRawBody(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if a.lockSyncs == nil {
		writeErr(w, r, errors.New("lock sync is not configured"))
		return
	}
	res, err := a.lockSyncs.SyncLock(r.Context(), commands.SignedLockSync{LockID: id, Body: body, Signature: r.Header.Get(lockSignatureHeader)}, decodeLockSync)
	if err == nil {
		// A sync's main output is its access logs, which operators read
		// with their own keys: wait for every read model, logs included.
		err = a.settleAll(r.Context(), res.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out, err := a.lockSyncAnswer(r.Context(), res)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeSigned(w, http.StatusOK, out)
}

// lockSyncAnswer builds the answer: the key map's version, the map sealed
// to the lock when the version it holds differs, the firmware it must run
// and the entries kept.
func (a *API) lockSyncAnswer(ctx context.Context, res commands.SyncedLock) (lockSyncOutput, error) {
	out := lockSyncOutput{SyncDate: res.At.UTC(), AcceptedAccessLogIDs: make([]string, len(res.AcceptedAccessLogIDs))}
	for i, id := range res.AcceptedAccessLogIDs {
		out.AcceptedAccessLogIDs[i] = id.String()
	}
	km, err := a.keyMaps.Lock(ctx, res.AccountID.String(), res.LockID.String())
	switch {
	case errors.Is(err, queries.ErrEntityNotFound):
		km = queries.LockKeyMap{Entries: []byte("[]")} // not projected yet: the empty map, version 0
	case err != nil:
		return out, err
	}
	out.KeyMapVersion = km.Version
	if res.Report.CurrentKeyMapVersion != km.Version {
		if out.EncryptedKeyMapEntries, err = sealTo(res.EncryptionPublicKey, km.Entries); err != nil {
			return out, fmt.Errorf("seal the key map of lock %s: %w", res.LockID, err)
		}
	}
	if a.requiredFirmware != nil {
		if out.RequiredFirmwareVersion, err = a.requiredFirmware.RequiredFor(ctx, res.AccountID, res.LockID); err != nil {
			return out, err
		}
	}
	return out, nil
}

// sealTo seals msg in one NaCl anonymous sealed box to an X25519 public key
// (standard base64) and returns the box in standard base64.
func sealTo(publicKey string, msg []byte) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(publicKey)
	if err != nil || len(raw) != 32 {
		return "", errors.New("the encryption public key is not 32 bytes of base64")
	}
	var key [32]byte
	copy(key[:], raw)
	sealed, err := box.SealAnonymous(nil, msg, &key, rand.Reader)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// outOfSyncParam reads ?outOfSync= of GET /locks: true, false or absent.
func outOfSyncParam(r *http.Request) (bool, error) {
	switch queryGet(r, "outOfSync") {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, domain.InvalidField("outOfSync", `must be "true" or "false"`)
}

// listOutOfSyncLocks answers the locks of the filter whose confirmed
// key-map version lags the one they should hold, with the desired version
// in private.keyMapVersion for the callers who see private parts.
func (a *API) listOutOfSyncLocks(w http.ResponseWriter, r *http.Request, f queries.ListFilter, page queries.Page, withPrivate bool) {
	locks, next, err := a.keyMaps.OutOfSyncLocks(r.Context(), actorOf(r).AccountID.String(), f, page, withPrivate)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	assigned := false
	if withPrivate {
		if assigned, err = a.firmwareAssigned(r); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	docs := make([]queries.Document, len(locks))
	for i, l := range locks {
		docs[i] = l.Document
		if withPrivate {
			if docs[i], err = withKeyMapVersion(l.Document, l.KeyMapVersion); err == nil && assigned {
				docs[i], err = a.withRequiredFirmware(r, docs[i])
			}
			if err != nil {
				writeErr(w, r, err)
				return
			}
		}
	}
	writeList(w, "locks", docs, next)
}
