package apikey

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/domaintest"
)

var (
	now       = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	keyID     = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	userID    = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	lockID    = uuid.MustParse("00000000-0000-0000-0000-0000000000e1")
)

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

var otherUserID = uuid.MustParse("00000000-0000-0000-0000-0000000000d2")

// Keys with `me`: for the user only, twice, beside another permission,
// and for two users.
var (
	meKey = APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "phone", KeyHash: "h3",
		APIPermissions: []Permission{{Permission: domain.PermMe, UserID: userID}}}
	meTwice = APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "phone", KeyHash: "h3",
		APIPermissions: []Permission{{Permission: domain.PermMe, UserID: userID}, {Permission: domain.PermMe, UserID: userID}}}
	meAndSupport = APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "desk", KeyHash: "h4",
		APIPermissions: []Permission{{Permission: domain.PermMe, UserID: userID}, {Permission: domain.PermSupport, PropertyID: propID}}}
	meForTwo = APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "family", KeyHash: "h5",
		APIPermissions: []Permission{{Permission: domain.PermMe, UserID: userID}, {Permission: domain.PermMe, UserID: otherUserID}}}
)

func create(mod func(*Create)) Create {
	c := Create{APIKeyID: keyID, AccountID: accountID, DisplayName: "ops", KeyHash: "h1",
		Permissions: []domain.Grant{{Permission: domain.PermOwner}}}
	if mod != nil {
		mod(&c)
	}
	return c
}

// distinctGrants are n grants, each scoped to a property of its own.
func distinctGrants(n int) []domain.Grant {
	out := make([]domain.Grant, n)
	for i := range out {
		out[i] = domain.Grant{Permission: domain.PermSupport, PropertyID: uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i), byte(i >> 8)})}
	}
	return out
}

func TestDecide(t *testing.T) {
	t.Parallel()
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "create", When: create(nil), Then: []domain.Event{created}},
		{Name: "create scoped permissions",
			When: create(func(c *Create) {
				c.Permissions = []domain.Grant{
					{Permission: domain.PermInstallLock, PropertyID: propID},
					{Permission: domain.PermMe, UserID: userID},
				}
			}),
			Then: []domain.Event{APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "ops", KeyHash: "h1",
				APIPermissions: []Permission{
					{Permission: domain.PermInstallLock, PropertyID: propID},
					{Permission: domain.PermMe, UserID: userID},
				}}}},
		{Name: "create lock key", When: create(func(c *Create) { c.DisplayName, c.KeyHash, c.Permissions, c.LockID = "lock", "h2", nil, lockID }),
			Then: []domain.Event{lockKey}},
		{Name: "create twice", Given: []domain.Event{created}, When: create(nil), Err: ErrExists},
		{Name: "create after delete", Given: []domain.Event{created, APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}}, When: create(nil), Err: domain.ErrConflict},
		{Name: "create without id", When: create(func(c *Create) { c.APIKeyID = uuid.Nil }), Err: domain.ErrInvalid, Field: "apiKeyId"},
		{Name: "create without account", When: create(func(c *Create) { c.AccountID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "create without hash", When: create(func(c *Create) { c.KeyHash = "" }), Err: domain.ErrInvalid, Field: "keyHash"},
		{Name: "create blank name", When: create(func(c *Create) { c.DisplayName = "  " }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create without permissions", When: create(func(c *Create) { c.Permissions = nil }), Err: domain.ErrInvalid, Field: "apiPermissions"},
		{Name: "create unknown permission",
			When: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: domain.PermOwner}, {Permission: "root"}} }),
			Err:  domain.ErrInvalid, Field: "apiPermissions[1].permission"},
		{Name: "create me without user",
			When: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: domain.PermMe}} }),
			Err:  domain.ErrInvalid, Field: "apiPermissions[0].userId"},
		{Name: "create user scope on other permission",
			When: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: domain.PermSupport, UserID: userID}} }),
			Err:  domain.ErrInvalid, Field: "apiPermissions[0].userId"},
		{Name: "create me for two users",
			When: create(func(c *Create) {
				c.Permissions = []domain.Grant{{Permission: domain.PermMe, UserID: userID}, {Permission: domain.PermSupport},
					{Permission: domain.PermMe, UserID: otherUserID}}
			}),
			Err: domain.ErrInvalid, Field: "apiPermissions[2].userId"},
		{Name: "create with a grant listed twice",
			When: create(func(c *Create) {
				c.Permissions = []domain.Grant{{Permission: domain.PermSupport}, {Permission: domain.PermSupport, PropertyID: propID},
					{Permission: domain.PermMe, UserID: userID}, {Permission: domain.PermSupport, PropertyID: propID}}
			}),
			Err: domain.ErrInvalid, Field: "apiPermissions[3]"},
		{Name: "create with me listed twice",
			When: create(func(c *Create) {
				c.Permissions = []domain.Grant{{Permission: domain.PermMe, UserID: userID}, {Permission: domain.PermMe, UserID: userID}}
			}),
			Err: domain.ErrInvalid, Field: "apiPermissions[1]"},
		{Name: "create with MaxGrants grants", When: create(func(c *Create) { c.Permissions = distinctGrants(MaxGrants) }),
			Then: []domain.Event{APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "ops", KeyHash: "h1",
				APIPermissions: FromGrants(distinctGrants(MaxGrants))}}},
		{Name: "create with too many grants", When: create(func(c *Create) { c.Permissions = distinctGrants(MaxGrants + 1) }),
			Err: domain.ErrInvalid, Field: "apiPermissions"},
		{Name: "create lock key with permissions", When: create(func(c *Create) { c.LockID = lockID }), Err: domain.ErrInvalid, Field: "apiPermissions"},
		{Name: "delete", Given: []domain.Event{created}, When: Delete{},
			Then: []domain.Event{APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}}},
		{Name: "delete missing", When: Delete{}, Err: ErrNotFound},
		{Name: "delete twice", Given: []domain.Event{created, APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}}, When: Delete{}, Err: domain.ErrNotFound},
		{Name: "delete lock key alone", Given: []domain.Event{lockKey}, When: Delete{}, Err: ErrLockKey},
		{Name: "delete lock key with its lock", Given: []domain.Event{lockKey}, When: Delete{LockID: lockID},
			Then: []domain.Event{APIKeyDeleted{APIKeyID: keyID, AccountID: accountID, LockID: lockID}}},
		{Name: "delete plain key naming a lock", Given: []domain.Event{created}, When: Delete{LockID: lockID}, Err: domain.ErrNotFound},
		{Name: "delete with user: a key acting only as the user", Given: []domain.Event{meKey}, When: DeleteWithUser{UserID: userID},
			Then: []domain.Event{APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}}},
		{Name: "delete with user: the user's me twice", Given: []domain.Event{meTwice}, When: DeleteWithUser{UserID: userID},
			Then: []domain.Event{APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}}},
		{Name: "delete with user: deleted already", Given: []domain.Event{meKey, APIKeyDeleted{APIKeyID: keyID, AccountID: accountID}},
			When: DeleteWithUser{UserID: userID}},
		{Name: "delete with user: missing", When: DeleteWithUser{UserID: userID}},
		{Name: "delete with user: another user's key", Given: []domain.Event{meKey}, When: DeleteWithUser{UserID: otherUserID}},
		{Name: "delete with user: me and another permission", Given: []domain.Event{meAndSupport}, When: DeleteWithUser{UserID: userID}},
		{Name: "delete with user: me for two users", Given: []domain.Event{meForTwo}, When: DeleteWithUser{UserID: userID}},
		{Name: "delete with user: a key without me", Given: []domain.Event{created}, When: DeleteWithUser{UserID: userID}},
		{Name: "delete with user: a lock's key", Given: []domain.Event{lockKey}, When: DeleteWithUser{UserID: userID}},
		{Name: "delete with user: no user", Given: []domain.Event{meKey}, When: DeleteWithUser{}},
	})
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
	// Keys made before a list was bounded and kept from repeating a
	// grant still load as they were recorded.
	if g := fold([]domain.Event{meTwice}).Grants(); len(g) != 2 {
		t.Fatalf("a grant listed twice: grants = %v", g)
	}
	long := APIKeyCreated{APIKeyID: keyID, AccountID: accountID, DisplayName: "old", KeyHash: "h6",
		APIPermissions: FromGrants(append(distinctGrants(MaxGrants+1), domain.Grant{Permission: domain.PermSupport}, domain.Grant{Permission: domain.PermSupport}))}
	if g := fold([]domain.Event{long}).Grants(); len(g) != MaxGrants+3 {
		t.Fatalf("a list past MaxGrants: %d grants", len(g))
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
