package group

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
	groupID   = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	userID    = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	user2     = uuid.MustParse("00000000-0000-0000-0000-0000000000d2")
	areaID    = uuid.MustParse("00000000-0000-0000-0000-0000000000f1")
	madrid    = time.FixedZone("CET", 3600)
	from      = time.Date(2024, 3, 2, 15, 0, 0, 0, time.UTC)
	until     = time.Date(2024, 3, 5, 11, 0, 0, 0, time.UTC)
)

func at(t time.Time) *time.Time { return &t }

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
	created = UserGroupCreated{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
		DisplayName: "Cleaners", GroupType: TypeStaff, GroupSource: SourceCustom}
	areaGroup = UserGroupCreated{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
		DisplayName: "Room 101", GroupType: TypeResident, GroupSource: SourceArea, AreaID: areaID}
	deleted = UserGroupDeleted{UserGroupID: groupID, AccountID: accountID, PropertyID: propID, GroupSource: SourceCustom}
	added   = UserAddedToGroup{UserGroupID: groupID, AccountID: accountID, PropertyID: propID, UserID: userID}
	addedW  = UserAddedToGroup{UserGroupID: groupID, AccountID: accountID, PropertyID: propID, UserID: userID,
		ValidFrom: at(from), ValidUntil: at(until)}
	removed = UserRemovedFromGroup{UserGroupID: groupID, AccountID: accountID, PropertyID: propID, UserID: userID}
)

func create(mod func(*Create)) Create {
	c := Create{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
		DisplayName: "Cleaners", GroupType: TypeStaff, GroupSource: SourceCustom}
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
		{name: "create area group", when: create(func(c *Create) {
			c.DisplayName, c.GroupType, c.GroupSource, c.AreaID = "Room 101", TypeResident, SourceArea, areaID
		}), then: []domain.Event{areaGroup}},
		{name: "create twice", given: []domain.Event{created}, when: create(nil), err: ErrExists},
		{name: "create after delete", given: []domain.Event{created, deleted}, when: create(nil), err: domain.ErrConflict},
		{name: "create without id", when: create(func(c *Create) { c.UserGroupID = uuid.Nil }), err: domain.ErrInvalid, field: "userGroupId"},
		{name: "create without account", when: create(func(c *Create) { c.AccountID = uuid.Nil }), err: domain.ErrInvalid, field: "accountId"},
		{name: "create without property", when: create(func(c *Create) { c.PropertyID = uuid.Nil }), err: domain.ErrInvalid, field: "propertyId"},
		{name: "create without name", when: create(func(c *Create) { c.DisplayName = "" }), err: domain.ErrInvalid, field: "displayName"},
		{name: "create bad type", when: create(func(c *Create) { c.GroupType = "guest" }), err: domain.ErrInvalid, field: "groupType"},
		{name: "create bad source", when: create(func(c *Create) { c.GroupSource = "property" }), err: domain.ErrInvalid, field: "groupSource"},
		{name: "create custom with area", when: create(func(c *Create) { c.AreaID = areaID }), err: domain.ErrInvalid, field: "areaId"},
		{name: "create area group without area", when: create(func(c *Create) { c.GroupSource = SourceArea }),
			err: domain.ErrInvalid, field: "areaId"},

		{name: "update", given: []domain.Event{created}, when: Update{DisplayName: "Housekeeping", GroupType: TypeCommon},
			then: []domain.Event{UserGroupUpdated{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				DisplayName: "Housekeeping", GroupType: TypeCommon}}},
		{name: "update unchanged", given: []domain.Event{created}, when: Update{DisplayName: "Cleaners", GroupType: TypeStaff}},
		{name: "update bad type", given: []domain.Event{created}, when: Update{DisplayName: "x", GroupType: ""},
			err: domain.ErrInvalid, field: "groupType"},
		{name: "update missing", when: Update{DisplayName: "x", GroupType: TypeStaff}, err: ErrNotFound},
		{name: "update deleted", given: []domain.Event{created, deleted}, when: Update{DisplayName: "x", GroupType: TypeStaff},
			err: domain.ErrNotFound},

		{name: "delete", given: []domain.Event{created, added}, when: Delete{}, then: []domain.Event{deleted}},
		{name: "delete area group alone", given: []domain.Event{areaGroup}, when: Delete{}, err: ErrAreaGroup},
		{name: "delete area group alone is a conflict", given: []domain.Event{areaGroup}, when: Delete{}, err: domain.ErrConflict},
		{name: "delete area group with its area", given: []domain.Event{areaGroup}, when: Delete{WithArea: true},
			then: []domain.Event{UserGroupDeleted{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				GroupSource: SourceArea, AreaID: areaID}}},
		{name: "delete missing", when: Delete{}, err: ErrNotFound},
		{name: "delete twice", given: []domain.Event{created, deleted}, when: Delete{}, err: domain.ErrNotFound},

		{name: "add member", given: []domain.Event{created}, when: AddMember{UserID: userID}, then: []domain.Event{added}},
		{name: "add member with window", given: []domain.Event{created},
			when: AddMember{UserID: userID, ValidFrom: at(from.In(madrid)), ValidUntil: at(until)},
			then: []domain.Event{addedW}},
		{name: "add member from only", given: []domain.Event{created}, when: AddMember{UserID: userID, ValidFrom: at(from)},
			then: []domain.Event{UserAddedToGroup{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				UserID: userID, ValidFrom: at(from)}}},
		{name: "add member to area group", given: []domain.Event{areaGroup}, when: AddMember{UserID: userID},
			then: []domain.Event{added}},
		{name: "add member again same window", given: []domain.Event{created, addedW},
			when: AddMember{UserID: userID, ValidFrom: at(from.In(madrid)), ValidUntil: at(until)}},
		{name: "add member again open", given: []domain.Event{created, added}, when: AddMember{UserID: userID}},
		{name: "add member again new window", given: []domain.Event{created, addedW},
			when: AddMember{UserID: userID, ValidFrom: at(from)},
			then: []domain.Event{UserGroupMembershipChanged{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				UserID: userID, ValidFrom: at(from)}}},
		{name: "add member window reversed", given: []domain.Event{created},
			when: AddMember{UserID: userID, ValidFrom: at(until), ValidUntil: at(from)}, err: domain.ErrInvalid, field: "validUntil"},
		{name: "add member empty window", given: []domain.Event{created},
			when: AddMember{UserID: userID, ValidFrom: at(from), ValidUntil: at(from)}, err: domain.ErrInvalid, field: "validUntil"},
		{name: "add member out of range", given: []domain.Event{created},
			when: AddMember{UserID: userID, ValidUntil: at(time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -3*3600)))},
			err:  domain.ErrInvalid, field: "validUntil"},
		{name: "add nil user", given: []domain.Event{created}, when: AddMember{}, err: domain.ErrInvalid, field: "userId"},
		{name: "add member to missing group", when: AddMember{UserID: userID}, err: ErrNotFound},
		{name: "add member to deleted group", given: []domain.Event{created, deleted}, when: AddMember{UserID: userID},
			err: ErrNotFound},
		{name: "add member after removal", given: []domain.Event{created, added, removed}, when: AddMember{UserID: userID},
			then: []domain.Event{added}},

		{name: "remove member", given: []domain.Event{created, addedW}, when: RemoveMember{UserID: userID},
			then: []domain.Event{removed}},
		{name: "remove non-member", given: []domain.Event{created, added}, when: RemoveMember{UserID: user2}, err: ErrNotMember},
		{name: "remove non-member is not found", given: []domain.Event{created}, when: RemoveMember{UserID: userID},
			err: domain.ErrNotFound},
		{name: "remove twice", given: []domain.Event{created, added, removed}, when: RemoveMember{UserID: userID}, err: ErrNotMember},
		{name: "remove nil user", given: []domain.Event{created}, when: RemoveMember{}, err: domain.ErrInvalid, field: "userId"},
		{name: "remove from deleted group", given: []domain.Event{created, added, deleted}, when: RemoveMember{UserID: userID},
			err: ErrNotFound},
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
	s := fold([]domain.Event{areaGroup})
	if !s.Exists() || s.Deleted() || s.ID() != groupID || s.AccountID() != accountID || s.PropertyID() != propID ||
		s.DisplayName() != "Room 101" || s.GroupType() != TypeResident || s.GroupSource() != SourceArea || s.AreaID() != areaID {
		t.Fatalf("state after create: %+v", s)
	}
	withOne := Evolve(s, addedW)
	if s.MemberCount() != 0 {
		t.Fatal("evolving altered the earlier state")
	}
	m, ok := withOne.Member(userID)
	if !ok || !m.ValidFrom.Equal(from) || !m.ValidUntil.Equal(until) {
		t.Fatalf("member = %+v, %v", m, ok)
	}
	*m.ValidFrom = until
	if m2, _ := withOne.Member(userID); !m2.ValidFrom.Equal(from) {
		t.Fatal("Member() exposes the state")
	}
	withTwo := Evolve(withOne, UserAddedToGroup{UserGroupID: groupID, UserID: user2})
	changed := Evolve(withTwo, UserGroupMembershipChanged{UserGroupID: groupID, UserID: userID})
	if m, _ := changed.Member(userID); m.ValidFrom != nil || m.ValidUntil != nil {
		t.Fatalf("window after change = %+v", m)
	}
	if m, _ := withTwo.Member(userID); m.ValidFrom == nil {
		t.Fatal("changing a window altered the earlier state")
	}
	gone := Evolve(changed, removed)
	if _, ok := gone.Member(userID); ok || gone.MemberCount() != 1 || changed.MemberCount() != 2 {
		t.Fatalf("members after remove: %v (before: %v)", gone.Members(), changed.Members())
	}
	if ms := gone.Members(); len(ms) != 1 {
		t.Fatalf("Members() = %v", ms)
	}
	s = Evolve(gone, UserGroupUpdated{DisplayName: "Suite", GroupType: TypeCommon})
	if s.DisplayName() != "Suite" || s.GroupType() != TypeCommon {
		t.Fatalf("state after update: %+v", s)
	}
	s = Evolve(s, UserGroupDeleted{UserGroupID: groupID})
	if s.Exists() || !s.Deleted() || s.MemberCount() != 0 {
		t.Fatalf("state after delete: %+v", s)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(addedW)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"userGroupId":"` + groupID.String() + `","accountId":"` + accountID.String() + `","propertyId":"` + propID.String() +
		`","userId":"` + userID.String() + `","validFrom":"2024-03-02T15:00:00Z","validUntil":"2024-03-05T11:00:00Z"}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	var back UserAddedToGroup
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, addedW) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	b, _ = json.Marshal(created)
	want = `{"userGroupId":"` + groupID.String() + `","accountId":"` + accountID.String() + `","propertyId":"` + propID.String() +
		`","displayName":"Cleaners","groupType":"staff","groupSource":"custom"}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	if len(Events()) != 6 {
		t.Fatal("Events() misses a type")
	}
}
