package device

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
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

type decider interface {
	Decide(State, time.Time) ([]domain.Event, error)
}

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
	tests := []struct {
		name  string
		given []domain.Event
		when  decider
		then  []domain.Event
		err   error
		field string
	}{
		{name: "provision", when: provision(nil), then: []domain.Event{provisioned}},
		{name: "provision twice", given: []domain.Event{provisioned}, when: provision(nil), err: ErrExists},
		{name: "provision after deprovision", given: []domain.Event{provisioned, deprovisioned}, when: provision(nil), err: domain.ErrConflict},
		{name: "provision without user", when: provision(func(c *Provision) { c.UserID = uuid.Nil }), err: domain.ErrInvalid, field: "userId"},
		{name: "provision without account", when: provision(func(c *Provision) { c.AccountID = uuid.Nil }), err: domain.ErrInvalid, field: "accountId"},
		{name: "provision without id", when: provision(func(c *Provision) { c.UserDeviceID = uuid.Nil }), err: domain.ErrInvalid, field: "userDeviceId"},
		{name: "provision without access key id", when: provision(func(c *Provision) { c.AccessKeyID = uuid.Nil }), err: domain.ErrInvalid, field: "accessKeyId"},
		{name: "provision unknown type", when: provision(func(c *Provision) { c.DeviceType = "Windows" }), err: domain.ErrInvalid, field: "deviceType"},
		{name: "provision without make", when: provision(func(c *Provision) { c.MakeModel = "" }), err: domain.ErrInvalid, field: "makeModel"},
		{name: "provision without name", when: provision(func(c *Provision) { c.DisplayName = "" }), err: domain.ErrInvalid, field: "displayName"},
		{name: "provision bad public key", when: provision(func(c *Provision) { c.PublicKey = "AAAA" }), err: domain.ErrInvalid, field: "publicKey"},
		{name: "provision zero public key", when: provision(func(c *Provision) { c.PublicKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
			err: domain.ErrInvalid, field: "publicKey"},
		{name: "provision bad encryption key", when: provision(func(c *Provision) { c.EncryptionPublicKey = "not base64!" }),
			err: domain.ErrInvalid, field: "encryptionPublicKey"},
		{name: "provision zero encryption key", when: provision(func(c *Provision) { c.EncryptionPublicKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
			err: domain.ErrInvalid, field: "encryptionPublicKey"},
		{name: "update details", given: []domain.Event{provisioned},
			when: update(func(c *Update) { c.DeviceType, c.MakeModel, c.DisplayName = Android, "Pixel 8", "work phone" }),
			then: []domain.Event{UserDeviceUpdated{UserDeviceID: devID, AccountID: accountID, UserID: userID,
				DeviceType: Android, MakeModel: "Pixel 8", DisplayName: "work phone"}}},
		{name: "update unchanged", given: []domain.Event{provisioned}, when: update(nil)},
		{name: "update same keys", given: []domain.Event{provisioned},
			when: update(func(c *Update) { c.PublicKey, c.EncryptionPublicKey, c.AccessKeyID = pub1, enc1, key2 })},
		{name: "rotate public key", given: []domain.Event{provisioned},
			when: update(func(c *Update) { c.PublicKey, c.AccessKeyID = pub2, key2 }),
			then: []domain.Event{UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID,
				PublicKey: pub2, EncryptionPublicKey: enc1, AccessKeyID: key2}}},
		{name: "rotate encryption key keeps access key", given: []domain.Event{provisioned},
			when: update(func(c *Update) { c.EncryptionPublicKey, c.AccessKeyID = enc2, key2 }),
			then: []domain.Event{UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID,
				PublicKey: pub1, EncryptionPublicKey: enc2, AccessKeyID: key1}}},
		{name: "rename and rotate", given: []domain.Event{provisioned},
			when: update(func(c *Update) {
				c.DisplayName, c.PublicKey, c.EncryptionPublicKey, c.AccessKeyID = "new", pub2, enc2, key2
			}),
			then: []domain.Event{
				UserDeviceUpdated{UserDeviceID: devID, AccountID: accountID, UserID: userID, DeviceType: IOS, MakeModel: "iPhone 15", DisplayName: "new"},
				UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID, PublicKey: pub2, EncryptionPublicKey: enc2, AccessKeyID: key2},
			}},
		{name: "rotate public key without new access key id", given: []domain.Event{provisioned},
			when: update(func(c *Update) { c.PublicKey = pub2 }), err: domain.ErrInvalid, field: "accessKeyId"},
		{name: "rotate public key reusing access key id", given: []domain.Event{provisioned},
			when: update(func(c *Update) { c.PublicKey, c.AccessKeyID = pub2, key1 }), err: domain.ErrInvalid, field: "accessKeyId"},
		{name: "update bad key", given: []domain.Event{provisioned},
			when: update(func(c *Update) { c.PublicKey, c.AccessKeyID = "AQ==", key2 }), err: domain.ErrInvalid, field: "publicKey"},
		{name: "update bad type", given: []domain.Event{provisioned}, when: update(func(c *Update) { c.DeviceType = "" }),
			err: domain.ErrInvalid, field: "deviceType"},
		{name: "update missing", when: update(nil), err: ErrNotFound},
		{name: "update deprovisioned", given: []domain.Event{provisioned, deprovisioned}, when: update(nil), err: ErrNotFound},
		{name: "deprovision", given: []domain.Event{provisioned}, when: Deprovision{}, then: []domain.Event{deprovisioned}},
		{name: "deprovision after rotation names the current key",
			given: []domain.Event{provisioned, UserDeviceKeysRotated{UserDeviceID: devID, AccountID: accountID, UserID: userID, PublicKey: pub2, EncryptionPublicKey: enc2, AccessKeyID: key2}},
			when:  Deprovision{},
			then:  []domain.Event{UserDeviceDeprovisioned{UserDeviceID: devID, AccountID: accountID, UserID: userID, AccessKeyID: key2}}},
		{name: "deprovision missing", when: Deprovision{}, err: ErrNotFound},
		{name: "deprovision twice", given: []domain.Event{provisioned, deprovisioned}, when: Deprovision{}, err: domain.ErrNotFound},
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
				if got != nil {
					t.Fatalf("events = %v with an error", got)
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
