package group

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
	groupID   = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	userID    = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	user2     = uuid.MustParse("00000000-0000-0000-0000-0000000000d2")
	areaID    = uuid.MustParse("00000000-0000-0000-0000-0000000000f1")
	bookingID = uuid.MustParse("00000000-0000-0000-0000-0000000000e1")
	madrid    = time.FixedZone("CET", 3600)
	from      = time.Date(2024, 3, 2, 15, 0, 0, 0, time.UTC)
	until     = time.Date(2024, 3, 5, 11, 0, 0, 0, time.UTC)
)

func at(t time.Time) *time.Time { return &t }

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
	// addedStay is a guest's membership made by a booking's check-in.
	addedStay = UserAddedToGroup{UserGroupID: groupID, AccountID: accountID, PropertyID: propID, UserID: userID,
		ValidUntil: at(until), BookingID: bookingID}
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
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "create", When: create(nil), Then: []domain.Event{created}},
		{Name: "create area group", When: create(func(c *Create) {
			c.DisplayName, c.GroupType, c.GroupSource, c.AreaID = "Room 101", TypeResident, SourceArea, areaID
		}), Then: []domain.Event{areaGroup}},
		{Name: "create twice", Given: []domain.Event{created}, When: create(nil), Err: ErrExists},
		{Name: "create after delete", Given: []domain.Event{created, deleted}, When: create(nil), Err: domain.ErrConflict},
		{Name: "create without id", When: create(func(c *Create) { c.UserGroupID = uuid.Nil }), Err: domain.ErrInvalid, Field: "userGroupId"},
		{Name: "create without account", When: create(func(c *Create) { c.AccountID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "create without property", When: create(func(c *Create) { c.PropertyID = uuid.Nil }), Err: domain.ErrInvalid, Field: "propertyId"},
		{Name: "create without name", When: create(func(c *Create) { c.DisplayName = "" }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create bad type", When: create(func(c *Create) { c.GroupType = "guest" }), Err: domain.ErrInvalid, Field: "groupType"},
		{Name: "create bad source", When: create(func(c *Create) { c.GroupSource = "property" }), Err: domain.ErrInvalid, Field: "groupSource"},
		{Name: "create custom with area", When: create(func(c *Create) { c.AreaID = areaID }), Err: domain.ErrInvalid, Field: "areaId"},
		{Name: "create area group without area", When: create(func(c *Create) { c.GroupSource = SourceArea }),
			Err: domain.ErrInvalid, Field: "areaId"},

		{Name: "update", Given: []domain.Event{created}, When: Update{DisplayName: "Housekeeping", GroupType: TypeCommon},
			Then: []domain.Event{UserGroupUpdated{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				DisplayName: "Housekeeping", GroupType: TypeCommon}}},
		{Name: "update unchanged", Given: []domain.Event{created}, When: Update{DisplayName: "Cleaners", GroupType: TypeStaff}},
		{Name: "update bad type", Given: []domain.Event{created}, When: Update{DisplayName: "x", GroupType: ""},
			Err: domain.ErrInvalid, Field: "groupType"},
		{Name: "update missing", When: Update{DisplayName: "x", GroupType: TypeStaff}, Err: ErrNotFound},
		{Name: "update deleted", Given: []domain.Event{created, deleted}, When: Update{DisplayName: "x", GroupType: TypeStaff},
			Err: domain.ErrNotFound},

		{Name: "delete", Given: []domain.Event{created, added}, When: Delete{}, Then: []domain.Event{deleted}},
		{Name: "delete area group alone", Given: []domain.Event{areaGroup}, When: Delete{}, Err: ErrAreaGroup},
		{Name: "delete area group alone is a conflict", Given: []domain.Event{areaGroup}, When: Delete{}, Err: domain.ErrConflict},
		{Name: "delete area group with its area", Given: []domain.Event{areaGroup}, When: Delete{WithArea: true},
			Then: []domain.Event{UserGroupDeleted{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				GroupSource: SourceArea, AreaID: areaID}}},
		{Name: "delete orphan area group", Given: []domain.Event{areaGroup, added}, When: Delete{AreaNeverCreated: true},
			Then: []domain.Event{UserGroupDeleted{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				GroupSource: SourceArea, AreaID: areaID}}},
		{Name: "delete custom group as orphan", Given: []domain.Event{created}, When: Delete{AreaNeverCreated: true},
			Err: ErrNotAreaGroup},
		{Name: "delete orphan area group twice", Given: []domain.Event{areaGroup, UserGroupDeleted{UserGroupID: groupID,
			AccountID: accountID, PropertyID: propID, GroupSource: SourceArea, AreaID: areaID}},
			When: Delete{AreaNeverCreated: true}, Err: ErrNotFound},
		{Name: "delete missing", When: Delete{}, Err: ErrNotFound},
		{Name: "delete twice", Given: []domain.Event{created, deleted}, When: Delete{}, Err: domain.ErrNotFound},

		{Name: "add member", Given: []domain.Event{created}, When: AddMember{UserID: userID}, Then: []domain.Event{added}},
		{Name: "add member with window", Given: []domain.Event{created},
			When: AddMember{UserID: userID, ValidFrom: at(from.In(madrid)), ValidUntil: at(until)},
			Then: []domain.Event{addedW}},
		{Name: "add member from only", Given: []domain.Event{created}, When: AddMember{UserID: userID, ValidFrom: at(from)},
			Then: []domain.Event{UserAddedToGroup{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				UserID: userID, ValidFrom: at(from)}}},
		{Name: "add member to area group", Given: []domain.Event{areaGroup}, When: AddMember{UserID: userID},
			Then: []domain.Event{added}},
		{Name: "add member again same window", Given: []domain.Event{created, addedW},
			When: AddMember{UserID: userID, ValidFrom: at(from.In(madrid)), ValidUntil: at(until)}},
		{Name: "add member again open", Given: []domain.Event{created, added}, When: AddMember{UserID: userID}},
		{Name: "add member again new window", Given: []domain.Event{created, addedW},
			When: AddMember{UserID: userID, ValidFrom: at(from)},
			Then: []domain.Event{UserGroupMembershipChanged{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				UserID: userID, ValidFrom: at(from)}}},
		{Name: "add member window reversed", Given: []domain.Event{created},
			When: AddMember{UserID: userID, ValidFrom: at(until), ValidUntil: at(from)}, Err: domain.ErrInvalid, Field: "validUntil"},
		{Name: "add member empty window", Given: []domain.Event{created},
			When: AddMember{UserID: userID, ValidFrom: at(from), ValidUntil: at(from)}, Err: domain.ErrInvalid, Field: "validUntil"},
		{Name: "add member out of range", Given: []domain.Event{created},
			When: AddMember{UserID: userID, ValidUntil: at(time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -3*3600)))},
			Err:  domain.ErrInvalid, Field: "validUntil"},
		{Name: "add nil user", Given: []domain.Event{created}, When: AddMember{}, Err: domain.ErrInvalid, Field: "userId"},
		{Name: "add member to missing group", When: AddMember{UserID: userID}, Err: ErrNotFound},
		{Name: "add member to deleted group", Given: []domain.Event{created, deleted}, When: AddMember{UserID: userID},
			Err: ErrNotFound},
		{Name: "add member for a booking's stay", Given: []domain.Event{areaGroup},
			When: AddMember{UserID: userID, ValidUntil: at(until), BookingID: bookingID}, Then: []domain.Event{addedStay}},
		{Name: "add member for the same stay again", Given: []domain.Event{areaGroup, addedStay},
			When: AddMember{UserID: userID, ValidUntil: at(until), BookingID: bookingID}},
		{Name: "a stay over a member with the same window names the booking", Given: []domain.Event{areaGroup,
			UserAddedToGroup{UserGroupID: groupID, AccountID: accountID, PropertyID: propID, UserID: userID, ValidUntil: at(until)}},
			When: AddMember{UserID: userID, ValidUntil: at(until), BookingID: bookingID},
			Then: []domain.Event{UserGroupMembershipChanged{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				UserID: userID, ValidUntil: at(until), BookingID: bookingID}}},
		{Name: "a member added by hand over a stay names no booking", Given: []domain.Event{areaGroup, addedStay},
			When: AddMember{UserID: userID, ValidUntil: at(until)},
			Then: []domain.Event{UserGroupMembershipChanged{UserGroupID: groupID, AccountID: accountID, PropertyID: propID,
				UserID: userID, ValidUntil: at(until)}}},
		{Name: "add member after removal", Given: []domain.Event{created, added, removed}, When: AddMember{UserID: userID},
			Then: []domain.Event{added}},

		{Name: "remove member", Given: []domain.Event{created, addedW}, When: RemoveMember{UserID: userID},
			Then: []domain.Event{removed}},
		{Name: "remove non-member", Given: []domain.Event{created, added}, When: RemoveMember{UserID: user2}, Err: ErrNotMember},
		{Name: "remove non-member is not found", Given: []domain.Event{created}, When: RemoveMember{UserID: userID},
			Err: domain.ErrNotFound},
		{Name: "remove twice", Given: []domain.Event{created, added, removed}, When: RemoveMember{UserID: userID}, Err: ErrNotMember},
		{Name: "remove nil user", Given: []domain.Event{created}, When: RemoveMember{}, Err: domain.ErrInvalid, Field: "userId"},
		{Name: "remove from deleted group", Given: []domain.Event{created, added, deleted}, When: RemoveMember{UserID: userID},
			Err: ErrNotFound},
	})
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
	if m, _ := gone.Member(user2); m.BookingID != uuid.Nil {
		t.Fatalf("an ordinary member names a booking: %+v", m)
	}
	stay := Evolve(gone, addedStay)
	if m, _ := stay.Member(userID); m.BookingID != bookingID {
		t.Fatalf("a stay's member = %+v, want booking %s", m, bookingID)
	}
	if m, _ := Evolve(stay, UserGroupMembershipChanged{UserGroupID: groupID, UserID: userID}).Member(userID); m.BookingID != uuid.Nil {
		t.Fatalf("a window replaced by hand keeps the booking: %+v", m)
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
	// A stay names its booking; events from before bookingId existed
	// decode without one.
	b, _ = json.Marshal(addedStay)
	want = `{"userGroupId":"` + groupID.String() + `","accountId":"` + accountID.String() + `","propertyId":"` + propID.String() +
		`","userId":"` + userID.String() + `","validUntil":"2024-03-05T11:00:00Z","bookingId":"` + bookingID.String() + `"}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	var old UserGroupMembershipChanged
	if err := json.Unmarshal([]byte(`{"userGroupId":"`+groupID.String()+`","userId":"`+userID.String()+`"}`), &old); err != nil || old.BookingID != uuid.Nil {
		t.Fatalf("old event = %+v, %v", old, err)
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
