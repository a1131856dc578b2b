package device

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/accessd/accessd/domain"
)

func sync(mod func(*Sync)) Sync {
	c := Sync{DeviceType: IOS, MakeModel: "iPhone 15", OSVersion: "17.4", AppVersion: "2.1.0", AccessMapVersion: 3}
	if mod != nil {
		mod(&c)
	}
	return c
}

var synced = UserDeviceSynced{UserDeviceID: devID, AccountID: accountID, UserID: userID, DeviceType: IOS, MakeModel: "iPhone 15",
	CurrentOSVersion: "17.4", CurrentAppVersion: "2.1.0", CurrentUserAccessMapVersion: 3, SyncedAt: now}

func TestSyncDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given []domain.Event
		when  Sync
		then  []domain.Event
		err   error
		field string
	}{
		{name: "sync", given: []domain.Event{provisioned}, when: sync(nil), then: []domain.Event{synced}},
		{name: "sync again records again", given: []domain.Event{provisioned, synced}, when: sync(nil), then: []domain.Event{synced}},
		{name: "version zero", given: []domain.Event{provisioned}, when: sync(func(c *Sync) { c.AccessMapVersion = 0 }),
			then: []domain.Event{func() UserDeviceSynced { e := synced; e.CurrentUserAccessMapVersion = 0; return e }()}},
		{name: "missing device", when: sync(nil), err: ErrNotFound},
		{name: "deprovisioned device", given: []domain.Event{provisioned, deprovisioned}, when: sync(nil), err: ErrNotFound},
		{name: "bad type", given: []domain.Event{provisioned}, when: sync(func(c *Sync) { c.DeviceType = "Nokia" }), err: domain.ErrInvalid, field: "deviceType"},
		{name: "no make", given: []domain.Event{provisioned}, when: sync(func(c *Sync) { c.MakeModel = " " }), err: domain.ErrInvalid, field: "makeModel"},
		{name: "no os version", given: []domain.Event{provisioned}, when: sync(func(c *Sync) { c.OSVersion = "" }), err: domain.ErrInvalid, field: "currentOsVersion"},
		{name: "long app version", given: []domain.Event{provisioned}, when: sync(func(c *Sync) { c.AppVersion = strings.Repeat("9", 65) }),
			err: domain.ErrInvalid, field: "currentAppVersion"},
		{name: "negative map version", given: []domain.Event{provisioned}, when: sync(func(c *Sync) { c.AccessMapVersion = -1 }),
			err: domain.ErrInvalid, field: "currentUserAccessMapVersion"},
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
	s := fold([]domain.Event{provisioned, synced})
	if !s.LastSyncedAt().Equal(now) || s.OSVersion() != "17.4" || s.AppVersion() != "2.1.0" || s.ConfirmedAccessMapVersion() != 3 {
		t.Fatalf("state after sync: %+v", s)
	}
	if s.PublicKey() != pub1 || s.MakeModel() != "iPhone 15" {
		t.Fatalf("sync changed the registered device: %+v", s)
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	seed := sha256.Sum256([]byte("one")) // testKeys("one") made pub1 from this seed
	key := ed25519.NewKeyFromSeed(seed[:])
	other := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s := fold([]domain.Event{provisioned})
	body := []byte(`{"deviceType":"iOS"}`)
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, body))
	if err := s.VerifySignature(body, sig); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	for name, tc := range map[string]struct {
		body []byte
		sig  string
	}{
		"missing":         {body, ""},
		"not base64":      {body, "%%%"},
		"raw base64":      {body, strings.TrimRight(sig, "=")},
		"short":           {body, base64.StdEncoding.EncodeToString([]byte("short"))},
		"other body":      {[]byte(`{"deviceType":"Android"}`), sig},
		"other key":       {body, base64.StdEncoding.EncodeToString(ed25519.Sign(other, body))},
		"body with space": {append(body, ' '), sig},
	} {
		if err := s.VerifySignature(tc.body, tc.sig); !errors.Is(err, ErrBadSignature) || !errors.Is(err, domain.ErrUnauthenticated) {
			t.Errorf("%s: error = %v, want ErrBadSignature", name, err)
		}
	}
	// After a key rotation only the new key signs.
	rotated := Evolve(s, UserDeviceKeysRotated{UserDeviceID: devID, PublicKey: pub2, EncryptionPublicKey: enc2, AccessKeyID: key2})
	if err := rotated.VerifySignature(body, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("old key after rotation: %v", err)
	}
}
