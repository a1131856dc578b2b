package firmware

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

var (
	now       = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	lockID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	areaID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c2")
	sumA      = strings.Repeat("ab", 32)
	sumB      = strings.Repeat("cd", 32)
)

var uploaded = FirmwareVersionUploaded{AccountID: accountID, FirmwareVersion: "1.2.3", DeviceType: DeviceLock, Size: 10, SHA256: sumA}

func upload(mod func(*Upload)) Upload {
	c := Upload{AccountID: accountID, Version: "1.2.3", DeviceType: DeviceLock, Size: 10, SHA256: sumA}
	if mod != nil {
		mod(&c)
	}
	return c
}

// check compares a decision with the expected events or error.
func check(t *testing.T, got []domain.Event, err error, then []domain.Event, wantErr error, field string) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("error = %v, want %v", err, wantErr)
		}
		var de *domain.Error
		if field != "" && (!errors.As(err, &de) || de.Field != field) {
			t.Fatalf("error %v does not name field %q", err, field)
		}
		if got != nil {
			t.Fatalf("events = %v with an error", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("error = %v", err)
	}
	if !reflect.DeepEqual(got, then) {
		t.Fatalf("events =\n%#v\nwant\n%#v", got, then)
	}
}

func TestUpload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given []domain.Event
		when  Upload
		then  []domain.Event
		err   error
		field string
	}{
		{name: "upload", when: upload(nil), then: []domain.Event{uploaded}},
		{name: "same bytes again", given: []domain.Event{uploaded}, when: upload(nil)},
		{name: "other bytes", given: []domain.Event{uploaded}, when: upload(func(c *Upload) { c.SHA256 = sumB }), err: ErrOtherBytes},
		{name: "other size", given: []domain.Event{uploaded}, when: upload(func(c *Upload) { c.Size = 11 }), err: domain.ErrConflict},
		{name: "bad version", when: upload(func(c *Upload) { c.Version = "1.0/../x" }), err: domain.ErrInvalid, field: "version"},
		{name: "version too long", when: upload(func(c *Upload) { c.Version = strings.Repeat("1", 65) }), err: domain.ErrInvalid, field: "version"},
		{name: "longest version", when: upload(func(c *Upload) { c.Version = strings.Repeat("1", 64) }),
			then: []domain.Event{FirmwareVersionUploaded{AccountID: accountID, FirmwareVersion: strings.Repeat("1", 64), DeviceType: DeviceLock, Size: 10, SHA256: sumA}}},
		{name: "no version", when: upload(func(c *Upload) { c.Version = "" }), err: domain.ErrInvalid, field: "version"},
		{name: "empty image", when: upload(func(c *Upload) { c.Size = 0 }), err: domain.ErrInvalid, field: "file"},
		{name: "too large", when: upload(func(c *Upload) { c.Size = MaxSize + 1 }), err: domain.ErrInvalid, field: "file"},
		{name: "largest", when: upload(func(c *Upload) { c.Size = MaxSize }),
			then: []domain.Event{FirmwareVersionUploaded{AccountID: accountID, FirmwareVersion: "1.2.3", DeviceType: DeviceLock, Size: MaxSize, SHA256: sumA}}},
		{name: "upper-case hash", when: upload(func(c *Upload) { c.SHA256 = strings.ToUpper(sumA) }), err: domain.ErrInvalid, field: "sha256"},
		{name: "short hash", when: upload(func(c *Upload) { c.SHA256 = "abcd" }), err: domain.ErrInvalid, field: "sha256"},
		{name: "other device type", when: upload(func(c *Upload) { c.DeviceType = "Phone" }), err: domain.ErrInvalid, field: "deviceType"},
		{name: "no account", when: upload(func(c *Upload) { c.AccountID = uuid.Nil }), err: domain.ErrInvalid, field: "accountId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s State
			for _, e := range tt.given {
				s = Evolve(s, e)
			}
			got, err := tt.when.Decide(s, now)
			check(t, got, err, tt.then, tt.err, tt.field)
		})
	}
}

func TestAssignAndUnassign(t *testing.T) {
	t.Parallel()
	lock := Target{Scope: ScopeLock, ID: lockID}
	assigned := FirmwareVersionAssigned{AccountID: accountID, FirmwareVersion: "1.2.3", Scope: ScopeLock, LockID: lockID}
	tests := []struct {
		name  string
		given []domain.Event
		when  interface {
			Decide(Assignment, time.Time) ([]domain.Event, error)
		}
		then  []domain.Event
		err   error
		field string
	}{
		{name: "assign to a lock", when: Assign{AccountID: accountID, Target: lock, Version: "1.2.3"}, then: []domain.Event{assigned}},
		{name: "assign the same again", given: []domain.Event{assigned}, when: Assign{AccountID: accountID, Target: lock, Version: "1.2.3"}},
		{name: "assign another version", given: []domain.Event{assigned}, when: Assign{AccountID: accountID, Target: lock, Version: "2.0"},
			then: []domain.Event{FirmwareVersionAssigned{AccountID: accountID, FirmwareVersion: "2.0", Scope: ScopeLock, LockID: lockID, PreviousFirmwareVersion: "1.2.3"}}},
		{name: "assign to an area", when: Assign{AccountID: accountID, Target: Target{Scope: ScopeArea, ID: areaID}, Version: "1.2.3"},
			then: []domain.Event{FirmwareVersionAssigned{AccountID: accountID, FirmwareVersion: "1.2.3", Scope: ScopeArea, AreaID: areaID}}},
		{name: "assign globally", when: Assign{AccountID: accountID, Target: Target{Scope: ScopeGlobal}, Version: "1.2.3"},
			then: []domain.Event{FirmwareVersionAssigned{AccountID: accountID, FirmwareVersion: "1.2.3", Scope: ScopeGlobal}}},
		{name: "global with an id", when: Assign{AccountID: accountID, Target: Target{Scope: ScopeGlobal, ID: lockID}, Version: "1.2.3"},
			err: domain.ErrInvalid, field: "scope"},
		{name: "lock without id", when: Assign{AccountID: accountID, Target: Target{Scope: ScopeLock}, Version: "1.2.3"},
			err: domain.ErrInvalid, field: "lockId"},
		{name: "property without id", when: Assign{AccountID: accountID, Target: Target{Scope: ScopeProperty}, Version: "1.2.3"},
			err: domain.ErrInvalid, field: "propertyId"},
		{name: "unknown scope", when: Assign{AccountID: accountID, Target: Target{Scope: "building", ID: lockID}, Version: "1.2.3"},
			err: domain.ErrInvalid, field: "scope"},
		{name: "bad version", when: Assign{AccountID: accountID, Target: lock, Version: "1 2"}, err: domain.ErrInvalid, field: "version"},
		{name: "unassign", given: []domain.Event{assigned}, when: Unassign{AccountID: accountID, Target: lock},
			then: []domain.Event{FirmwareVersionUnassigned{AccountID: accountID, FirmwareVersion: "1.2.3", Scope: ScopeLock, LockID: lockID}}},
		{name: "unassign after reassign names the current version",
			given: []domain.Event{assigned, FirmwareVersionAssigned{AccountID: accountID, FirmwareVersion: "2.0", Scope: ScopeLock, LockID: lockID, PreviousFirmwareVersion: "1.2.3"}},
			when:  Unassign{AccountID: accountID, Target: lock},
			then:  []domain.Event{FirmwareVersionUnassigned{AccountID: accountID, FirmwareVersion: "2.0", Scope: ScopeLock, LockID: lockID}}},
		{name: "unassign nothing", when: Unassign{AccountID: accountID, Target: lock}},
		{name: "unassign twice", given: []domain.Event{assigned, FirmwareVersionUnassigned{AccountID: accountID, FirmwareVersion: "1.2.3", Scope: ScopeLock, LockID: lockID}},
			when: Unassign{AccountID: accountID, Target: lock}},
		{name: "reassign after unassign", given: []domain.Event{assigned, FirmwareVersionUnassigned{AccountID: accountID, FirmwareVersion: "1.2.3", Scope: ScopeLock, LockID: lockID}},
			when: Assign{AccountID: accountID, Target: lock, Version: "1.2.3"}, then: []domain.Event{assigned}},
		{name: "unassign bad scope", when: Unassign{AccountID: accountID, Target: Target{Scope: ""}}, err: domain.ErrInvalid, field: "scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Assignment
			for _, e := range tt.given {
				s = EvolveAssignment(s, e)
			}
			got, err := tt.when.Decide(s, now)
			check(t, got, err, tt.then, tt.err, tt.field)
		})
	}
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := Evolve(State{}, uploaded)
	if !s.Exists() || s.AccountID() != accountID || s.Version() != "1.2.3" || s.Size() != 10 || s.SHA256() != sumA || s.DeviceType() != DeviceLock {
		t.Fatalf("state after upload: %+v", s)
	}
	a := EvolveAssignment(Assignment{}, FirmwareVersionAssigned{AccountID: accountID, FirmwareVersion: "1.2.3", Scope: ScopeArea, AreaID: areaID})
	if a.Version() != "1.2.3" || a.Target() != (Target{Scope: ScopeArea, ID: areaID}) || a.AccountID() != accountID {
		t.Fatalf("assignment: %+v", a)
	}
	a = EvolveAssignment(a, FirmwareVersionUnassigned{AccountID: accountID, FirmwareVersion: "1.2.3", Scope: ScopeArea, AreaID: areaID})
	if a.Version() != "" {
		t.Fatalf("assignment after unassign: %+v", a)
	}
}

func TestIDsArePerAccount(t *testing.T) {
	t.Parallel()
	other := uuid.MustParse("00000000-0000-0000-0000-0000000000b2")
	first, again := VersionID(accountID, "1.0"), VersionID(accountID, "1"+".0")
	if first == VersionID(other, "1.0") || first != again {
		t.Fatal("version ids must be stable and per account")
	}
	lock := Target{Scope: ScopeLock, ID: lockID}
	if TargetID(accountID, lock) == TargetID(other, lock) || TargetID(accountID, lock) == TargetID(accountID, Target{Scope: ScopeArea, ID: lockID}) {
		t.Fatal("target ids must be per account and per scope")
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(FirmwareVersionAssigned{AccountID: accountID, FirmwareVersion: "1.0", Scope: ScopeGlobal})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"accountId":"`+accountID.String()+`","firmwareVersion":"1.0","scope":"global"}` {
		t.Fatalf("global assignment JSON: %s", b)
	}
	b, err = json.Marshal(uploaded)
	if err != nil {
		t.Fatal(err)
	}
	var back FirmwareVersionUploaded
	if err := json.Unmarshal(b, &back); err != nil || back != uploaded {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	if len(Events()) != 3 {
		t.Fatal("Events() misses a type")
	}
}

// `.` and `..` are refused (a URL path cannot carry them as a segment),
// other runs of dots are not; the log may still hold them from before.
func TestValidateVersionRefusesDotSegments(t *testing.T) {
	t.Parallel()
	for _, v := range []string{".", ".."} {
		var de *domain.Error
		if err := ValidateVersion("version", v); !errors.As(err, &de) || !errors.Is(err, domain.ErrInvalid) || de.Field != "version" {
			t.Errorf("%q: err = %v, want a 400 naming version", v, err)
		}
		if !RecordedVersionValid(v) {
			t.Errorf("%q: a recorded version is still shown", v)
		}
	}
	for _, v := range []string{"...", "1..2", ".1", "1.0.0"} {
		if err := ValidateVersion("version", v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
}
