package lock

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

var (
	now       = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	lockID    = uuid.MustParse("00000000-0000-0000-0000-0000000000e1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	keyID     = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	prop1     = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	prop2     = uuid.MustParse("00000000-0000-0000-0000-0000000000c2")
	area1     = uuid.MustParse("00000000-0000-0000-0000-0000000000f1")
	area2     = uuid.MustParse("00000000-0000-0000-0000-0000000000f2")
	pub, enc  = testKeys("lock")
	bought    = ptr(time.Date(2023, 5, 2, 0, 0, 0, 0, time.UTC))
)

func testKeys(seed string) (string, string) {
	s := sha256.Sum256([]byte(seed))
	edPub := ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey)
	x, err := ecdh.X25519().NewPrivateKey(s[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(edPub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
}

func ptr(t time.Time) *time.Time { return &t }

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

var (
	provisioned = LockProvisioned{LockID: lockID, AccountID: accountID, DisplayName: "Front door",
		PublicKey: pub, EncryptionPublicKey: enc, PurchaseDate: bought, APIKeyID: keyID}
	installed   = LockInstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1}
	leftArea    = LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, Mode: UninstallArea}
	leftProp    = LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, Mode: UninstallProperty}
	released    = LockUninstalled{LockID: lockID, AccountID: accountID, Mode: UninstallOwner}
	retired     = LockDeprovisioned{LockID: lockID, AccountID: accountID}
	inArea      = []domain.Event{provisioned, installed}
	inProperty  = []domain.Event{provisioned, installed, leftArea}
	outOfAreas  = []domain.Event{provisioned, installed, leftProp}
	deprovision = []domain.Event{provisioned, retired}
)

func provision(mod func(*Provision)) Provision {
	c := Provision{LockID: lockID, AccountID: accountID, DisplayName: "Front door",
		PublicKey: pub, EncryptionPublicKey: enc, PurchaseDate: bought, APIKeyID: keyID}
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
		{name: "provision without purchase date", when: provision(func(c *Provision) { c.PurchaseDate = nil }),
			then: []domain.Event{LockProvisioned{LockID: lockID, AccountID: accountID, DisplayName: "Front door",
				PublicKey: pub, EncryptionPublicKey: enc, APIKeyID: keyID}}},
		{name: "provision purchase date in UTC",
			when: provision(func(c *Provision) { c.PurchaseDate = ptr(bought.In(time.FixedZone("X", 3600))) }),
			then: []domain.Event{provisioned}},
		{name: "provision twice", given: []domain.Event{provisioned}, when: provision(nil), err: ErrExists},
		{name: "provision after deprovision", given: deprovision, when: provision(nil), err: domain.ErrConflict},
		{name: "provision without id", when: provision(func(c *Provision) { c.LockID = uuid.Nil }), err: domain.ErrInvalid, field: "lockId"},
		{name: "provision without account", when: provision(func(c *Provision) { c.AccountID = uuid.Nil }), err: domain.ErrInvalid, field: "accountId"},
		{name: "provision without api key", when: provision(func(c *Provision) { c.APIKeyID = uuid.Nil }), err: domain.ErrInvalid, field: "apiKeyId"},
		{name: "provision bought in the future", when: provision(func(c *Provision) { c.PurchaseDate = ptr(now.Add(time.Hour)) }),
			err: domain.ErrInvalid, field: "purchaseDate"},
		{name: "provision bought in year 0", when: provision(func(c *Provision) { c.PurchaseDate = ptr(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)) }),
			err: domain.ErrInvalid, field: "purchaseDate"},
		{name: "provision without name", when: provision(func(c *Provision) { c.DisplayName = "" }), err: domain.ErrInvalid, field: "displayName"},
		{name: "provision bad public key", when: provision(func(c *Provision) { c.PublicKey = enc + "x" }), err: domain.ErrInvalid, field: "publicKey"},
		{name: "provision zero public key", when: provision(func(c *Provision) { c.PublicKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
			err: domain.ErrInvalid, field: "publicKey"},
		{name: "provision bad encryption key", when: provision(func(c *Provision) { c.EncryptionPublicKey = "" }),
			err: domain.ErrInvalid, field: "encryptionPublicKey"},

		{name: "update", given: inArea, when: Update{DisplayName: "Back door"},
			then: []domain.Event{LockUpdated{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, DisplayName: "Back door"}}},
		{name: "update unchanged", given: []domain.Event{provisioned}, when: Update{DisplayName: "Front door"}},
		{name: "update blank", given: []domain.Event{provisioned}, when: Update{DisplayName: " "}, err: domain.ErrInvalid, field: "displayName"},
		{name: "update missing", when: Update{DisplayName: "x"}, err: ErrNotFound},
		{name: "update deprovisioned", given: deprovision, when: Update{DisplayName: "x"}, err: ErrNotFound},

		{name: "install", given: []domain.Event{provisioned}, when: Install{PropertyID: prop1, AreaID: area1}, then: []domain.Event{installed}},
		{name: "install again", given: inArea, when: Install{PropertyID: prop1, AreaID: area1}},
		{name: "install elsewhere", given: inArea, when: Install{PropertyID: prop1, AreaID: area2}, err: ErrLockAlreadyInstalled},
		{name: "install in another property", given: inArea, when: Install{PropertyID: prop2, AreaID: area2}, err: ErrLockAlreadyInstalled},
		{name: "install in another area of its property", given: inProperty, when: Install{PropertyID: prop1, AreaID: area2},
			then: []domain.Event{LockInstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area2}}},
		{name: "install while in another property", given: inProperty, when: Install{PropertyID: prop2, AreaID: area2}, err: ErrLockInAnotherProperty},
		{name: "install after leaving the property", given: outOfAreas, when: Install{PropertyID: prop2, AreaID: area2},
			then: []domain.Event{LockInstalled{LockID: lockID, AccountID: accountID, PropertyID: prop2, AreaID: area2}}},
		{name: "install without area", given: []domain.Event{provisioned}, when: Install{PropertyID: prop1}, err: domain.ErrInvalid, field: "areaId"},
		{name: "install without property", given: []domain.Event{provisioned}, when: Install{AreaID: area1}, err: domain.ErrInvalid, field: "propertyId"},
		{name: "install missing", when: Install{PropertyID: prop1, AreaID: area1}, err: ErrNotFound},
		{name: "install released", given: []domain.Event{provisioned, released}, when: Install{PropertyID: prop1, AreaID: area1}, err: ErrNotFound},

		{name: "uninstall area", given: inArea, when: Uninstall{Mode: UninstallArea}, then: []domain.Event{leftArea}},
		{name: "uninstall area when in none", given: inProperty, when: Uninstall{Mode: UninstallArea}},
		{name: "uninstall property", given: inArea, when: Uninstall{Mode: UninstallProperty}, then: []domain.Event{leftProp}},
		{name: "uninstall property after area", given: inProperty, when: Uninstall{Mode: UninstallProperty},
			then: []domain.Event{LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, Mode: UninstallProperty}}},
		{name: "uninstall property when in none", given: []domain.Event{provisioned}, when: Uninstall{Mode: UninstallProperty}},
		{name: "release installed", given: inArea, when: Uninstall{Mode: UninstallOwner},
			then: []domain.Event{LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, Mode: UninstallOwner}}},
		{name: "release uninstalled", given: []domain.Event{provisioned}, when: Uninstall{Mode: UninstallOwner}, then: []domain.Event{released}},
		{name: "release twice", given: []domain.Event{provisioned, released}, when: Uninstall{Mode: UninstallOwner}, err: ErrNotFound},
		{name: "uninstall unknown mode", given: inArea, when: Uninstall{Mode: "door"}, err: domain.ErrInvalid, field: "uninstallMode"},
		{name: "uninstall missing", when: Uninstall{Mode: UninstallArea}, err: ErrNotFound},

		{name: "deprovision never installed", given: []domain.Event{provisioned}, when: Deprovision{}, then: []domain.Event{retired}},
		{name: "deprovision installed", given: inArea, when: Deprovision{}, err: ErrLockInstalled},
		{name: "deprovision in property only", given: inProperty, when: Deprovision{},
			then: []domain.Event{LockDeprovisioned{LockID: lockID, AccountID: accountID, PropertyID: prop1}}},
		{name: "deprovision out of the property", given: outOfAreas, when: Deprovision{}, then: []domain.Event{retired}},
		{name: "deprovision twice", given: deprovision, when: Deprovision{}, err: ErrNotFound},
		{name: "deprovision released", given: []domain.Event{provisioned, released}, when: Deprovision{}, err: domain.ErrNotFound},
		{name: "deprovision missing", when: Deprovision{}, err: ErrNotFound},
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

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	for _, err := range []error{ErrExists, ErrLockAlreadyInstalled, ErrLockInAnotherProperty, ErrLockInstalled} {
		if !errors.Is(err, domain.ErrConflict) {
			t.Errorf("%v is not a conflict", err)
		}
	}
	if !errors.Is(ErrNotFound, domain.ErrNotFound) {
		t.Error("ErrNotFound is not a not-found")
	}
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{provisioned})
	if !s.Exists() || s.ID() != lockID || s.AccountID() != accountID || s.APIKeyID() != keyID || s.DisplayName() != "Front door" ||
		s.PublicKey() != pub || s.EncryptionPublicKey() != enc || !s.PurchaseDate().Equal(*bought) || s.Installed() {
		t.Fatalf("state after provision: %+v", s)
	}
	s = Evolve(s, installed)
	if !s.Installed() || s.PropertyID() != prop1 || s.AreaID() != area1 {
		t.Fatalf("state after install: %+v", s)
	}
	s = Evolve(s, leftArea)
	if s.Installed() || s.PropertyID() != prop1 || s.AreaID() != uuid.Nil {
		t.Fatalf("state after leaving the area: %+v", s)
	}
	s = Evolve(s, LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, Mode: UninstallProperty})
	if s.PropertyID() != uuid.Nil || !s.Exists() {
		t.Fatalf("state after leaving the property: %+v", s)
	}
	r := Evolve(s, released)
	if r.Exists() || !r.Released() || r.AccountID() != uuid.Nil {
		t.Fatalf("state after release: %+v", r)
	}
	d := Evolve(s, retired)
	if d.Exists() || !d.Deprovisioned() {
		t.Fatalf("state after deprovision: %+v", d)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    domain.Event
		want string
	}{
		{provisioned, `{"lockId":"` + lockID.String() + `","accountId":"` + accountID.String() + `","displayName":"Front door",` +
			`"publicKey":"` + pub + `","encryptionPublicKey":"` + enc + `","purchaseDate":"2023-05-02T00:00:00Z","apiKeyId":"` + keyID.String() + `"}`},
		{installed, `{"lockId":"` + lockID.String() + `","accountId":"` + accountID.String() + `","propertyId":"` + prop1.String() + `","areaId":"` + area1.String() + `"}`},
		{released, `{"lockId":"` + lockID.String() + `","accountId":"` + accountID.String() + `","mode":"owner"}`},
	} {
		b, err := json.Marshal(tc.e)
		if err != nil || string(b) != tc.want {
			t.Fatalf("json =\n%s\nwant\n%s (%v)", b, tc.want, err)
		}
	}
	var back LockProvisioned
	b, _ := json.Marshal(provisioned)
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, provisioned) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	if len(Events()) != 7 {
		t.Fatal("Events() misses a type")
	}
}
