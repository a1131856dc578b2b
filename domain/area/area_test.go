package area

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
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	prop2     = uuid.MustParse("00000000-0000-0000-0000-0000000000c2")
	areaID    = uuid.MustParse("00000000-0000-0000-0000-0000000000f1")
	floorID   = uuid.MustParse("00000000-0000-0000-0000-0000000000f2")
	wingID    = uuid.MustParse("00000000-0000-0000-0000-0000000000f3")
	roomID    = uuid.MustParse("00000000-0000-0000-0000-0000000000f4")
	groupID   = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	staffID   = uuid.MustParse("00000000-0000-0000-0000-0000000000a2")
	office    = &domain.Schedule{Timezone: "Europe/Madrid", Weekly: []domain.WeeklyWindow{
		{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "08:00", To: "18:00"}}}
)

func fold(events []domain.Event) State {
	var s State
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

var (
	created = AreaCreated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Gym",
		AreaType: TypeCommon, ParentAreaID: floorID, AreaUserGroupID: groupID}
	top = AreaCreated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Gym",
		AreaType: TypeCommon, AreaUserGroupID: groupID}
	deleted   = AreaDeleted{AreaID: areaID, AccountID: accountID, PropertyID: propID, ParentAreaID: floorID, AreaUserGroupID: groupID}
	staffList = []AccessEntry{{AccessType: AccessGroup, UserGroupID: staffID, Schedule: office.Clone()}}
	listed    = AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID,
		AccessList: staffList, AccessListVersion: 1}
	floor     = Parent{Found: true, PropertyID: propID}
	abandoned = AreaCreationAbandoned{AreaID: areaID, AccountID: accountID, PropertyID: propID, AreaUserGroupID: groupID}
	abandon   = Abandon{AreaID: areaID, AccountID: accountID, PropertyID: propID, AreaUserGroupID: groupID}
)

func create(mod func(*Create)) Create {
	c := Create{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Gym",
		AreaType: TypeCommon, ParentAreaID: floorID, AreaUserGroupID: groupID, Parent: floor}
	if mod != nil {
		mod(&c)
	}
	return c
}

// update is an Update that changes nothing after created+listed.
func update(mod func(*Update)) Update {
	c := Update{DisplayName: "Gym", AreaType: TypeCommon, ParentAreaID: floorID, Parent: floor,
		AccessList:    []AccessEntry{{AccessType: AccessGroup, UserGroupID: staffID, Schedule: office}},
		KnownGroupIDs: []uuid.UUID{staffID}, KnownAreaIDs: []uuid.UUID{wingID}}
	if mod != nil {
		mod(&c)
	}
	return c
}

func schedule(mod func(*domain.Schedule)) *domain.Schedule {
	s := office.Clone()
	mod(s)
	return s
}

func TestDecide(t *testing.T) {
	t.Parallel()
	given := []domain.Event{created, listed}
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "create", When: create(nil), Then: []domain.Event{created}},
		{Name: "create at the top", When: create(func(c *Create) { c.ParentAreaID, c.Parent = uuid.Nil, Parent{} }),
			Then: []domain.Event{top}},
		{Name: "create twice", Given: []domain.Event{created}, When: create(nil), Err: ErrExists},
		{Name: "create after delete", Given: []domain.Event{created, deleted}, When: create(nil), Err: domain.ErrConflict},
		{Name: "create without id", When: create(func(c *Create) { c.AreaID = uuid.Nil }), Err: domain.ErrInvalid, Field: "areaId"},
		{Name: "create without account", When: create(func(c *Create) { c.AccountID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "create without property", When: create(func(c *Create) { c.PropertyID = uuid.Nil }), Err: domain.ErrInvalid, Field: "propertyId"},
		{Name: "create without group", When: create(func(c *Create) { c.AreaUserGroupID = uuid.Nil }),
			Err: domain.ErrInvalid, Field: "areaUserGroupId"},
		{Name: "create without name", When: create(func(c *Create) { c.DisplayName = "" }), Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create bad type", When: create(func(c *Create) { c.AreaType = "garage" }), Err: domain.ErrInvalid, Field: "areaType"},
		{Name: "create parent unknown", When: create(func(c *Create) { c.Parent = Parent{} }), Err: ErrParentNotFound, Field: "parentAreaId"},
		{Name: "create parent in other property", When: create(func(c *Create) { c.Parent.PropertyID = prop2 }),
			Err: ErrParentInOtherProperty, Field: "parentAreaId"},
		{Name: "create parent in other property is unprocessable", When: create(func(c *Create) { c.Parent.PropertyID = prop2 }),
			Err: domain.ErrUnprocessable},
		{Name: "create under itself", When: create(func(c *Create) { c.ParentAreaID = areaID }), Err: ErrCycle, Field: "parentAreaId"},

		{Name: "abandon a fresh area", When: abandon, Then: []domain.Event{abandoned}},
		{Name: "abandon without group", When: Abandon{AreaID: areaID, AccountID: accountID, PropertyID: propID},
			Err: domain.ErrInvalid, Field: "areaUserGroupId"},
		{Name: "abandon an existing area", Given: given, When: abandon, Err: ErrExists},
		{Name: "abandon a deleted area", Given: []domain.Event{created, deleted}, When: abandon, Err: domain.ErrConflict},
		// A repair cut short between its abandon and its group deletion
		// abandons again on its next pass, then deletes the group.
		{Name: "abandon twice records nothing", Given: []domain.Event{abandoned}, When: abandon},
		{Name: "create after abandon", Given: []domain.Event{abandoned}, When: create(nil), Err: ErrCreationAbandoned},
		{Name: "create after abandon is a conflict", Given: []domain.Event{abandoned}, When: create(nil), Err: domain.ErrConflict},
		{Name: "update after abandon", Given: []domain.Event{abandoned}, When: update(nil), Err: ErrNotFound},
		{Name: "delete after abandon", Given: []domain.Event{abandoned}, When: Delete{}, Err: ErrNotFound},

		{Name: "update unchanged", Given: given, When: update(nil)},
		{Name: "update unchanged with equal schedule copy", Given: given, When: update(func(c *Update) {
			c.AccessList[0].Schedule = office.Clone()
		})},
		{Name: "rename", Given: given, When: update(func(c *Update) { c.DisplayName, c.AreaType = "Spa", TypeStaff }),
			Then: []domain.Event{AreaUpdated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Spa", AreaType: TypeStaff}}},
		{Name: "move", Given: given, When: update(func(c *Update) {
			c.ParentAreaID, c.Parent = wingID, Parent{Found: true, PropertyID: propID, Ancestors: []uuid.UUID{floorID}}
		}),
			Then: []domain.Event{AreaMoved{AreaID: areaID, AccountID: accountID, PropertyID: propID,
				ParentAreaID: wingID, PreviousParentAreaID: floorID}}},
		{Name: "move to the top", Given: given, When: update(func(c *Update) { c.ParentAreaID, c.Parent = uuid.Nil, Parent{} }),
			Then: []domain.Event{AreaMoved{AreaID: areaID, AccountID: accountID, PropertyID: propID, PreviousParentAreaID: floorID}}},
		{Name: "move from the top", Given: []domain.Event{top}, When: update(func(c *Update) { c.AccessList = nil }),
			Then: []domain.Event{AreaMoved{AreaID: areaID, AccountID: accountID, PropertyID: propID, ParentAreaID: floorID}}},
		{Name: "move under a sub-area", Given: given, When: update(func(c *Update) {
			c.ParentAreaID, c.Parent = roomID, Parent{Found: true, PropertyID: propID, Ancestors: []uuid.UUID{wingID, areaID, floorID}}
		}), Err: ErrCycle, Field: "parentAreaId"},
		{Name: "move under itself", Given: given, When: update(func(c *Update) {
			c.ParentAreaID, c.Parent = areaID, Parent{Found: true, PropertyID: propID, Ancestors: []uuid.UUID{floorID}}
		}), Err: domain.ErrUnprocessable, Field: "parentAreaId"},
		{Name: "move to other property", Given: given, When: update(func(c *Update) {
			c.ParentAreaID, c.Parent = wingID, Parent{Found: true, PropertyID: prop2}
		}), Err: ErrParentInOtherProperty, Field: "parentAreaId"},
		{Name: "move under unknown", Given: given, When: update(func(c *Update) { c.ParentAreaID, c.Parent = wingID, Parent{} }),
			Err: ErrParentNotFound, Field: "parentAreaId"},
		{Name: "same parent needs no facts", Given: given, When: update(func(c *Update) { c.Parent = Parent{} })},
		{Name: "first access list", Given: []domain.Event{created}, When: update(nil), Then: []domain.Event{listed}},
		{Name: "access list replaced", Given: given, When: update(func(c *Update) {
			c.AccessList = []AccessEntry{
				{AccessType: AccessArea, AreaID: wingID},
				{AccessType: AccessGroup, UserGroupID: staffID, Schedule: office},
			}
		}),
			Then: []domain.Event{AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID,
				AccessList:        []AccessEntry{{AccessType: AccessArea, AreaID: wingID}, {AccessType: AccessGroup, UserGroupID: staffID, Schedule: office.Clone()}},
				AccessListVersion: 2}}},
		{Name: "access list emptied", Given: given, When: update(func(c *Update) { c.AccessList = nil }),
			Then: []domain.Event{AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID,
				AccessList: []AccessEntry{}, AccessListVersion: 2}}},
		{Name: "schedule changed", Given: given, When: update(func(c *Update) {
			c.AccessList[0].Schedule = schedule(func(s *domain.Schedule) { s.Weekly[0].To = "19:00" })
		}),
			Then: []domain.Event{AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID,
				AccessList: []AccessEntry{{AccessType: AccessGroup, UserGroupID: staffID,
					Schedule: schedule(func(s *domain.Schedule) { s.Weekly[0].To = "19:00" })}}, AccessListVersion: 2}}},
		{Name: "everything at once", Given: given, When: update(func(c *Update) {
			c.DisplayName = "Spa"
			c.ParentAreaID, c.Parent = uuid.Nil, Parent{}
			c.AccessList = nil
		}),
			Then: []domain.Event{
				AreaUpdated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Spa", AreaType: TypeCommon},
				AreaMoved{AreaID: areaID, AccountID: accountID, PropertyID: propID, PreviousParentAreaID: floorID},
				AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID, AccessList: []AccessEntry{}, AccessListVersion: 2},
			}},
		{Name: "unknown access type", Given: given, When: update(func(c *Update) { c.AccessList[0].AccessType = "user" }),
			Err: domain.ErrInvalid, Field: "accessList[0].accessType"},
		{Name: "group entry without group", Given: given, When: update(func(c *Update) { c.AccessList[0].UserGroupID = uuid.Nil }),
			Err: domain.ErrInvalid, Field: "accessList[0].userGroupId"},
		{Name: "group entry with area", Given: given, When: update(func(c *Update) { c.AccessList[0].AreaID = wingID }),
			Err: domain.ErrInvalid, Field: "accessList[0].areaId"},
		{Name: "area entry without area", Given: given, When: update(func(c *Update) {
			c.AccessList = append(c.AccessList, AccessEntry{AccessType: AccessArea})
		}), Err: domain.ErrInvalid, Field: "accessList[1].areaId"},
		{Name: "area entry with group", Given: given, When: update(func(c *Update) {
			c.AccessList = append(c.AccessList, AccessEntry{AccessType: AccessArea, AreaID: wingID, UserGroupID: staffID})
		}), Err: domain.ErrInvalid, Field: "accessList[1].userGroupId"},
		{Name: "bad schedule time", Given: given, When: update(func(c *Update) {
			c.AccessList = []AccessEntry{
				{AccessType: AccessArea, AreaID: wingID},
				{AccessType: AccessArea, AreaID: wingID},
				{AccessType: AccessGroup, UserGroupID: staffID, Schedule: schedule(func(s *domain.Schedule) { s.Weekly[0].From = "8:00" })},
			}
		}), Err: domain.ErrInvalid, Field: "accessList[2].schedule.weekly[0].from"},
		{Name: "schedule from after to", Given: given, When: update(func(c *Update) {
			c.AccessList[0].Schedule = schedule(func(s *domain.Schedule) { s.Weekly[0].From = "19:00" })
		}), Err: domain.ErrInvalid, Field: "accessList[0].schedule.weekly[0].from"},
		{Name: "schedule bad zone", Given: given, When: update(func(c *Update) {
			c.AccessList[0].Schedule = schedule(func(s *domain.Schedule) { s.Timezone = "Mars/Olympus" })
		}), Err: domain.ErrInvalid, Field: "accessList[0].schedule.timezone"},
		{Name: "schedule unknown day", Given: given, When: update(func(c *Update) {
			c.AccessList[0].Schedule = schedule(func(s *domain.Schedule) { s.Weekly[0].Days[1] = "tues" })
		}), Err: domain.ErrInvalid, Field: "accessList[0].schedule.weekly[0].days[1]"},
		{Name: "unknown group", Given: []domain.Event{created}, When: update(func(c *Update) { c.KnownGroupIDs = nil }),
			Err: ErrUnknownGroup, Field: "accessList[0].userGroupId"},
		{Name: "unknown group is unprocessable", Given: []domain.Event{created}, When: update(func(c *Update) { c.KnownGroupIDs = nil }),
			Err: domain.ErrUnprocessable},
		{Name: "a group the list holds stays valid once deleted", Given: given,
			When: update(func(c *Update) { c.KnownGroupIDs, c.DisplayName = nil, "Gym 2" }),
			Then: []domain.Event{AreaUpdated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Gym 2", AreaType: TypeCommon}}},
		{Name: "unknown area", Given: given, When: update(func(c *Update) {
			c.AccessList = append(c.AccessList, AccessEntry{AccessType: AccessArea, AreaID: roomID})
		}), Err: ErrUnknownArea, Field: "accessList[1].areaId"},
		{Name: "shape errors before unknowns", Given: given, When: update(func(c *Update) {
			c.KnownGroupIDs = nil
			c.AccessList = append(c.AccessList, AccessEntry{AccessType: "x"})
		}), Err: domain.ErrInvalid, Field: "accessList[1].accessType"},
		{Name: "too many entries", Given: given, When: update(func(c *Update) { c.AccessList = make([]AccessEntry, MaxAccessList+1) }),
			Err: domain.ErrInvalid, Field: "accessList"},
		{Name: "update bad name", Given: given, When: update(func(c *Update) { c.DisplayName = "\x00" }),
			Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "update missing", When: update(nil), Err: ErrNotFound},
		{Name: "update deleted", Given: []domain.Event{created, deleted}, When: update(nil), Err: domain.ErrNotFound},

		{Name: "delete", Given: given, When: Delete{}, Then: []domain.Event{deleted}},
		{Name: "delete with locks", Given: given, When: Delete{Locks: 1}, Err: ErrAreaHasLocks},
		{Name: "delete with sub-areas", Given: given, When: Delete{SubAreas: 3}, Err: ErrAreaHasSubAreas},
		{Name: "delete with sub-areas is a conflict", Given: given, When: Delete{SubAreas: 1}, Err: domain.ErrConflict},
		{Name: "delete missing", When: Delete{}, Err: ErrNotFound},
		{Name: "delete twice", Given: []domain.Event{created, deleted}, When: Delete{}, Err: domain.ErrNotFound},
	})
}

func TestVersionRisesWithEachChange(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{top})
	lists := [][]AccessEntry{staffList, nil, staffList, staffList}
	want := []int{1, 2, 3, 3}
	for i, l := range lists {
		evs, err := Update{DisplayName: "Gym", AreaType: TypeCommon, AccessList: l, KnownGroupIDs: []uuid.UUID{staffID}}.Decide(s, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			s = Evolve(s, e)
		}
		if s.AccessListVersion() != want[i] {
			t.Fatalf("after change %d: version %d, want %d", i, s.AccessListVersion(), want[i])
		}
	}
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{created, listed})
	if !s.Exists() || s.Deleted() || s.ID() != areaID || s.AccountID() != accountID || s.PropertyID() != propID ||
		s.DisplayName() != "Gym" || s.AreaType() != TypeCommon || s.ParentAreaID() != floorID ||
		s.AreaUserGroupID() != groupID || s.AccessListVersion() != 1 {
		t.Fatalf("state: %+v", s)
	}
	l := s.AccessList()
	if !equalLists(l, staffList) {
		t.Fatalf("access list = %+v", l)
	}
	l[0].Schedule.Weekly[0].Days[0] = "sun"
	if s.AccessList()[0].Schedule.Weekly[0].Days[0] != "mon" {
		t.Fatal("AccessList() exposes the state")
	}
	s = Evolve(s, AreaMoved{AreaID: areaID, PreviousParentAreaID: floorID})
	if s.ParentAreaID() != uuid.Nil {
		t.Fatal("move not applied")
	}
	s = Evolve(s, deleted)
	if s.Exists() || !s.Deleted() || s.Abandoned() {
		t.Fatalf("state after delete: %+v", s)
	}
	s = fold([]domain.Event{abandoned})
	if s.Exists() || s.Deleted() || !s.Abandoned() || s.ID() != uuid.Nil || s.AccountID() != uuid.Nil ||
		s.PropertyID() != uuid.Nil || s.AreaUserGroupID() != uuid.Nil || s.ParentAreaID() != uuid.Nil {
		t.Fatalf("state after abandon: %+v", s)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	from := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	e := AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID, AccessListVersion: 4,
		AccessList: []AccessEntry{
			{AccessType: AccessGroup, UserGroupID: staffID, Schedule: &domain.Schedule{ValidFrom: &from, Weekly: []domain.WeeklyWindow{}}},
			{AccessType: AccessArea, AreaID: wingID},
		}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"areaId":"` + areaID.String() + `","accountId":"` + accountID.String() + `","propertyId":"` + propID.String() + `",` +
		`"accessList":[{"accessType":"group","userGroupId":"` + staffID.String() + `","schedule":{"validFrom":"2024-06-01T00:00:00Z","weekly":[]}},` +
		`{"accessType":"area","areaId":"` + wingID.String() + `","schedule":null}],"accessListVersion":4}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	var back AreaAccessListChanged
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, e) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	b, _ = json.Marshal(top)
	want = `{"areaId":"` + areaID.String() + `","accountId":"` + accountID.String() + `","propertyId":"` + propID.String() +
		`","displayName":"Gym","areaType":"common","areaUserGroupId":"` + groupID.String() + `"}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	b, _ = json.Marshal(abandoned)
	want = `{"areaId":"` + areaID.String() + `","accountId":"` + accountID.String() + `","propertyId":"` + propID.String() +
		`","areaUserGroupId":"` + groupID.String() + `"}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	if len(Events()) != 10 {
		t.Fatal("Events() misses a type")
	}
}

// AreaLockChecked and AreaSubAreaChecked change nothing but the marks, and a state folded
// further never changes the marks of one it came from (states are cached).
func TestLockMarks(t *testing.T) {
	t.Parallel()
	lockA, lockB := uuid.New(), uuid.New()
	s := Evolve(State{}, AreaCreated{AreaID: uuid.New(), AccountID: uuid.New(), PropertyID: uuid.New(),
		DisplayName: "Z", AreaType: TypeCommon, AreaUserGroupID: uuid.New()})
	one := Evolve(s, AreaLockChecked{AreaID: s.ID(), LockID: lockA, LockRevision: 3})
	two := Evolve(one, AreaLockChecked{AreaID: s.ID(), LockID: lockA, LockRevision: 5})
	two = Evolve(two, AreaLockChecked{AreaID: s.ID(), LockID: lockB, LockRevision: 1})
	if !reflect.DeepEqual(one.LockMarks(), map[uuid.UUID]uint64{lockA: 3}) {
		t.Fatalf("one = %v", one.LockMarks())
	}
	if !reflect.DeepEqual(two.LockMarks(), map[uuid.UUID]uint64{lockA: 5, lockB: 1}) {
		t.Fatalf("two = %v", two.LockMarks())
	}
	sub, group := uuid.New(), uuid.New()
	three := Evolve(two, AreaSubAreaChecked{AreaID: s.ID(), SubAreaID: sub, AreaUserGroupID: group})
	if !reflect.DeepEqual(three.SubAreaMarks(), map[uuid.UUID]uuid.UUID{sub: group}) || len(two.SubAreaMarks()) != 0 {
		t.Fatalf("three = %v", three.SubAreaMarks())
	}
	moved, rev := uuid.New(), uint64(7)
	four := Evolve(three, AreaTreeChecked{AreaID: s.ID(), MovedAreaID: uuid.New()})
	four = Evolve(four, AreaTreeChecked{AreaID: s.ID(), MovedAreaID: moved, MovedAreaRevision: &rev})
	if !reflect.DeepEqual(four.MoveMarks(), map[uuid.UUID]uint64{moved: 7}) || len(three.MoveMarks()) != 0 {
		t.Fatalf("four = %v", four.MoveMarks())
	}
	if !two.Exists() || two.DisplayName() != "Z" || len(s.LockMarks()) != 0 {
		t.Fatal("a mark changed the area")
	}
}
