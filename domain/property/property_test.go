package property

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
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	manager1  = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	manager2  = uuid.MustParse("00000000-0000-0000-0000-0000000000d2")
	addr      = domain.Address{Line1: "Calle Mayor 1", City: "Madrid", Country: "ES", PostalCode: "28013"}
	ref       = domain.ExternalRef{ID: "hotel-9", Source: "pms", SyncStatus: "synced"}
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

func addrPtr() *domain.Address { a := addr; return &a }

var (
	created = PropertyCreated{PropertyID: propID, AccountID: accountID, DisplayName: "Hotel Sol",
		Address: addrPtr(), Timezone: "Europe/Madrid", AccessManagerIDs: []uuid.UUID{manager1},
		ExternalRefs: []domain.ExternalRef{ref}}
	deleted = PropertyDeleted{PropertyID: propID, AccountID: accountID}
)

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
	tests := []struct {
		name  string
		given []domain.Event
		when  decider
		then  []domain.Event
		err   error
		field string
	}{
		{name: "create", when: create(nil), then: []domain.Event{created}},
		{name: "create minimal defaults to UTC",
			when: Create{PropertyID: propID, AccountID: accountID, DisplayName: "Flat"},
			then: []domain.Event{PropertyCreated{PropertyID: propID, AccountID: accountID, DisplayName: "Flat",
				Timezone: "UTC", AccessManagerIDs: []uuid.UUID{}}}},
		{name: "create twice", given: []domain.Event{created}, when: create(nil), err: ErrExists},
		{name: "create after delete", given: []domain.Event{created, deleted}, when: create(nil), err: domain.ErrConflict},
		{name: "create without id", when: create(func(c *Create) { c.PropertyID = uuid.Nil }), err: domain.ErrInvalid, field: "propertyId"},
		{name: "create without account", when: create(func(c *Create) { c.AccountID = uuid.Nil }), err: domain.ErrInvalid, field: "accountId"},
		{name: "create without name", when: create(func(c *Create) { c.DisplayName = "  " }), err: domain.ErrInvalid, field: "displayName"},
		{name: "create long name", when: create(func(c *Create) { c.DisplayName = strings.Repeat("é", 201) }), err: domain.ErrInvalid, field: "displayName"},
		{name: "create name with newline", when: create(func(c *Create) { c.DisplayName = "a\nb" }), err: domain.ErrInvalid, field: "displayName"},
		{name: "create bad zone", when: create(func(c *Create) { c.Timezone = "Europe/Atlantis" }), err: domain.ErrInvalid, field: "timezone"},
		{name: "create Local zone", when: create(func(c *Create) { c.Timezone = "Local" }), err: domain.ErrInvalid, field: "timezone"},
		{name: "create address without city", when: create(func(c *Create) { c.Address = &domain.Address{Line1: "x", Country: "ES"} }),
			err: domain.ErrInvalid, field: "address.city"},
		{name: "create address long postal code",
			when: create(func(c *Create) { a := addr; a.PostalCode = strings.Repeat("1", 21); c.Address = &a }),
			err:  domain.ErrInvalid, field: "address.postalCode"},
		{name: "create nil manager", when: create(func(c *Create) { c.AccessManagerIDs = []uuid.UUID{manager1, uuid.Nil} }),
			err: domain.ErrInvalid, field: "accessManagerIds[1]"},
		{name: "create manager twice", when: create(func(c *Create) { c.AccessManagerIDs = []uuid.UUID{manager1, manager1} }),
			err: domain.ErrInvalid, field: "accessManagerIds[1]"},
		{name: "create ref without id", when: create(func(c *Create) { c.ExternalRefs = []domain.ExternalRef{{Source: "pms"}} }),
			err: domain.ErrInvalid, field: "externalRefs[0].id"},
		{name: "update", given: []domain.Event{created},
			when: update(func(c *Update) {
				c.DisplayName = "Hotel Luna"
				c.Address = nil
				c.Timezone = ""
				c.AccessManagerIDs = []uuid.UUID{manager2, manager1}
				c.ExternalRefs = nil
			}),
			then: []domain.Event{PropertyUpdated{PropertyID: propID, AccountID: accountID, DisplayName: "Hotel Luna",
				Timezone: "UTC", AccessManagerIDs: []uuid.UUID{manager2, manager1}}}},
		{name: "update unchanged", given: []domain.Event{created}, when: update(nil)},
		{name: "update same address copy", given: []domain.Event{created},
			when: update(func(c *Update) { a := addr; c.Address = &a })},
		{name: "update zone only", given: []domain.Event{created}, when: update(func(c *Update) { c.Timezone = "America/New_York" }),
			then: []domain.Event{PropertyUpdated{PropertyID: propID, AccountID: accountID, DisplayName: "Hotel Sol",
				Address: addrPtr(), Timezone: "America/New_York", AccessManagerIDs: []uuid.UUID{manager1},
				ExternalRefs: []domain.ExternalRef{ref}}}},
		{name: "update invalid", given: []domain.Event{created}, when: update(func(c *Update) { c.Timezone = "+02:00" }),
			err: domain.ErrInvalid, field: "timezone"},
		{name: "update missing", when: update(nil), err: ErrNotFound},
		{name: "update deleted", given: []domain.Event{created, deleted}, when: update(nil), err: domain.ErrNotFound},
		{name: "delete", given: []domain.Event{created}, when: Delete{}, then: []domain.Event{deleted}},
		{name: "delete with locks", given: []domain.Event{created}, when: Delete{InstalledLocks: 2}, err: ErrPropertyHasLocks},
		{name: "delete with locks is a conflict", given: []domain.Event{created}, when: Delete{InstalledLocks: 1}, err: domain.ErrConflict},
		{name: "delete missing", when: Delete{}, err: ErrNotFound},
		{name: "delete twice", given: []domain.Event{created, deleted}, when: Delete{}, err: domain.ErrNotFound},
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
