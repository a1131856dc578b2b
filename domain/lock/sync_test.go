package lock

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

var (
	logID     = uuid.MustParse("00000000-0000-0000-0000-00000000a001")
	accessKey = uuid.MustParse("00000000-0000-0000-0000-00000000a002")
	deviceID  = uuid.MustParse("00000000-0000-0000-0000-00000000a003")
	userID    = uuid.MustParse("00000000-0000-0000-0000-00000000a004")
	groupID   = uuid.MustParse("00000000-0000-0000-0000-00000000a005")
	grantArea = uuid.MustParse("00000000-0000-0000-0000-00000000a006")
	codeID    = uuid.MustParse("00000000-0000-0000-0000-00000000a007")

	devicePriv = ed25519.NewKeyFromSeed(func() []byte { s := sha256.Sum256([]byte("device")); return s[:] }())
	devicePub  = base64.StdEncoding.EncodeToString(devicePriv.Public().(ed25519.PublicKey))

	synced = LockSynced{LockID: lockID, AccountID: accountID, SyncDate: now.Add(-time.Minute), ReceivedAt: now.Add(-time.Minute),
		CurrentFirmwareVersion: "1.2.0", CurrentKeyMapVersion: 3}
)

const sentDate = "2024-03-01T11:30:00.250+01:00"

func sign(lock uuid.UUID, date string) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(devicePriv, DeviceSignedText(lock, logID, date)))
}

func attempt(mod func(*AccessAttempt)) AccessAttempt {
	at, _ := time.Parse(time.RFC3339, sentDate)
	a := AccessAttempt{LockAccessLogID: logID, AccessDate: at, AccessDateAsSent: sentDate, AccessKeyID: accessKey,
		Result: Granted, DeviceSignature: sign(lockID, sentDate)}
	if mod != nil {
		mod(&a)
	}
	return a
}

var inMap = Credential{KeyMapVersion: 4, InKeyMap: true, Known: true, UserID: userID, UserDeviceID: deviceID,
	UserGroupID: groupID, AreaID: grantArea, PublicKey: devicePub}

func logged(mod func(*LockAccessLogged)) LockAccessLogged {
	at, _ := time.Parse(time.RFC3339, sentDate)
	e := LockAccessLogged{LockAccessLogID: logID, LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: grantArea,
		UserGroupID: groupID, UserID: userID, UserDeviceID: deviceID, AccessKeyID: accessKey, AccessDate: at.UTC(),
		AccessDateAsSent: sentDate, RecordedAt: now, Result: Granted, DeviceSignature: sign(lockID, sentDate), KeyMapVersion: 4}
	if mod != nil {
		mod(&e)
	}
	return e
}

func TestSyncDecide(t *testing.T) {
	t.Parallel()
	report := Sync{SyncDate: now.Add(-2 * time.Second), CurrentFirmwareVersion: "1.2.0", CurrentKeyMapVersion: 3}
	first := LockSynced{LockID: lockID, AccountID: accountID, SyncDate: report.SyncDate, ReceivedAt: now,
		CurrentFirmwareVersion: "1.2.0", CurrentKeyMapVersion: 3}
	tests := []struct {
		name  string
		given []domain.Event
		when  decider
		then  []domain.Event
		err   error
		field string
	}{
		{name: "first sync", given: inArea, when: report, then: []domain.Event{first}},
		{name: "nothing changed", given: append(inArea[:2:2], synced), when: report},
		{name: "nothing changed for a heartbeat", given: append(inArea[:2:2], LockSynced{LockID: lockID, AccountID: accountID,
			ReceivedAt: now.Add(-SyncHeartbeat), CurrentFirmwareVersion: "1.2.0", CurrentKeyMapVersion: 3}), when: report, then: []domain.Event{first}},
		{name: "new key map confirmed", given: append(inArea[:2:2], synced),
			when: Sync{SyncDate: report.SyncDate, CurrentFirmwareVersion: "1.2.0", CurrentKeyMapVersion: 4},
			then: []domain.Event{LockSynced{LockID: lockID, AccountID: accountID, SyncDate: report.SyncDate, ReceivedAt: now,
				CurrentFirmwareVersion: "1.2.0", CurrentKeyMapVersion: 4}}},
		{name: "new firmware", given: append(inArea[:2:2], synced),
			when: Sync{SyncDate: report.SyncDate, CurrentFirmwareVersion: "1.3.0", CurrentKeyMapVersion: 3},
			then: []domain.Event{LockSynced{LockID: lockID, AccountID: accountID, SyncDate: report.SyncDate, ReceivedAt: now,
				CurrentFirmwareVersion: "1.3.0", CurrentKeyMapVersion: 3}}},
		{name: "firmware not reported: unchanged", given: append(inArea[:2:2], synced),
			when: Sync{SyncDate: report.SyncDate, CurrentKeyMapVersion: 4},
			then: []domain.Event{LockSynced{LockID: lockID, AccountID: accountID, SyncDate: report.SyncDate, ReceivedAt: now,
				CurrentFirmwareVersion: "1.2.0", CurrentKeyMapVersion: 4}}},
		{name: "firmware not reported, nothing else changed", given: append(inArea[:2:2], synced),
			when: Sync{SyncDate: report.SyncDate, CurrentKeyMapVersion: 3}},
		{name: "sync date kept in UTC", given: inArea,
			when: Sync{SyncDate: report.SyncDate.In(time.FixedZone("X", 7200)), CurrentFirmwareVersion: "1.2.0", CurrentKeyMapVersion: 3},
			then: []domain.Event{first}},
		// time.Time's zero is an instant (0001-01-01T00:00:00Z), not a
		// missing date (the decoder's to check): far from now, stale.
		{name: "sync date at the zero instant", given: inArea, when: Sync{CurrentFirmwareVersion: "1"}, err: ErrStaleSync},
		{name: "bad firmware", given: inArea, when: Sync{SyncDate: now, CurrentFirmwareVersion: "1.0 beta"}, err: domain.ErrInvalid, field: "currentFirmwareVersion"},
		{name: "missing lock", when: report, err: ErrNotFound},
		{name: "deprovisioned lock", given: deprovision, when: report, err: ErrNotFound},
		{name: "replayed an hour later", given: inArea, when: Sync{SyncDate: now.Add(-time.Hour), CurrentKeyMapVersion: 3}, err: ErrStaleSync},
		{name: "dated in the future", given: inArea, when: Sync{SyncDate: now.Add(MaxSyncSkew + time.Second), CurrentKeyMapVersion: 3}, err: ErrStaleSync},

		{name: "granted, signed, in the key map", given: inArea, when: LogAccess{Attempt: attempt(nil), Credential: inMap},
			then: []domain.Event{logged(nil)}},
		{name: "bad device signature", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.DeviceSignature = sign(lockID, "2024-03-01T10:30:00.25Z") }), Credential: inMap},
			then: []domain.Event{logged(func(e *LockAccessLogged) {
				e.DeviceSignature, e.DeviceSignatureFailure = sign(lockID, "2024-03-01T10:30:00.25Z"), true
			})}},
		{name: "signed for another lock", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.DeviceSignature = sign(prop2, sentDate) }), Credential: inMap},
			then: []domain.Event{logged(func(e *LockAccessLogged) { e.DeviceSignature, e.DeviceSignatureFailure = sign(prop2, sentDate), true })}},
		{name: "no device signature", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.DeviceSignature = "" }), Credential: inMap},
			then: []domain.Event{logged(func(e *LockAccessLogged) { e.DeviceSignature, e.DeviceSignatureFailure = "", true })}},
		{name: "stale credential", given: inArea,
			when: LogAccess{Attempt: attempt(nil), Credential: Credential{KeyMapVersion: 5, Known: true, UserID: userID, UserDeviceID: deviceID, PublicKey: devicePub}},
			then: []domain.Event{logged(func(e *LockAccessLogged) {
				e.StaleCredential, e.KeyMapVersion, e.UserGroupID, e.AreaID = true, 5, uuid.Nil, area1
			})}},
		{name: "unknown key", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.UserDeviceID = deviceID }), Credential: Credential{KeyMapVersion: 5}},
			then: []domain.Event{logged(func(e *LockAccessLogged) {
				e.StaleCredential, e.DeviceSignatureFailure, e.KeyMapVersion = true, true, 5
				e.UserGroupID, e.AreaID, e.UserID = uuid.Nil, area1, uuid.Nil
			})}},
		{name: "denied is never stale", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.Result, a.DenyReason = Denied, "outside schedule" }), Credential: Credential{KeyMapVersion: 5}},
			then: []domain.Event{logged(func(e *LockAccessLogged) {
				e.Result, e.DenyReason, e.DeviceSignatureFailure, e.KeyMapVersion = Denied, "outside schedule", true, 5
				e.UserGroupID, e.AreaID, e.UserID, e.UserDeviceID = uuid.Nil, area1, uuid.Nil, uuid.Nil
			})}},
		{name: "future date", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) {
				a.AccessDate, a.AccessDateAsSent = now.Add(FutureTolerance+time.Second), now.Add(FutureTolerance+time.Second).Format(time.RFC3339)
				a.DeviceSignature = sign(lockID, a.AccessDateAsSent)
			}), Credential: inMap},
			then: []domain.Event{logged(func(e *LockAccessLogged) {
				e.AccessDate, e.AccessDateAsSent = now.Add(FutureTolerance+time.Second), now.Add(FutureTolerance+time.Second).Format(time.RFC3339)
				e.DeviceSignature, e.FutureDate = sign(lockID, e.AccessDateAsSent), true
			})}},
		{name: "access code", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.AccessKeyID, a.AccessCodeID, a.DeviceSignature = uuid.Nil, codeID, "" }),
				Credential: Credential{KeyMapVersion: 4, InKeyMap: true}},
			then: []domain.Event{logged(func(e *LockAccessLogged) {
				e.AccessKeyID, e.AccessCodeID, e.DeviceSignature = uuid.Nil, codeID, ""
				e.UserGroupID, e.AreaID, e.UserID, e.UserDeviceID = uuid.Nil, area1, uuid.Nil, uuid.Nil
			})}},
		{name: "access code not in the key map", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.AccessKeyID, a.AccessCodeID, a.DeviceSignature = uuid.Nil, codeID, "" }),
				Credential: Credential{KeyMapVersion: 4}},
			then: []domain.Event{logged(func(e *LockAccessLogged) {
				e.AccessKeyID, e.AccessCodeID, e.DeviceSignature = uuid.Nil, codeID, ""
				e.UserGroupID, e.AreaID, e.UserID, e.UserDeviceID = uuid.Nil, area1, uuid.Nil, uuid.Nil
				e.StaleCredential = true
			})}},
		{name: "denied access code not in the key map", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) {
				a.AccessKeyID, a.AccessCodeID, a.DeviceSignature, a.Result, a.DenyReason = uuid.Nil, codeID, "", Denied, "outsideSchedule"
			}),
				Credential: Credential{KeyMapVersion: 4}},
			then: []domain.Event{logged(func(e *LockAccessLogged) {
				e.AccessKeyID, e.AccessCodeID, e.DeviceSignature, e.Result, e.DenyReason = uuid.Nil, codeID, "", Denied, "outsideSchedule"
				e.UserGroupID, e.AreaID, e.UserID, e.UserDeviceID = uuid.Nil, area1, uuid.Nil, uuid.Nil
			})}},
		{name: "no log id", given: inArea, when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.LockAccessLogID = uuid.Nil })},
			err: domain.ErrInvalid, field: "lockAccessLogId"},
		{name: "no date", given: inArea, when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.AccessDateAsSent = "" })},
			err: domain.ErrInvalid, field: "accessDate"},
		{name: "no credential", given: inArea, when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.AccessKeyID = uuid.Nil })},
			err: domain.ErrInvalid, field: "accessKeyId"},
		{name: "bad result", given: inArea, when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.Result = "opened" })},
			err: domain.ErrInvalid, field: "result"},
		{name: "granted with a deny reason", given: inArea, when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.DenyReason = "x" })},
			err: domain.ErrInvalid, field: "denyReason"},
		{name: "deny reason with control characters", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.Result, a.DenyReason = Denied, "a\x00b" })}, err: domain.ErrInvalid, field: "denyReason"},
		{name: "huge signature", given: inArea,
			when: LogAccess{Attempt: attempt(func(a *AccessAttempt) { a.DeviceSignature = string(make([]byte, 200)) })}, err: domain.ErrInvalid, field: "deviceSignature"},
		{name: "access of a missing lock", when: LogAccess{Attempt: attempt(nil)}, err: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.when.Decide(fold(tt.given), now)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				var de *domain.Error
				if tt.field != "" && (!errors.As(err, &de) || de.Field != tt.field) {
					t.Fatalf("error %v does not name field %q", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.then) {
				t.Fatalf("events =\n%#v\nwant\n%#v", got, tt.then)
			}
		})
	}
}

func TestSyncEvolve(t *testing.T) {
	t.Parallel()
	s := fold(inArea)
	if s.LastKnownSyncDate() != nil || s.CurrentKeyMapVersion() != 0 || s.CurrentFirmwareVersion() != "" {
		t.Fatalf("state before any sync: %+v", s)
	}
	s = Evolve(s, synced)
	if d := s.LastKnownSyncDate(); d == nil || !d.Equal(synced.ReceivedAt) || s.CurrentKeyMapVersion() != 3 || s.CurrentFirmwareVersion() != "1.2.0" {
		t.Fatalf("state after sync: %+v", s)
	}
	if !s.Installed() || s.AreaID() != area1 {
		t.Fatal("a sync moved the lock")
	}
}

func TestAccessLogEventID(t *testing.T) {
	t.Parallel()
	a := AccessLogEventID(lockID, logID)
	if a != AccessLogEventID(lockID, logID) {
		t.Fatal("the id of an entry is not stable")
	}
	if a == AccessLogEventID(prop1, logID) || a == AccessLogEventID(lockID, accessKey) {
		t.Fatal("distinct entries share an id")
	}
	if AccessLogStream(lockID) != "accesslog-"+lockID.String() {
		t.Fatal(AccessLogStream(lockID))
	}
}
