package apikey

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
	now       = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	keyID     = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	userID    = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	lockID    = uuid.MustParse("00000000-0000-0000-0000-0000000000e1")
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

var created = APIKeyCreated{
	APIKeyID: keyID, AccountID: accountID, DisplayName: "ops", KeyHash: "h1",
	APIPermissions: []Permission{{Permission: domain.PermOwner}},
}

var lockKey = APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "lock", KeyHash: "h2", LockID: lockID}

func create(mod func(*Create)) Create {
	c := Create{APIKeyID: keyID, AccountID: accountID, DisplayName: "ops", KeyHash: "h1",
		Permissions: []domain.Grant{{Permission: domain.PermOwner}}}
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
		{name: "create scoped permissions",
			when: create(func(c *Create) {
				c.Permissions = []domain.Grant{
					{Permission: domain.PermInstallLock, PropertyID: propID},
					{Permission: domain.PermMe, UserID: userID},
				}
			}),
			then: []domain.Event{APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "ops", KeyHash: "h1",
				APIPermissions: []Permission{
					{Permission: domain.PermInstallLock, PropertyID: propID},
					{Permission: domain.PermMe, UserID: userID},
				}}}},
		{name: "create lock key", when: create(func(c *Create) { c.DisplayName, c.KeyHash, c.Permissions, c.LockID = "lock", "h2", nil, lockID }),
			then: []domain.Event{lockKey}},
		{name: "create twice", given: []domain.Event{created}, when: create(nil), err: ErrExists},
		{name: "create after delete", given: []domain.Event{created, APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}}, when: create(nil), err: domain.ErrConflict},
		{name: "create without id", when: create(func(c *Create) { c.APIKeyID = uuid.Nil }), err: domain.ErrInvalid, field: "apiKeyId"},
		{name: "create without account", when: create(func(c *Create) { c.AccountID = uuid.Nil }), err: domain.ErrInvalid, field: "accountId"},
		{name: "create without hash", when: create(func(c *Create) { c.KeyHash = "" }), err: domain.ErrInvalid, field: "keyHash"},
		{name: "create blank name", when: create(func(c *Create) { c.DisplayName = "  " }), err: domain.ErrInvalid, field: "displayName"},
		{name: "create without permissions", when: create(func(c *Create) { c.Permissions = nil }), err: domain.ErrInvalid, field: "apiPermissions"},
		{name: "create unknown permission",
			when: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: domain.PermOwner}, {Permission: "root"}} }),
			err:  domain.ErrInvalid, field: "apiPermissions[1].permission"},
		{name: "create me without user",
			when: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: domain.PermMe}} }),
			err:  domain.ErrInvalid, field: "apiPermissions[0].userId"},
		{name: "create user scope on other permission",
			when: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: domain.PermSupport, UserID: userID}} }),
			err:  domain.ErrInvalid, field: "apiPermissions[0].userId"},
		{name: "create lock key with permissions", when: create(func(c *Create) { c.LockID = lockID }), err: domain.ErrInvalid, field: "apiPermissions"},
		{name: "delete", given: []domain.Event{created}, when: Delete{},
			then: []domain.Event{APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}}},
		{name: "delete missing", when: Delete{}, err: ErrNotFound},
		{name: "delete twice", given: []domain.Event{created, APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}}, when: Delete{}, err: domain.ErrNotFound},
		{name: "delete lock key alone", given: []domain.Event{lockKey}, when: Delete{}, err: ErrLockKey},
		{name: "delete lock key with its lock", given: []domain.Event{lockKey}, when: Delete{LockID: lockID},
			then: []domain.Event{APIKeyDeleted{APIKeyID: keyID, AccountID: accountID, LockID: lockID}}},
		{name: "delete plain key naming a lock", given: []domain.Event{created}, when: Delete{LockID: lockID}, err: domain.ErrNotFound},
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
	if !s.Exists() || s.ID() != keyID || s.AccountID() != accountID || s.KeyHash() != "h1" || s.DisplayName() != "ops" {
		t.Fatalf("state after create: %+v", s)
	}
	if g := s.Grants(); len(g) != 1 || g[0].Permission != domain.PermOwner {
		t.Fatalf("grants = %v", g)
	}
	s = Evolve(s, APIKeyDeleted{APIKeyID: keyID, AccountID: accountID})
	if s.Exists() || !s.Deleted() {
		t.Fatalf("state after delete: %+v", s)
	}
	if l := fold([]domain.Event{lockKey}); l.LockID() != lockID || len(l.Grants()) != 0 {
		t.Fatalf("lock key state: %+v", l)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	e := APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "ops", KeyHash: "h",
		APIPermissions: []Permission{{Permission: domain.PermMe, UserID: userID}, {Permission: domain.PermSupport, PropertyID: propID}}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiKeyId":"` + keyID.String() + `","accountId":"` + accountID.String() + `","displayName":"ops","keyHash":"h",` +
		`"apiPermissions":[{"permission":"me","userId":"` + userID.String() + `"},{"permission":"support","propertyId":"` + propID.String() + `"}]}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	var back APIKeyCreated
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, e) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	for _, ev := range Events() {
		if ev.EventType() == "" {
			t.Fatalf("%T has no type name", ev)
		}
	}
}
