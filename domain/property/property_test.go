package property

import (
	"encoding/json"
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
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	manager1  = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	manager2  = uuid.MustParse("00000000-0000-0000-0000-0000000000d2")
	addr      = domain.Address{Line1: "Calle Mayor 1", City: "Madrid", Country: "ES", PostalCode: "28013"}
	ref       = domain.ExternalRef{ID: "hotel-9", Source: "pms", SyncStatus: "synced"}
)

func fold(events []domain.Event) State {
	var s State
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

func addrPtr() *domain.Address { a := addr; return &a }

var (
	created = PropertyCreated{PropertyID: propID, AccountID: accountID, DisplayName: "Hotel Sol",
		Address: addrPtr(), Timezone: "Europe/Madrid", AccessManagerIDs: []uuid.UUID{manager1},
		ExternalRefs: []domain.ExternalRef{ref}}
	deleted = PropertyDeleted{PropertyID: propID, AccountID: accountID}
)

// withDefaults is ev as a decision records it now: the default booking
// settings written out.
func withDefaults(ev PropertyCreated) PropertyCreated {
	d := DefaultBookingSettings
	ev.BookingSettings = &d
	return ev
}

func defaults() *BookingSettings { d := DefaultBookingSettings; return &d }

func create(mod func(*Create)) Create {
	c := Create{PropertyID: propID, AccountID: accountID, DisplayName: "Hotel Sol", Address: addrPtr(),
		Timezone: "Europe/Madrid", AccessManagerIDs: []uuid.UUID{manager1}, ExternalRefs: []domain.ExternalRef{ref}}
	if mod != nil {
		mod(&c)
	}
	return c
}

func update(mod func(*Update)) Update {
	c := Update{DisplayName: "Hotel Sol", Address: addrPtr(), Timezone: "Europe/Madrid",
		AccessManagerIDs: []uuid.UUID{manager1}, ExternalRefs: []domain.ExternalRef{ref}}
	if mod != nil {
		mod(&c)
	}
	return c
}

func TestDecide(t *testing.T) {
	t.Parallel()
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "create", When: create(nil), Then: []domain.Event{withDefaults(created)}},
		{Name: "create minimal defaults to UTC",
			When: Create{PropertyID: propID, AccountID: accountID, DisplayName: "Flat"},
			Then: []domain.Event{PropertyCreated{PropertyID: propID, AccountID: accountID, DisplayName: "Flat",
				Timezone: "UTC", AccessManagerIDs: []uuid.UUID{}, BookingSettings: defaults()}}},
		{Name: "create twice", Given: []domain.Event{created}, When: create(nil), Err: ErrExists},
		{Name: "create after delete", Given: []domain.Event{created, deleted}, When: create(nil), Err: domain.ErrConflict},
		{Name: "create without id", When: create(func(c *Create) { c.PropertyID = uuid.Nil }), Err: domain.ErrInvalid, Field: "propertyId"},
		{Name: "create without account", When: create(func(c *Create) { c.AccountID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "create without name", When: create(func(c *Create) { c.DisplayName = "  " }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create long name", When: create(func(c *Create) { c.DisplayName = strings.Repeat("é", 201) }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create name with newline", When: create(func(c *Create) { c.DisplayName = "a\nb" }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create bad zone", When: create(func(c *Create) { c.Timezone = "Europe/Atlantis" }), Err: domain.ErrInvalid, Field: "timezone"},
		{Name: "create Local zone", When: create(func(c *Create) { c.Timezone = "Local" }), Err: domain.ErrInvalid, Field: "timezone"},
		{Name: "create address without city", When: create(func(c *Create) { c.Address = &domain.Address{Line1: "x", Country: "ES"} }),
			Err: domain.ErrInvalid, Field: "address.city"},
		{Name: "create address long postal code",
			When: create(func(c *Create) { a := addr; a.PostalCode = strings.Repeat("1", 21); c.Address = &a }),
			Err:  domain.ErrInvalid, Field: "address.postalCode"},
		{Name: "create nil manager", When: create(func(c *Create) { c.AccessManagerIDs = []uuid.UUID{manager1, uuid.Nil} }),
			Err: domain.ErrInvalid, Field: "accessManagerIds[1]"},
		{Name: "create manager twice", When: create(func(c *Create) { c.AccessManagerIDs = []uuid.UUID{manager1, manager1} }),
			Err: domain.ErrInvalid, Field: "accessManagerIds[1]"},
		{Name: "create ref without id", When: create(func(c *Create) { c.ExternalRefs = []domain.ExternalRef{{Source: "pms"}} }),
			Err: domain.ErrInvalid, Field: "externalRefs[0].id"},
		{Name: "update", Given: []domain.Event{created},
			When: update(func(c *Update) {
				c.DisplayName = "Hotel Luna"
				c.Address = nil
				c.Timezone = ""
				c.AccessManagerIDs = []uuid.UUID{manager2, manager1}
				c.ExternalRefs = nil
			}),
			Then: []domain.Event{PropertyUpdated{PropertyID: propID, AccountID: accountID, DisplayName: "Hotel Luna",
				Timezone: "UTC", AccessManagerIDs: []uuid.UUID{manager2, manager1}, BookingSettings: defaults()}}},
		{Name: "update unchanged", Given: []domain.Event{created}, When: update(nil)},
		{Name: "update same address copy", Given: []domain.Event{created},
			When: update(func(c *Update) { a := addr; c.Address = &a })},
		{Name: "update zone only", Given: []domain.Event{created}, When: update(func(c *Update) { c.Timezone = "America/New_York" }),
			Then: []domain.Event{PropertyUpdated{PropertyID: propID, AccountID: accountID, DisplayName: "Hotel Sol",
				Address: addrPtr(), Timezone: "America/New_York", AccessManagerIDs: []uuid.UUID{manager1},
				ExternalRefs: []domain.ExternalRef{ref}, BookingSettings: defaults()}}},
		{Name: "update invalid", Given: []domain.Event{created}, When: update(func(c *Update) { c.Timezone = "+02:00" }),
			Err: domain.ErrInvalid, Field: "timezone"},
		{Name: "update missing", When: update(nil), Err: ErrNotFound},
		{Name: "update deleted", Given: []domain.Event{created, deleted}, When: update(nil), Err: domain.ErrNotFound},
		{Name: "delete", Given: []domain.Event{created}, When: Delete{}, Then: []domain.Event{deleted}},
		{Name: "delete with locks", Given: []domain.Event{created}, When: Delete{InstalledLocks: 2}, Err: ErrPropertyHasLocks},
		{Name: "delete with locks is a conflict", Given: []domain.Event{created}, When: Delete{InstalledLocks: 1}, Err: domain.ErrConflict},
		{Name: "delete missing", When: Delete{}, Err: ErrNotFound},
		{Name: "delete twice", Given: []domain.Event{created, deleted}, When: Delete{}, Err: domain.ErrNotFound},
	})
}

func TestCommandNotShared(t *testing.T) {
	t.Parallel()
	c := create(nil)
	evs, err := c.Decide(State{}, now)
	if err != nil {
		t.Fatal(err)
	}
	c.Address.City = "Sevilla"
	c.AccessManagerIDs[0] = manager2
	e := evs[0].(PropertyCreated)
	if e.Address.City != "Madrid" || e.AccessManagerIDs[0] != manager1 {
		t.Fatalf("event shares the command's memory: %+v", e)
	}
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{created})
	if !s.Exists() || s.Deleted() || s.ID() != propID || s.AccountID() != accountID || s.DisplayName() != "Hotel Sol" ||
		s.Timezone() != "Europe/Madrid" || *s.Address() != addr {
		t.Fatalf("state after create: %+v", s)
	}
	if m := s.AccessManagerIDs(); len(m) != 1 || m[0] != manager1 {
		t.Fatalf("managers = %v", m)
	}
	if r := s.ExternalRefs(); len(r) != 1 || r[0] != ref {
		t.Fatalf("refs = %v", r)
	}
	s.Address().City = "changed"
	if s.Address().City != "Madrid" {
		t.Fatal("Address() exposes the state")
	}
	s = Evolve(s, PropertyUpdated{PropertyID: propID, AccountID: accountID, DisplayName: "B", Timezone: "UTC"})
	if s.DisplayName() != "B" || s.Address() != nil || s.Timezone() != "UTC" {
		t.Fatalf("state after update: %+v", s)
	}
	s = Evolve(s, deleted)
	if s.Exists() || !s.Deleted() {
		t.Fatalf("state after delete: %+v", s)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(created)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"propertyId":"` + propID.String() + `","accountId":"` + accountID.String() + `","displayName":"Hotel Sol",` +
		`"address":{"line1":"Calle Mayor 1","city":"Madrid","country":"ES","postalCode":"28013"},` +
		`"timezone":"Europe/Madrid","accessManagerIds":["` + manager1.String() + `"],` +
		`"externalRefs":[{"id":"hotel-9","source":"pms","syncStatus":"synced"}]}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	var back PropertyCreated
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, created) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	if len(Events()) != 3 {
		t.Fatal("Events() misses a type")
	}
}

// Booking settings: an event without them (recorded before they existed)
// means the defaults; a decision writes them out, validates their bounds,
// and an update that changes only them is recorded.
func TestBookingSettings(t *testing.T) {
	t.Parallel()
	custom := &BookingSettings{NoCheckInGraceMinutes: 30, CheckInOpensMinutesBefore: 0, GuestRegistrationRequired: true}
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "create with settings", When: create(func(c *Create) { c.BookingSettings = custom }),
			Then: []domain.Event{func() PropertyCreated { e := created; e.BookingSettings = custom; return e }()}},
		{Name: "negative grace", When: create(func(c *Create) { c.BookingSettings = &BookingSettings{NoCheckInGraceMinutes: -1} }),
			Err: domain.ErrInvalid, Field: "bookingSettings.noCheckInGraceMinutes"},
		{Name: "opening beyond a week", When: create(func(c *Create) {
			c.BookingSettings = &BookingSettings{CheckInOpensMinutesBefore: MaxBookingSettingMinutes + 1}
		}), Err: domain.ErrInvalid, Field: "bookingSettings.checkInOpensMinutesBefore"},
		{Name: "update only the settings", Given: []domain.Event{created}, When: update(func(c *Update) { c.BookingSettings = custom }),
			Then: []domain.Event{PropertyUpdated{PropertyID: propID, AccountID: accountID, DisplayName: "Hotel Sol",
				Address: addrPtr(), Timezone: "Europe/Madrid", AccessManagerIDs: []uuid.UUID{manager1},
				ExternalRefs: []domain.ExternalRef{ref}, BookingSettings: custom}}},
		{Name: "update to the defaults an old property has", Given: []domain.Event{created}, When: update(func(c *Update) { c.BookingSettings = defaults() })},
	})
	if got := fold([]domain.Event{created}).BookingSettings(); got != DefaultBookingSettings {
		t.Fatalf("settings of an old event = %+v", got)
	}
	var old PropertyUpdated
	if err := json.Unmarshal([]byte(`{"propertyId":"`+propID.String()+`","displayName":"A","timezone":"UTC"}`), &old); err != nil {
		t.Fatal(err)
	}
	s := Evolve(fold([]domain.Event{withDefaults(created)}), PropertyUpdated{PropertyID: propID, AccountID: accountID,
		DisplayName: "A", Timezone: "UTC", BookingSettings: custom})
	if got := Evolve(s, old).BookingSettings(); got != DefaultBookingSettings {
		t.Fatalf("an old update without settings = %+v, want the defaults", got)
	}
}
