package user

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
)

var (
	now       = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	userID    = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	ref       = domain.ExternalRef{ID: "guest-7", Source: "pms", SyncDirection: "fromExternalToInternal", SyncStatus: "synced", LastSyncDate: now}
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

var created = UserCreated{
	UserID: userID, AccountID: accountID, DisplayName: "Ana",
	UserPermissions: []apikey.Permission{{Permission: domain.PermMe, UserID: userID}},
	ExternalRefs:    []domain.ExternalRef{ref}, SealedPrivate: "sealed-1",
}

var deleted = UserDeleted{UserID: userID, AccountID: accountID}

func create(mod func(*Create)) Create {
	c := Create{UserID: userID, AccountID: accountID, DisplayName: "Ana",
		Permissions:  []domain.Grant{{Permission: domain.PermMe, UserID: userID}},
		ExternalRefs: []domain.ExternalRef{ref}, SealedPrivate: "sealed-1"}
	if mod != nil {
		mod(&c)
	}
	return c
}

func update(mod func(*Update)) Update {
	c := Update{DisplayName: "Ana",
		Permissions:  []domain.Grant{{Permission: domain.PermMe, UserID: userID}},
		ExternalRefs: []domain.ExternalRef{ref}, SealedPrivate: "sealed-1"}
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
		{name: "create minimal", when: Create{UserID: userID, AccountID: accountID, DisplayName: "Bo"},
			then: []domain.Event{UserCreated{UserID: userID, AccountID: accountID, DisplayName: "Bo"}}},
		{name: "create twice", given: []domain.Event{created}, when: create(nil), err: ErrExists},
		{name: "create after delete", given: []domain.Event{created, deleted}, when: create(nil), err: domain.ErrConflict},
		{name: "create without id", when: create(func(c *Create) { c.UserID = uuid.Nil }), err: domain.ErrInvalid, field: "userId"},
		{name: "create without account", when: create(func(c *Create) { c.AccountID = uuid.Nil }), err: domain.ErrInvalid, field: "accountId"},
		{name: "create without name", when: create(func(c *Create) { c.DisplayName = "" }), err: domain.ErrInvalid, field: "displayName"},
		{name: "create long name", when: create(func(c *Create) { c.DisplayName = strings.Repeat("x", 201) }), err: domain.ErrInvalid, field: "displayName"},
		{name: "create unknown permission", when: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: "god"}} }),
			err: domain.ErrInvalid, field: "userPermissions[0].permission"},
		{name: "create me without user", when: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: domain.PermMe}} }),
			err: domain.ErrInvalid, field: "userPermissions[0].userId"},
		{name: "create user scope off me",
			when: create(func(c *Create) {
				c.Permissions = []domain.Grant{{Permission: domain.PermManageAccess, PropertyID: propID, UserID: userID}}
			}),
			err: domain.ErrInvalid, field: "userPermissions[0].userId"},
		{name: "create ref without source", when: create(func(c *Create) { c.ExternalRefs = []domain.ExternalRef{{ID: "x"}} }),
			err: domain.ErrInvalid, field: "externalRefs[0].source"},
		{name: "create ref bad direction", when: create(func(c *Create) { c.ExternalRefs = []domain.ExternalRef{{ID: "x", Source: "s", SyncDirection: "both"}} }),
			err: domain.ErrInvalid, field: "externalRefs[0].syncDirection"},
		{name: "create ref bad status", when: create(func(c *Create) { c.ExternalRefs = []domain.ExternalRef{{ID: "x", Source: "s", SyncStatus: "ok"}} }),
			err: domain.ErrInvalid, field: "externalRefs[0].syncStatus"},
		{name: "create too many refs", when: create(func(c *Create) { c.ExternalRefs = make([]domain.ExternalRef, domain.MaxExternalRefs+1) }),
			err: domain.ErrInvalid, field: "externalRefs"},
		{name: "update", given: []domain.Event{created},
			when: update(func(c *Update) {
				c.DisplayName = "Ana M."
				c.Permissions = []domain.Grant{{Permission: domain.PermSupport, PropertyID: propID}}
				c.ExternalRefs = nil
				c.SealedPrivate = "sealed-2"
			}),
			then: []domain.Event{UserUpdated{UserID: userID, AccountID: accountID, DisplayName: "Ana M.",
				UserPermissions: []apikey.Permission{{Permission: domain.PermSupport, PropertyID: propID}}, SealedPrivate: "sealed-2"}}},
		{name: "update unchanged", given: []domain.Event{created}, when: update(nil)},
		{name: "update resealed", given: []domain.Event{created}, when: update(func(c *Update) { c.SealedPrivate = "sealed-again" }),
			then: []domain.Event{UserUpdated{UserID: userID, AccountID: accountID, DisplayName: "Ana",
				UserPermissions: []apikey.Permission{{Permission: domain.PermMe, UserID: userID}},
				ExternalRefs:    []domain.ExternalRef{ref}, SealedPrivate: "sealed-again"}}},
		{name: "update invalid", given: []domain.Event{created}, when: update(func(c *Update) { c.DisplayName = "\t" }),
			err: domain.ErrInvalid, field: "displayName"},
		{name: "update missing", when: update(nil), err: ErrNotFound},
		{name: "update deleted", given: []domain.Event{created, deleted}, when: update(nil), err: ErrNotFound},
		{name: "delete", given: []domain.Event{created}, when: Delete{}, then: []domain.Event{deleted}},
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

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{created})
	if !s.Exists() || s.ID() != userID || s.AccountID() != accountID || s.DisplayName() != "Ana" || s.SealedPrivate() != "sealed-1" {
		t.Fatalf("state after create: %+v", s)
	}
	if g := s.Grants(); len(g) != 1 || g[0] != (domain.Grant{Permission: domain.PermMe, UserID: userID}) {
		t.Fatalf("grants = %v", g)
	}
	if r := s.ExternalRefs(); len(r) != 1 || r[0] != ref {
		t.Fatalf("refs = %v", r)
	}
	s = Evolve(s, deleted)
	if s.Exists() || !s.Deleted() || s.SealedPrivate() != "" {
		t.Fatalf("state after delete: %+v", s)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(created)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"userId":"` + userID.String() + `","accountId":"` + accountID.String() + `","displayName":"Ana",` +
		`"userPermissions":[{"permission":"me","userId":"` + userID.String() + `"}],` +
		`"externalRefs":[{"id":"guest-7","source":"pms","syncDirection":"fromExternalToInternal","syncStatus":"synced","lastSyncDate":"2024-03-01T12:00:00Z"}],` +
		`"sealedPrivate":"sealed-1"}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	var back UserCreated
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, created) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	if len(Events()) != 3 {
		t.Fatal("Events() misses a type")
	}
}
