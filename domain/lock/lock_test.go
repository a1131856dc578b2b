package lock

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/domaintest"
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
	refs      = []domain.ExternalRef{{ID: "door-7", Source: "pms", SyncDirection: "fromExternalToInternal", SyncStatus: "synced",
		LastSyncDate: ptr(time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC))}}
	otherRefs = []domain.ExternalRef{{ID: "door-8", Source: "erp"}}
)

// tooManyRefs is one more ref than a lock may keep.
func tooManyRefs() []domain.ExternalRef {
	out := make([]domain.ExternalRef, domain.MaxExternalRefs+1)
	for i := range out {
		out[i] = domain.ExternalRef{ID: "r", Source: "s"}
	}
	return out
}

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

// decider is a command of this aggregate; sync_test.go's table holds them.
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
	installed           = LockInstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1}
	leftArea            = LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, Mode: UninstallArea}
	leftProp            = LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, Mode: UninstallProperty}
	released            = LockUninstalled{LockID: lockID, AccountID: accountID, Mode: UninstallOwner}
	retired             = LockDeprovisioned{LockID: lockID, AccountID: accountID}
	provisionedWithRefs = LockProvisioned{LockID: lockID, AccountID: accountID, DisplayName: "Front door",
		PublicKey: pub, EncryptionPublicKey: enc, PurchaseDate: bought, APIKeyID: keyID, ExternalRefs: refs}
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
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "provision", When: provision(nil), Then: []domain.Event{provisioned}},
		{Name: "provision without purchase date", When: provision(func(c *Provision) { c.PurchaseDate = nil }),
			Then: []domain.Event{LockProvisioned{LockID: lockID, AccountID: accountID, DisplayName: "Front door",
				PublicKey: pub, EncryptionPublicKey: enc, APIKeyID: keyID}}},
		{Name: "provision purchase date in UTC",
			When: provision(func(c *Provision) { c.PurchaseDate = ptr(bought.In(time.FixedZone("X", 3600))) }),
			Then: []domain.Event{provisioned}},
		{Name: "provision twice", Given: []domain.Event{provisioned}, When: provision(nil), Err: ErrExists},
		{Name: "provision after deprovision", Given: deprovision, When: provision(nil), Err: domain.ErrConflict},
		{Name: "provision without id", When: provision(func(c *Provision) { c.LockID = uuid.Nil }), Err: domain.ErrInvalid, Field: "lockId"},
		{Name: "provision without account", When: provision(func(c *Provision) { c.AccountID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "provision without api key", When: provision(func(c *Provision) { c.APIKeyID = uuid.Nil }), Err: domain.ErrInvalid, Field: "apiKeyId"},
		{Name: "provision bought in the future", When: provision(func(c *Provision) { c.PurchaseDate = ptr(now.Add(time.Hour)) }),
			Err: domain.ErrInvalid, Field: "purchaseDate"},
		{Name: "provision bought in year 0", When: provision(func(c *Provision) { c.PurchaseDate = ptr(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)) }),
			Err: domain.ErrInvalid, Field: "purchaseDate"},
		{Name: "provision without name", When: provision(func(c *Provision) { c.DisplayName = "" }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "provision bad public key", When: provision(func(c *Provision) { c.PublicKey = enc + "x" }), Err: domain.ErrInvalid, Field: "publicKey"},
		{Name: "provision zero public key", When: provision(func(c *Provision) { c.PublicKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
			Err: domain.ErrInvalid, Field: "publicKey"},
		{Name: "provision with external refs", When: provision(func(c *Provision) {
			c.ExternalRefs = []domain.ExternalRef{{ID: "door-7", Source: "pms", SyncDirection: "fromExternalToInternal", SyncStatus: "synced",
				LastSyncDate: ptr(time.Date(2024, 2, 1, 11, 0, 0, 0, time.FixedZone("X", 3600)))}}
		}),
			Then: []domain.Event{LockProvisioned{LockID: lockID, AccountID: accountID, DisplayName: "Front door",
				PublicKey: pub, EncryptionPublicKey: enc, PurchaseDate: bought, APIKeyID: keyID, ExternalRefs: refs}}},
		{Name: "provision with empty external refs", When: provision(func(c *Provision) { c.ExternalRefs = []domain.ExternalRef{} }),
			Then: []domain.Event{provisioned}},
		{Name: "provision too many external refs", When: provision(func(c *Provision) { c.ExternalRefs = tooManyRefs() }),
			Err: domain.ErrInvalid, Field: "externalRefs"},
		{Name: "provision external ref without source", When: provision(func(c *Provision) { c.ExternalRefs = []domain.ExternalRef{{ID: "x"}} }),
			Err: domain.ErrInvalid, Field: "externalRefs[0].source"},
		{Name: "provision external ref bad sync status",
			When: provision(func(c *Provision) {
				c.ExternalRefs = []domain.ExternalRef{{ID: "x", Source: "s"}, {ID: "y", Source: "s", SyncStatus: "done"}}
			}),
			Err: domain.ErrInvalid, Field: "externalRefs[1].syncStatus"},
		{Name: "provision bad encryption key", When: provision(func(c *Provision) { c.EncryptionPublicKey = "" }),
			Err: domain.ErrInvalid, Field: "encryptionPublicKey"},

		{Name: "update", Given: inArea, When: Update{DisplayName: "Back door", PurchaseDate: bought},
			Then: []domain.Event{LockUpdated{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, DisplayName: "Back door"}}},
		{Name: "update unchanged", Given: []domain.Event{provisioned}, When: Update{DisplayName: "Front door", PurchaseDate: bought}},
		{Name: "update same purchase date in another zone", Given: []domain.Event{provisioned},
			When: Update{DisplayName: "Front door", PurchaseDate: ptr(bought.In(time.FixedZone("X", 3600)))}},
		{Name: "update purchase date", Given: inArea, When: Update{DisplayName: "Front door", PurchaseDate: ptr(time.Date(2022, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)))},
			Then: []domain.Event{LockPurchaseDateChanged{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1,
				PurchaseDate: ptr(time.Date(2022, 1, 2, 2, 4, 5, 0, time.UTC))}}},
		{Name: "update name and purchase date", Given: []domain.Event{provisioned}, When: Update{DisplayName: "Back door", PurchaseDate: ptr(now)},
			Then: []domain.Event{LockUpdated{LockID: lockID, AccountID: accountID, DisplayName: "Back door"},
				LockPurchaseDateChanged{LockID: lockID, AccountID: accountID, PurchaseDate: ptr(now)}}},
		{Name: "update without purchase date clears it", Given: []domain.Event{provisioned}, When: Update{DisplayName: "Front door"},
			Then: []domain.Event{LockPurchaseDateChanged{LockID: lockID, AccountID: accountID}}},
		{Name: "update sets a purchase date", Given: []domain.Event{provisioned, LockPurchaseDateChanged{LockID: lockID, AccountID: accountID}},
			When: Update{DisplayName: "Front door", PurchaseDate: bought},
			Then: []domain.Event{LockPurchaseDateChanged{LockID: lockID, AccountID: accountID, PurchaseDate: bought}}},
		{Name: "update sets external refs", Given: inArea, When: Update{DisplayName: "Front door", PurchaseDate: bought, ExternalRefs: refs},
			Then: []domain.Event{LockExternalRefsChanged{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, ExternalRefs: refs}}},
		{Name: "update same external refs", Given: []domain.Event{provisionedWithRefs},
			When: Update{DisplayName: "Front door", PurchaseDate: bought, ExternalRefs: refs}},
		{Name: "update replaces external refs", Given: []domain.Event{provisionedWithRefs},
			When: Update{DisplayName: "Front door", PurchaseDate: bought, ExternalRefs: otherRefs},
			Then: []domain.Event{LockExternalRefsChanged{LockID: lockID, AccountID: accountID, ExternalRefs: otherRefs}}},
		{Name: "update without external refs clears them", Given: []domain.Event{provisionedWithRefs},
			When: Update{DisplayName: "Front door", PurchaseDate: bought},
			Then: []domain.Event{LockExternalRefsChanged{LockID: lockID, AccountID: accountID, ExternalRefs: []domain.ExternalRef{}}}},
		{Name: "update refs set by a later event", Given: []domain.Event{provisioned,
			LockExternalRefsChanged{LockID: lockID, AccountID: accountID, ExternalRefs: otherRefs}},
			When: Update{DisplayName: "Front door", PurchaseDate: bought, ExternalRefs: otherRefs}},
		{Name: "an old rename keeps the refs", Given: []domain.Event{provisionedWithRefs,
			LockUpdated{LockID: lockID, AccountID: accountID, DisplayName: "Back door"}},
			When: Update{DisplayName: "Back door", PurchaseDate: bought, ExternalRefs: refs}},
		{Name: "update name, date and refs", Given: []domain.Event{provisioned},
			When: Update{DisplayName: "Back door", PurchaseDate: ptr(now), ExternalRefs: refs},
			Then: []domain.Event{LockUpdated{LockID: lockID, AccountID: accountID, DisplayName: "Back door"},
				LockPurchaseDateChanged{LockID: lockID, AccountID: accountID, PurchaseDate: ptr(now)},
				LockExternalRefsChanged{LockID: lockID, AccountID: accountID, ExternalRefs: refs}}},
		{Name: "update too many external refs", Given: []domain.Event{provisioned},
			When: Update{DisplayName: "Front door", PurchaseDate: bought, ExternalRefs: tooManyRefs()},
			Err:  domain.ErrInvalid, Field: "externalRefs"},
		{Name: "update external ref without id", Given: []domain.Event{provisionedWithRefs},
			When: Update{DisplayName: "Renamed", PurchaseDate: bought, ExternalRefs: []domain.ExternalRef{{Source: "pms"}}},
			Err:  domain.ErrInvalid, Field: "externalRefs[0].id"},
		{Name: "update external ref bad sync direction", Given: []domain.Event{provisioned},
			When: Update{DisplayName: "Front door", PurchaseDate: bought, ExternalRefs: []domain.ExternalRef{{ID: "x", Source: "s", SyncDirection: "both"}}},
			Err:  domain.ErrInvalid, Field: "externalRefs[0].syncDirection"},
		{Name: "update bought in the future", Given: []domain.Event{provisioned}, When: Update{DisplayName: "Front door", PurchaseDate: ptr(now.Add(time.Hour))},
			Err: domain.ErrInvalid, Field: "purchaseDate"},
		{Name: "update bought in year 0", Given: []domain.Event{provisioned},
			When: Update{DisplayName: "Front door", PurchaseDate: ptr(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))},
			Err:  domain.ErrInvalid, Field: "purchaseDate"},
		{Name: "update blank", Given: []domain.Event{provisioned}, When: Update{DisplayName: " "}, Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "update missing", When: Update{DisplayName: "x"}, Err: ErrNotFound},
		{Name: "update deprovisioned", Given: deprovision, When: Update{DisplayName: "x"}, Err: ErrNotFound},

		{Name: "install", Given: []domain.Event{provisioned}, When: Install{PropertyID: prop1, AreaID: area1}, Then: []domain.Event{installed}},
		{Name: "install again", Given: inArea, When: Install{PropertyID: prop1, AreaID: area1}},
		{Name: "install elsewhere", Given: inArea, When: Install{PropertyID: prop1, AreaID: area2}, Err: ErrLockAlreadyInstalled},
		{Name: "install in another property", Given: inArea, When: Install{PropertyID: prop2, AreaID: area2}, Err: ErrLockAlreadyInstalled},
		{Name: "install in another area of its property", Given: inProperty, When: Install{PropertyID: prop1, AreaID: area2},
			Then: []domain.Event{LockInstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area2}}},
		{Name: "install while in another property", Given: inProperty, When: Install{PropertyID: prop2, AreaID: area2}, Err: ErrLockInAnotherProperty},
		{Name: "install after leaving the property", Given: outOfAreas, When: Install{PropertyID: prop2, AreaID: area2},
			Then: []domain.Event{LockInstalled{LockID: lockID, AccountID: accountID, PropertyID: prop2, AreaID: area2}}},
		{Name: "install without area", Given: []domain.Event{provisioned}, When: Install{PropertyID: prop1}, Err: domain.ErrInvalid, Field: "areaId"},
		{Name: "install without property", Given: []domain.Event{provisioned}, When: Install{AreaID: area1}, Err: domain.ErrInvalid, Field: "propertyId"},
		{Name: "install missing", When: Install{PropertyID: prop1, AreaID: area1}, Err: ErrNotFound},
		{Name: "install released", Given: []domain.Event{provisioned, released}, When: Install{PropertyID: prop1, AreaID: area1}, Err: ErrNotFound},

		{Name: "uninstall area", Given: inArea, When: Uninstall{Mode: UninstallArea}, Then: []domain.Event{leftArea}},
		{Name: "uninstall area when in none", Given: inProperty, When: Uninstall{Mode: UninstallArea}},
		{Name: "uninstall property", Given: inArea, When: Uninstall{Mode: UninstallProperty}, Then: []domain.Event{leftProp}},
		{Name: "uninstall property after area", Given: inProperty, When: Uninstall{Mode: UninstallProperty},
			Then: []domain.Event{LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, Mode: UninstallProperty}}},
		{Name: "uninstall property when in none", Given: []domain.Event{provisioned}, When: Uninstall{Mode: UninstallProperty}},
		{Name: "release installed", Given: inArea, When: Uninstall{Mode: UninstallOwner},
			Then: []domain.Event{LockUninstalled{LockID: lockID, AccountID: accountID, PropertyID: prop1, AreaID: area1, Mode: UninstallOwner}}},
		{Name: "release uninstalled", Given: []domain.Event{provisioned}, When: Uninstall{Mode: UninstallOwner}, Then: []domain.Event{released}},
		{Name: "release twice", Given: []domain.Event{provisioned, released}, When: Uninstall{Mode: UninstallOwner}, Err: ErrNotFound},
		{Name: "uninstall unknown mode", Given: inArea, When: Uninstall{Mode: "door"}, Err: domain.ErrInvalid, Field: "uninstallMode"},
		{Name: "uninstall missing", When: Uninstall{Mode: UninstallArea}, Err: ErrNotFound},

		{Name: "deprovision never installed", Given: []domain.Event{provisioned}, When: Deprovision{}, Then: []domain.Event{retired}},
		{Name: "deprovision installed", Given: inArea, When: Deprovision{}, Err: ErrLockInstalled},
		{Name: "deprovision in property only", Given: inProperty, When: Deprovision{},
			Then: []domain.Event{LockDeprovisioned{LockID: lockID, AccountID: accountID, PropertyID: prop1}}},
		{Name: "deprovision out of the property", Given: outOfAreas, When: Deprovision{}, Then: []domain.Event{retired}},
		{Name: "deprovision twice", Given: deprovision, When: Deprovision{}, Err: ErrNotFound},
		{Name: "deprovision released", Given: []domain.Event{provisioned, released}, When: Deprovision{}, Err: domain.ErrNotFound},
		{Name: "deprovision missing", When: Deprovision{}, Err: ErrNotFound},
	})
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
	if len(Events()) != 12 {
		t.Fatal("Events() misses a type")
	}
}

// External refs come with the provisioning and change only with
// LockExternalRefsChanged: a LockUpdated, such as those recorded before
// locks had refs, is a rename and leaves them alone.
func TestEvolveExternalRefs(t *testing.T) {
	t.Parallel()
	if got := fold([]domain.Event{provisioned}).ExternalRefs(); got != nil {
		t.Fatalf("refs without any = %v", got)
	}
	s := fold([]domain.Event{provisionedWithRefs})
	if !reflect.DeepEqual(s.ExternalRefs(), refs) {
		t.Fatalf("refs after provision = %v", s.ExternalRefs())
	}
	s.ExternalRefs()[0].ID = "changed"
	if s.ExternalRefs()[0].ID != "door-7" {
		t.Fatal("ExternalRefs is not a copy")
	}
	var old LockUpdated
	if err := json.Unmarshal([]byte(`{"lockId":"`+lockID.String()+`","accountId":"`+accountID.String()+`","displayName":"Old name"}`), &old); err != nil {
		t.Fatal(err)
	}
	s = Evolve(s, old)
	if s.DisplayName() != "Old name" || !reflect.DeepEqual(s.ExternalRefs(), refs) {
		t.Fatalf("an old rename touched the refs: %v", s.ExternalRefs())
	}
	s = Evolve(s, LockExternalRefsChanged{LockID: lockID, AccountID: accountID, ExternalRefs: otherRefs})
	if !reflect.DeepEqual(s.ExternalRefs(), otherRefs) {
		t.Fatalf("refs after change = %v", s.ExternalRefs())
	}
	s = Evolve(s, LockExternalRefsChanged{LockID: lockID, AccountID: accountID, ExternalRefs: []domain.ExternalRef{}})
	if s.ExternalRefs() != nil {
		t.Fatalf("refs after clearing = %v", s.ExternalRefs())
	}
}

// LockProvisioned carries refs only when there are some (events recorded
// before read as none); LockExternalRefsChanged always says them, `[]`
// when cleared.
func TestExternalRefsEventJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(provisionedWithRefs)
	if err != nil {
		t.Fatal(err)
	}
	want := `"apiKeyId":"` + keyID.String() + `","externalRefs":[{"id":"door-7","source":"pms","syncDirection":"fromExternalToInternal",` +
		`"syncStatus":"synced","lastSyncDate":"2024-02-01T10:00:00Z"}]}`
	if !strings.HasSuffix(string(b), want) {
		t.Fatalf("json = %s, want it to end with %s", b, want)
	}
	var back LockProvisioned
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, provisionedWithRefs) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	cleared := LockExternalRefsChanged{LockID: lockID, AccountID: accountID, AreaID: area1, ExternalRefs: []domain.ExternalRef{}}
	b, err = json.Marshal(cleared)
	want = `{"lockId":"` + lockID.String() + `","accountId":"` + accountID.String() + `","areaId":"` + area1.String() + `","externalRefs":[]}`
	if err != nil || string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s (%v)", b, want, err)
	}
	var changed LockExternalRefsChanged
	if err := json.Unmarshal(b, &changed); err != nil || !reflect.DeepEqual(changed, cleared) {
		t.Fatalf("round trip = %+v, %v", changed, err)
	}
}
