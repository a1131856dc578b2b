package device

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/domaintest"
)

var (
	now        = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	devID      = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	accountID  = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	userID     = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	key1       = uuid.MustParse("00000000-0000-0000-0000-0000000000f1")
	key2       = uuid.MustParse("00000000-0000-0000-0000-0000000000f2")
	pub1, enc1 = testKeys("one")
	pub2, enc2 = testKeys("two")
)

func fold(events []domain.Event) State {
	var s State
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

var provisioned = UserDeviceProvisioned{
	UserDeviceID: devID, AccountID: accountID, UserID: userID, DeviceType: IOS,
	MakeModel: "iPhone 15", DisplayName: "Ana's phone", PublicKey: pub1, EncryptionPublicKey: enc1, AccessKeyID: key1,
}

var deprovisioned = UserDeviceDeprovisioned{UserDeviceID: devID, AccountID: accountID, UserID: userID, AccessKeyID: key1}

func provision(mod func(*Provision)) Provision {
	c := Provision{UserDeviceID: devID, AccountID: accountID, UserID: userID, DeviceType: IOS,
		MakeModel: "iPhone 15", DisplayName: "Ana's phone", PublicKey: pub1, EncryptionPublicKey: enc1, AccessKeyID: key1}
	if mod != nil {
		mod(&c)
	}
	return c
}

func update(mod func(*Update)) Update {
	c := Update{DeviceType: IOS, MakeModel: "iPhone 15", DisplayName: "Ana's phone"}
	if mod != nil {
		mod(&c)
	}
	return c
}

func TestDecide(t *testing.T) {
	t.Parallel()
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "provision", When: provision(nil), Then: []domain.Event{provisioned}},
		{Name: "provision twice", Given: []domain.Event{provisioned}, When: provision(nil), Err: ErrExists},
		{Name: "provision after deprovision", Given: []domain.Event{provisioned, deprovisioned}, When: provision(nil), Err: domain.ErrConflict},
		{Name: "provision without user", When: provision(func(c *Provision) { c.UserID = uuid.Nil }), Err: domain.ErrInvalid, Field: "userId"},
		{Name: "provision without account", When: provision(func(c *Provision) { c.AccountID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "provision without id", When: provision(func(c *Provision) { c.UserDeviceID = uuid.Nil }), Err: domain.ErrInvalid, Field: "userDeviceId"},
		{Name: "provision without access key id", When: provision(func(c *Provision) { c.AccessKeyID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accessKeyId"},
		{Name: "provision unknown type", When: provision(func(c *Provision) { c.DeviceType = "Windows" }), Err: domain.ErrInvalid, Field: "deviceType"},
		{Name: "provision without make", When: provision(func(c *Provision) { c.MakeModel = "" }), Err: domain.ErrInvalid, Field: "makeModel"},
		{Name: "provision without name", When: provision(func(c *Provision) { c.DisplayName = "" }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "provision bad public key", When: provision(func(c *Provision) { c.PublicKey = "AAAA" }), Err: domain.ErrInvalid, Field: "publicKey"},
		{Name: "provision zero public key", When: provision(func(c *Provision) { c.PublicKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
			Err: domain.ErrInvalid, Field: "publicKey"},
		{Name: "provision bad encryption key", When: provision(func(c *Provision) { c.EncryptionPublicKey = "not base64!" }),
			Err: domain.ErrInvalid, Field: "encryptionPublicKey"},
		{Name: "provision zero encryption key", When: provision(func(c *Provision) { c.EncryptionPublicKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
			Err: domain.ErrInvalid, Field: "encryptionPublicKey"},
		{Name: "update details", Given: []domain.Event{provisioned},
			When: update(func(c *Update) { c.DeviceType, c.MakeModel, c.DisplayName = Android, "Pixel 8", "work phone" }),
			Then: []domain.Event{UserDeviceUpdated{UserDeviceID: devID, AccountID: accountID, UserID: userID,
				DeviceType: Android, MakeModel: "Pixel 8", DisplayName: "work phone"}}},
		{Name: "update unchanged", Given: []domain.Event{provisioned}, When: update(nil)},
		{Name: "update same keys", Given: []domain.Event{provisioned},
			When: update(func(c *Update) { c.PublicKey, c.EncryptionPublicKey, c.AccessKeyID = pub1, enc1, key2 })},
		{Name: "rotate public key", Given: []domain.Event{provisioned},
			When: update(func(c *Update) { c.PublicKey, c.AccessKeyID = pub2, key2 }),
			Then: []domain.Event{UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID,
				PublicKey: pub2, EncryptionPublicKey: enc1, AccessKeyID: key2}}},
		{Name: "rotate encryption key keeps access key", Given: []domain.Event{provisioned},
			When: update(func(c *Update) { c.EncryptionPublicKey, c.AccessKeyID = enc2, key2 }),
			Then: []domain.Event{UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID,
				PublicKey: pub1, EncryptionPublicKey: enc2, AccessKeyID: key1}}},
		{Name: "rename and rotate", Given: []domain.Event{provisioned},
			When: update(func(c *Update) {
				c.DisplayName, c.PublicKey, c.EncryptionPublicKey, c.AccessKeyID = "new", pub2, enc2, key2
			}),
			Then: []domain.Event{
				UserDeviceUpdated{UserDeviceID: devID, AccountID: accountID, UserID: userID, DeviceType: IOS, MakeModel: "iPhone 15", DisplayName: "new"},
				UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID, PublicKey: pub2, EncryptionPublicKey: enc2, AccessKeyID: key2},
			}},
		{Name: "rotate public key without new access key id", Given: []domain.Event{provisioned},
			When: update(func(c *Update) { c.PublicKey = pub2 }), Err: domain.ErrInvalid, Field: "accessKeyId"},
		{Name: "rotate public key reusing access key id", Given: []domain.Event{provisioned},
			When: update(func(c *Update) { c.PublicKey, c.AccessKeyID = pub2, key1 }), Err: domain.ErrInvalid, Field: "accessKeyId"},
		{Name: "update bad key", Given: []domain.Event{provisioned},
			When: update(func(c *Update) { c.PublicKey, c.AccessKeyID = "AQ==", key2 }), Err: domain.ErrInvalid, Field: "publicKey"},
		{Name: "update bad type", Given: []domain.Event{provisioned}, When: update(func(c *Update) { c.DeviceType = "" }),
			Err: domain.ErrInvalid, Field: "deviceType"},
		{Name: "update missing", When: update(nil), Err: ErrNotFound},
		{Name: "update deprovisioned", Given: []domain.Event{provisioned, deprovisioned}, When: update(nil), Err: ErrNotFound},
		{Name: "deprovision", Given: []domain.Event{provisioned}, When: Deprovision{}, Then: []domain.Event{deprovisioned}},
		{Name: "deprovision after rotation names the current key",
			Given: []domain.Event{provisioned, UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID, PublicKey: pub2, EncryptionPublicKey: enc2, AccessKeyID: key2}},
			When:  Deprovision{},
			Then:  []domain.Event{UserDeviceDeprovisioned{UserDeviceID: devID, AccountID: accountID, UserID: userID, AccessKeyID: key2}}},
		{Name: "deprovision missing", When: Deprovision{}, Err: ErrNotFound},
		{Name: "deprovision twice", Given: []domain.Event{provisioned, deprovisioned}, When: Deprovision{}, Err: domain.ErrNotFound},
	})
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{provisioned})
	if !s.Active() || !s.Exists() || s.ID() != devID || s.AccountID() != accountID || s.UserID() != userID ||
		s.PublicKey() != pub1 || s.EncryptionPublicKey() != enc1 || s.AccessKeyID() != key1 ||
		s.DeviceType() != IOS || s.MakeModel() != "iPhone 15" || s.DisplayName() != "Ana's phone" {
		t.Fatalf("state after provision: %+v", s)
	}
	s = Evolve(s, UserDeviceKeysRotated{UserDeviceID: devID, PublicKey: pub2, EncryptionPublicKey: enc2, AccessKeyID: key2})
	s = Evolve(s, UserDeviceUpdated{UserDeviceID: devID, DeviceType: Android, MakeModel: "Pixel", DisplayName: "p"})
	if s.PublicKey() != pub2 || s.EncryptionPublicKey() != enc2 || s.AccessKeyID() != key2 || s.DeviceType() != Android || s.DisplayName() != "p" {
		t.Fatalf("state after update: %+v", s)
	}
	s = Evolve(s, deprovisioned)
	if s.Active() || s.Exists() || !s.Deprovisioned() {
		t.Fatalf("state after deprovision: %+v", s)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(provisioned)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"userDeviceId", "accountId", "userId", "deviceType", "makeModel", "displayName", "publicKey", "encryptionPublicKey", "accessKeyId"} {
		if _, ok := m[k]; !ok {
			t.Errorf("UserDeviceProvisioned JSON lacks %q: %s", k, b)
		}
	}
	if len(m) != 9 {
		t.Errorf("UserDeviceProvisioned JSON has extra fields: %s", b)
	}
	var back UserDeviceProvisioned
	if err := json.Unmarshal(b, &back); err != nil || back != provisioned {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	if len(Events()) != 5 {
		t.Fatal("Events() misses a type")
	}
}
