package device

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/domaintest"
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
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "sync", Given: []domain.Event{provisioned}, When: sync(nil), Then: []domain.Event{synced}},
		{Name: "sync again records again", Given: []domain.Event{provisioned, synced}, When: sync(nil), Then: []domain.Event{synced}},
		{Name: "version zero", Given: []domain.Event{provisioned}, When: sync(func(c *Sync) { c.AccessMapVersion = 0 }),
			Then: []domain.Event{func() UserDeviceSynced { e := synced; e.CurrentUserAccessMapVersion = 0; return e }()}},
		{Name: "missing device", When: sync(nil), Err: ErrNotFound},
		{Name: "deprovisioned device", Given: []domain.Event{provisioned, deprovisioned}, When: sync(nil), Err: ErrNotFound},
		{Name: "bad type", Given: []domain.Event{provisioned}, When: sync(func(c *Sync) { c.DeviceType = "Nokia" }), Err: domain.ErrInvalid, Field: "deviceType"},
		{Name: "no make", Given: []domain.Event{provisioned}, When: sync(func(c *Sync) { c.MakeModel = " " }), Err: domain.ErrInvalid, Field: "makeModel"},
		{Name: "no os version", Given: []domain.Event{provisioned}, When: sync(func(c *Sync) { c.OSVersion = "" }), Err: domain.ErrInvalid, Field: "currentOsVersion"},
		{Name: "long app version", Given: []domain.Event{provisioned}, When: sync(func(c *Sync) { c.AppVersion = strings.Repeat("9", 65) }),
			Err: domain.ErrInvalid, Field: "currentAppVersion"},
		{Name: "negative map version", Given: []domain.Event{provisioned}, When: sync(func(c *Sync) { c.AccessMapVersion = -1 }),
			Err: domain.ErrInvalid, Field: "currentUserAccessMapVersion"},
	})
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
