package user

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/domaintest"
)

var (
	now       = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	userID    = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	ref       = domain.ExternalRef{ID: "guest-7", Source: "pms", SyncDirection: "fromExternalToInternal", SyncStatus: "synced", LastSyncDate: &now}
)

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

var (
	otherUser = uuid.MustParse("00000000-0000-0000-0000-0000000000d2")
	thirdUser = uuid.MustParse("00000000-0000-0000-0000-0000000000d3")
	// legacyMeForTwo is a user created when a list could hold `me` for
	// two users.
	legacyMeForTwo = UserCreated{UserID: userID, AccountID: accountID, DisplayName: "Ana",
		UserPermissions: []apikey.Permission{{Permission: domain.PermMe, UserID: userID}, {Permission: domain.PermMe, UserID: otherUser},
			{Permission: domain.PermSupport, PropertyID: propID}},
		ExternalRefs: []domain.ExternalRef{ref}, SealedPrivate: "sealed-1"}
)

// scopedGrants are n grants, each scoped to a property of its own.
func scopedGrants(n int) []domain.Grant {
	out := make([]domain.Grant, n)
	for i := range out {
		out[i] = domain.Grant{Permission: domain.PermSupport, PropertyID: uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i), byte(i >> 8)})}
	}
	return out
}

var (
	support      = domain.Grant{Permission: domain.PermSupport, PropertyID: propID}
	manageProp   = domain.Grant{Permission: domain.PermManageAccess, PropertyID: propID}
	otherProp    = uuid.MustParse("00000000-0000-0000-0000-0000000000c2")
	otherSupport = domain.Grant{Permission: domain.PermSupport, PropertyID: otherProp}
	// legacyTwice is a user created when a list could repeat a grant.
	legacyTwice = UserCreated{UserID: userID, AccountID: accountID, DisplayName: "Ana",
		UserPermissions: apikey.FromGrants([]domain.Grant{support, otherSupport, support})}
	// legacyLong is a user created when a list had no bound.
	legacyLong = UserCreated{UserID: userID, AccountID: accountID, DisplayName: "Ana",
		UserPermissions: apikey.FromGrants(scopedGrants(apikey.MaxGrants + 2))}
)

// withGrants is the user as given, with grants instead.
func withGrants(e UserCreated, gs []domain.Grant) UserUpdated {
	return UserUpdated{UserID: e.UserID, AccountID: e.AccountID, DisplayName: e.DisplayName,
		UserPermissions: apikey.FromGrants(gs), ExternalRefs: e.ExternalRefs, SealedPrivate: e.SealedPrivate}
}

// legacyGrants is what legacyMeForTwo holds.
func legacyGrants() []domain.Grant { return apikey.ToGrants(legacyMeForTwo.UserPermissions) }

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
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "create", When: create(nil), Then: []domain.Event{created}},
		{Name: "create minimal", When: Create{UserID: userID, AccountID: accountID, DisplayName: "Bo"},
			Then: []domain.Event{UserCreated{UserID: userID, AccountID: accountID, DisplayName: "Bo"}}},
		{Name: "create twice", Given: []domain.Event{created}, When: create(nil), Err: ErrExists},
		{Name: "create after delete", Given: []domain.Event{created, deleted}, When: create(nil), Err: domain.ErrConflict},
		{Name: "create without id", When: create(func(c *Create) { c.UserID = uuid.Nil }), Err: domain.ErrInvalid, Field: "userId"},
		{Name: "create without account", When: create(func(c *Create) { c.AccountID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "create without name", When: create(func(c *Create) { c.DisplayName = "" }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create long name", When: create(func(c *Create) { c.DisplayName = strings.Repeat("x", 201) }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create unknown permission", When: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: "god"}} }),
			Err: domain.ErrInvalid, Field: "userPermissions[0].permission"},
		{Name: "create me without user", When: create(func(c *Create) { c.Permissions = []domain.Grant{{Permission: domain.PermMe}} }),
			Err: domain.ErrInvalid, Field: "userPermissions[0].userId"},
		{Name: "create user scope off me",
			When: create(func(c *Create) {
				c.Permissions = []domain.Grant{{Permission: domain.PermManageAccess, PropertyID: propID, UserID: userID}}
			}),
			Err: domain.ErrInvalid, Field: "userPermissions[0].userId"},
		{Name: "create ref without source", When: create(func(c *Create) { c.ExternalRefs = []domain.ExternalRef{{ID: "x"}} }),
			Err: domain.ErrInvalid, Field: "externalRefs[0].source"},
		{Name: "create ref bad direction", When: create(func(c *Create) { c.ExternalRefs = []domain.ExternalRef{{ID: "x", Source: "s", SyncDirection: "both"}} }),
			Err: domain.ErrInvalid, Field: "externalRefs[0].syncDirection"},
		{Name: "create ref bad status", When: create(func(c *Create) { c.ExternalRefs = []domain.ExternalRef{{ID: "x", Source: "s", SyncStatus: "ok"}} }),
			Err: domain.ErrInvalid, Field: "externalRefs[0].syncStatus"},
		{Name: "create too many refs", When: create(func(c *Create) { c.ExternalRefs = make([]domain.ExternalRef, domain.MaxExternalRefs+1) }),
			Err: domain.ErrInvalid, Field: "externalRefs"},
		{Name: "update", Given: []domain.Event{created},
			When: update(func(c *Update) {
				c.DisplayName = "Ana M."
				c.Permissions = []domain.Grant{{Permission: domain.PermSupport, PropertyID: propID}}
				c.ExternalRefs = nil
				c.SealedPrivate = "sealed-2"
			}),
			Then: []domain.Event{UserUpdated{UserID: userID, AccountID: accountID, DisplayName: "Ana M.",
				UserPermissions: []apikey.Permission{{Permission: domain.PermSupport, PropertyID: propID}}, SealedPrivate: "sealed-2"}}},
		{Name: "update unchanged", Given: []domain.Event{created}, When: update(nil)},
		{Name: "update resealed", Given: []domain.Event{created}, When: update(func(c *Update) { c.SealedPrivate = "sealed-again" }),
			Then: []domain.Event{UserUpdated{UserID: userID, AccountID: accountID, DisplayName: "Ana",
				UserPermissions: []apikey.Permission{{Permission: domain.PermMe, UserID: userID}},
				ExternalRefs:    []domain.ExternalRef{ref}, SealedPrivate: "sealed-again"}}},
		{Name: "update invalid", Given: []domain.Event{created}, When: update(func(c *Update) { c.DisplayName = "\t" }),
			Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "update adding a second user's me", Given: []domain.Event{created},
			When: update(func(c *Update) {
				c.Permissions = append(c.Permissions, domain.Grant{Permission: domain.PermMe, UserID: otherUser})
			}),
			Err: domain.ErrInvalid, Field: "userPermissions[1].userId"},
		// A user stored before a list could name one user's `me` only:
		// their grants are rewritten (a membership's sync, a PUT sending
		// back what it read), never refused for what they already held.
		{Name: "update a user holding me for two users, unchanged", Given: []domain.Event{legacyMeForTwo}, When: update(func(c *Update) {
			c.Permissions = legacyGrants()
		})},
		{Name: "update a user holding me for two users, a grant taken", Given: []domain.Event{legacyMeForTwo}, When: update(func(c *Update) {
			c.Permissions = legacyGrants()[:2]
		}), Then: []domain.Event{UserUpdated{UserID: userID, AccountID: accountID, DisplayName: "Ana",
			UserPermissions: legacyMeForTwo.UserPermissions[:2], ExternalRefs: []domain.ExternalRef{ref}, SealedPrivate: "sealed-1"}}},
		{Name: "update a user holding me for two users, a third added", Given: []domain.Event{legacyMeForTwo}, When: update(func(c *Update) {
			c.Permissions = append(legacyGrants()[:2], domain.Grant{Permission: domain.PermMe, UserID: thirdUser})
		}), Err: domain.ErrInvalid, Field: "userPermissions[2].userId"},
		// A list is bounded and repeats no grant; one stored before these
		// rules is rewritten (sent back as read, a grant taken or changed)
		// but neither grows nor repeats a grant more than it did.
		{Name: "create with a grant listed twice", When: create(func(c *Create) {
			c.Permissions = []domain.Grant{support, otherSupport, manageProp, support}
		}), Err: domain.ErrInvalid, Field: "userPermissions[3]"},
		{Name: "create with MaxGrants grants", When: Create{UserID: userID, AccountID: accountID, DisplayName: "Ana",
			Permissions: scopedGrants(apikey.MaxGrants)},
			Then: []domain.Event{UserCreated{UserID: userID, AccountID: accountID, DisplayName: "Ana",
				UserPermissions: apikey.FromGrants(scopedGrants(apikey.MaxGrants))}}},
		{Name: "create with too many grants", When: create(func(c *Create) { c.Permissions = scopedGrants(apikey.MaxGrants + 1) }),
			Err: domain.ErrInvalid, Field: "userPermissions"},
		{Name: "update with a grant listed twice", Given: []domain.Event{created}, When: update(func(c *Update) {
			c.Permissions = append(c.Permissions, support, support)
		}), Err: domain.ErrInvalid, Field: "userPermissions[2]"},
		{Name: "update past MaxGrants", Given: []domain.Event{created}, When: update(func(c *Update) {
			c.Permissions = scopedGrants(apikey.MaxGrants + 1)
		}), Err: domain.ErrInvalid, Field: "userPermissions"},
		{Name: "update a user holding a grant twice, unchanged", Given: []domain.Event{legacyTwice},
			When: Update{DisplayName: "Ana", Permissions: apikey.ToGrants(legacyTwice.UserPermissions)}},
		{Name: "update a user holding a grant twice, another added", Given: []domain.Event{legacyTwice},
			When: Update{DisplayName: "Ana", Permissions: []domain.Grant{support, otherSupport, support, manageProp}},
			Then: []domain.Event{withGrants(legacyTwice, []domain.Grant{support, otherSupport, support, manageProp})}},
		{Name: "update a user holding a grant twice, a third time", Given: []domain.Event{legacyTwice},
			When: Update{DisplayName: "Ana", Permissions: []domain.Grant{support, otherSupport, support, support}},
			Err:  domain.ErrInvalid, Field: "userPermissions[3]"},
		{Name: "update a user holding a grant twice, another grant twice", Given: []domain.Event{legacyTwice},
			When: Update{DisplayName: "Ana", Permissions: []domain.Grant{support, otherSupport, support, otherSupport}},
			Err:  domain.ErrInvalid, Field: "userPermissions[3]"},
		{Name: "update a user past MaxGrants, unchanged", Given: []domain.Event{legacyLong},
			When: Update{DisplayName: "Ana", Permissions: apikey.ToGrants(legacyLong.UserPermissions)}},
		{Name: "update a user past MaxGrants, a grant changed", Given: []domain.Event{legacyLong},
			When: Update{DisplayName: "Ana", Permissions: append(apikey.ToGrants(legacyLong.UserPermissions)[1:], support)},
			Then: []domain.Event{withGrants(legacyLong, append(apikey.ToGrants(legacyLong.UserPermissions)[1:], support))}},
		{Name: "update a user past MaxGrants, a grant added", Given: []domain.Event{legacyLong},
			When: Update{DisplayName: "Ana", Permissions: append(apikey.ToGrants(legacyLong.UserPermissions), support)},
			Err:  domain.ErrInvalid, Field: "userPermissions"},
		// A membership sets the user's grants of its property, past
		// MaxGrants if it must (a member of many properties).
		{Name: "set property grants", Given: []domain.Event{created},
			When: SetPropertyGrants{PropertyID: propID, Grants: []domain.Grant{manageProp, support}},
			Then: []domain.Event{withGrants(created, []domain.Grant{{Permission: domain.PermMe, UserID: userID}, manageProp, support})}},
		{Name: "set property grants, replacing", Given: []domain.Event{legacyTwice},
			When: SetPropertyGrants{PropertyID: propID, Grants: []domain.Grant{manageProp}},
			Then: []domain.Event{withGrants(legacyTwice, []domain.Grant{otherSupport, manageProp})}},
		{Name: "set property grants, none", Given: []domain.Event{legacyTwice}, When: SetPropertyGrants{PropertyID: propID},
			Then: []domain.Event{withGrants(legacyTwice, []domain.Grant{otherSupport})}},
		{Name: "set property grants, unchanged", Given: []domain.Event{created, withGrants(created, []domain.Grant{support})},
			When: SetPropertyGrants{PropertyID: propID, Grants: []domain.Grant{support}}},
		{Name: "set property grants past MaxGrants", Given: []domain.Event{legacyLong},
			When: SetPropertyGrants{PropertyID: propID, Grants: []domain.Grant{manageProp, support}},
			Then: []domain.Event{withGrants(legacyLong, append(apikey.ToGrants(legacyLong.UserPermissions), manageProp, support))}},
		{Name: "set property grants of another property", Given: []domain.Event{created},
			When: SetPropertyGrants{PropertyID: propID, Grants: []domain.Grant{otherSupport}}, Err: domain.ErrInvalid, Field: "grants[0].propertyId"},
		{Name: "set property grants listed twice", Given: []domain.Event{created},
			When: SetPropertyGrants{PropertyID: propID, Grants: []domain.Grant{support, support}}, Err: domain.ErrInvalid, Field: "userPermissions[2]"},
		{Name: "set property grants without property", Given: []domain.Event{created}, When: SetPropertyGrants{}, Err: domain.ErrInvalid, Field: "propertyId"},
		{Name: "set property grants of nobody", When: SetPropertyGrants{PropertyID: propID}, Err: ErrNotFound},
		{Name: "update missing", When: update(nil), Err: ErrNotFound},
		{Name: "update deleted", Given: []domain.Event{created, deleted}, When: update(nil), Err: ErrNotFound},
		{Name: "delete", Given: []domain.Event{created}, When: Delete{}, Then: []domain.Event{deleted}},
		{Name: "delete missing", When: Delete{}, Err: ErrNotFound},
		{Name: "delete twice", Given: []domain.Event{created, deleted}, When: Delete{}, Err: domain.ErrNotFound},
	})
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
	if r := s.ExternalRefs(); !domain.EqualExternalRefs(r, []domain.ExternalRef{ref}) {
		t.Fatalf("refs = %v", r)
	}
	s = Evolve(s, deleted)
	if s.Exists() || !s.Deleted() || s.SealedPrivate() != "" {
		t.Fatalf("state after delete: %+v", s)
	}
	// Users recorded before a list was bounded and kept from repeating a
	// grant still load as they were recorded.
	if g := fold([]domain.Event{legacyTwice}).Grants(); len(g) != 3 {
		t.Fatalf("a grant listed twice: grants = %v", g)
	}
	if g := fold([]domain.Event{legacyLong}).Grants(); len(g) != apikey.MaxGrants+2 {
		t.Fatalf("a list past MaxGrants: %d grants", len(g))
	}
}

// The sealed personal data the user ever had outlives the deletion, for
// its cascade; each text once, oldest first.
func TestSealedPrivateHistory(t *testing.T) {
	t.Parallel()
	updated := func(sealed string) UserUpdated {
		return UserUpdated{UserID: userID, AccountID: accountID, DisplayName: "Ana", SealedPrivate: sealed}
	}
	base := fold([]domain.Event{created, updated("sealed-2"), updated("sealed-3")})
	s := fold([]domain.Event{created, updated("sealed-2"), updated("sealed-2"), updated(""), updated("sealed-1"), updated("sealed-3"), deleted})
	if got, want := s.SealedPrivateHistory(), []string{"sealed-1", "sealed-2", "sealed-3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history = %v, want %v", got, want)
	}
	if s.SealedPrivate() != "" {
		t.Fatalf("sealed private after delete = %q", s.SealedPrivate())
	}
	// States share no history: the pipeline caches them.
	a, b := Evolve(base, updated("a")), Evolve(base, updated("b"))
	if got := a.SealedPrivateHistory(); !reflect.DeepEqual(got, []string{"sealed-1", "sealed-2", "sealed-3", "a"}) {
		t.Fatalf("history a = %v", got)
	}
	if got := b.SealedPrivateHistory(); !reflect.DeepEqual(got, []string{"sealed-1", "sealed-2", "sealed-3", "b"}) {
		t.Fatalf("history b = %v", got)
	}
	if got := (State{}).SealedPrivateHistory(); got != nil {
		t.Fatalf("history of nobody = %v", got)
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
