package area

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
	created = AreaCreated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Gym",
		AreaType: TypeCommon, ParentAreaID: floorID, AreaUserGroupID: groupID}
	top = AreaCreated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Gym",
		AreaType: TypeCommon, AreaUserGroupID: groupID}
	deleted   = AreaDeleted{AreaID: areaID, AccountID: accountID, PropertyID: propID, ParentAreaID: floorID, AreaUserGroupID: groupID}
	staffList = []AccessEntry{{AccessType: AccessGroup, UserGroupID: staffID, Schedule: office.Clone()}}
	listed    = AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID,
		AccessList: staffList, AccessListVersion: 1}
	floor = Parent{Found: true, PropertyID: propID}
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
	tests := []struct {
		name  string
		given []domain.Event
		when  decider
		then  []domain.Event
		err   error
		field string
	}{
		{name: "create", when: create(nil), then: []domain.Event{created}},
		{name: "create at the top", when: create(func(c *Create) { c.ParentAreaID, c.Parent = uuid.Nil, Parent{} }),
			then: []domain.Event{top}},
		{name: "create twice", given: []domain.Event{created}, when: create(nil), err: ErrExists},
		{name: "create after delete", given: []domain.Event{created, deleted}, when: create(nil), err: domain.ErrConflict},
		{name: "create without id", when: create(func(c *Create) { c.AreaID = uuid.Nil }), err: domain.ErrInvalid, field: "areaId"},
		{name: "create without account", when: create(func(c *Create) { c.AccountID = uuid.Nil }), err: domain.ErrInvalid, field: "accountId"},
		{name: "create without property", when: create(func(c *Create) { c.PropertyID = uuid.Nil }), err: domain.ErrInvalid, field: "propertyId"},
		{name: "create without group", when: create(func(c *Create) { c.AreaUserGroupID = uuid.Nil }),
			err: domain.ErrInvalid, field: "areaUserGroupId"},
		{name: "create without name", when: create(func(c *Create) { c.DisplayName = "" }), err: domain.ErrInvalid, field: "displayName"},
		{name: "create bad type", when: create(func(c *Create) { c.AreaType = "garage" }), err: domain.ErrInvalid, field: "areaType"},
		{name: "create parent unknown", when: create(func(c *Create) { c.Parent = Parent{} }), err: ErrParentNotFound, field: "parentAreaId"},
		{name: "create parent in other property", when: create(func(c *Create) { c.Parent.PropertyID = prop2 }),
			err: ErrParentInOtherProperty, field: "parentAreaId"},
		{name: "create parent in other property is unprocessable", when: create(func(c *Create) { c.Parent.PropertyID = prop2 }),
			err: domain.ErrUnprocessable},
		{name: "create under itself", when: create(func(c *Create) { c.ParentAreaID = areaID }), err: ErrCycle, field: "parentAreaId"},

		{name: "update unchanged", given: given, when: update(nil)},
		{name: "update unchanged with equal schedule copy", given: given, when: update(func(c *Update) {
			c.AccessList[0].Schedule = office.Clone()
		})},
		{name: "rename", given: given, when: update(func(c *Update) { c.DisplayName, c.AreaType = "Spa", TypeStaff }),
			then: []domain.Event{AreaUpdated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Spa", AreaType: TypeStaff}}},
		{name: "move", given: given, when: update(func(c *Update) {
			c.ParentAreaID, c.Parent = wingID, Parent{Found: true, PropertyID: propID, Ancestors: []uuid.UUID{floorID}}
		}),
			then: []domain.Event{AreaMoved{AreaID: areaID, AccountID: accountID, PropertyID: propID,
				ParentAreaID: wingID, PreviousParentAreaID: floorID}}},
		{name: "move to the top", given: given, when: update(func(c *Update) { c.ParentAreaID, c.Parent = uuid.Nil, Parent{} }),
			then: []domain.Event{AreaMoved{AreaID: areaID, AccountID: accountID, PropertyID: propID, PreviousParentAreaID: floorID}}},
		{name: "move from the top", given: []domain.Event{top}, when: update(func(c *Update) { c.AccessList = nil }),
			then: []domain.Event{AreaMoved{AreaID: areaID, AccountID: accountID, PropertyID: propID, ParentAreaID: floorID}}},
		{name: "move under a sub-area", given: given, when: update(func(c *Update) {
			c.ParentAreaID, c.Parent = roomID, Parent{Found: true, PropertyID: propID, Ancestors: []uuid.UUID{wingID, areaID, floorID}}
		}), err: ErrCycle, field: "parentAreaId"},
		{name: "move under itself", given: given, when: update(func(c *Update) {
			c.ParentAreaID, c.Parent = areaID, Parent{Found: true, PropertyID: propID, Ancestors: []uuid.UUID{floorID}}
		}), err: domain.ErrUnprocessable, field: "parentAreaId"},
		{name: "move to other property", given: given, when: update(func(c *Update) {
			c.ParentAreaID, c.Parent = wingID, Parent{Found: true, PropertyID: prop2}
		}), err: ErrParentInOtherProperty, field: "parentAreaId"},
		{name: "move under unknown", given: given, when: update(func(c *Update) { c.ParentAreaID, c.Parent = wingID, Parent{} }),
			err: ErrParentNotFound, field: "parentAreaId"},
		{name: "same parent needs no facts", given: given, when: update(func(c *Update) { c.Parent = Parent{} })},
		{name: "first access list", given: []domain.Event{created}, when: update(nil), then: []domain.Event{listed}},
		{name: "access list replaced", given: given, when: update(func(c *Update) {
			c.AccessList = []AccessEntry{
				{AccessType: AccessArea, AreaID: wingID},
				{AccessType: AccessGroup, UserGroupID: staffID, Schedule: office},
			}
		}),
			then: []domain.Event{AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID,
				AccessList:        []AccessEntry{{AccessType: AccessArea, AreaID: wingID}, {AccessType: AccessGroup, UserGroupID: staffID, Schedule: office.Clone()}},
				AccessListVersion: 2}}},
		{name: "access list emptied", given: given, when: update(func(c *Update) { c.AccessList = nil }),
			then: []domain.Event{AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID,
				AccessList: []AccessEntry{}, AccessListVersion: 2}}},
		{name: "schedule changed", given: given, when: update(func(c *Update) {
			c.AccessList[0].Schedule = schedule(func(s *domain.Schedule) { s.Weekly[0].To = "19:00" })
		}),
			then: []domain.Event{AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID,
				AccessList: []AccessEntry{{AccessType: AccessGroup, UserGroupID: staffID,
					Schedule: schedule(func(s *domain.Schedule) { s.Weekly[0].To = "19:00" })}}, AccessListVersion: 2}}},
		{name: "everything at once", given: given, when: update(func(c *Update) {
			c.DisplayName = "Spa"
			c.ParentAreaID, c.Parent = uuid.Nil, Parent{}
			c.AccessList = nil
		}),
			then: []domain.Event{
				AreaUpdated{AreaID: areaID, AccountID: accountID, PropertyID: propID, DisplayName: "Spa", AreaType: TypeCommon},
				AreaMoved{AreaID: areaID, AccountID: accountID, PropertyID: propID, PreviousParentAreaID: floorID},
				AreaAccessListChanged{AreaID: areaID, AccountID: accountID, PropertyID: propID, AccessList: []AccessEntry{}, AccessListVersion: 2},
			}},
		{name: "unknown access type", given: given, when: update(func(c *Update) { c.AccessList[0].AccessType = "user" }),
			err: domain.ErrInvalid, field: "accessList[0].accessType"},
		{name: "group entry without group", given: given, when: update(func(c *Update) { c.AccessList[0].UserGroupID = uuid.Nil }),
			err: domain.ErrInvalid, field: "accessList[0].userGroupId"},
		{name: "group entry with area", given: given, when: update(func(c *Update) { c.AccessList[0].AreaID = wingID }),
			err: domain.ErrInvalid, field: "accessList[0].areaId"},
		{name: "area entry without area", given: given, when: update(func(c *Update) {
			c.AccessList = append(c.AccessList, AccessEntry{AccessType: AccessArea})
		}), err: domain.ErrInvalid, field: "accessList[1].areaId"},
		{name: "area entry with group", given: given, when: update(func(c *Update) {
			c.AccessList = append(c.AccessList, AccessEntry{AccessType: AccessArea, AreaID: wingID, UserGroupID: staffID})
		}), err: domain.ErrInvalid, field: "accessList[1].userGroupId"},
		{name: "bad schedule time", given: given, when: update(func(c *Update) {
			c.AccessList = []AccessEntry{
				{AccessType: AccessArea, AreaID: wingID},
				{AccessType: AccessArea, AreaID: wingID},
				{AccessType: AccessGroup, UserGroupID: staffID, Schedule: schedule(func(s *domain.Schedule) { s.Weekly[0].From = "8:00" })},
			}
		}), err: domain.ErrInvalid, field: "accessList[2].schedule.weekly[0].from"},
		{name: "schedule from after to", given: given, when: update(func(c *Update) {
			c.AccessList[0].Schedule = schedule(func(s *domain.Schedule) { s.Weekly[0].From = "19:00" })
		}), err: domain.ErrInvalid, field: "accessList[0].schedule.weekly[0].from"},
		{name: "schedule bad zone", given: given, when: update(func(c *Update) {
			c.AccessList[0].Schedule = schedule(func(s *domain.Schedule) { s.Timezone = "Mars/Olympus" })
		}), err: domain.ErrInvalid, field: "accessList[0].schedule.timezone"},
		{name: "schedule unknown day", given: given, when: update(func(c *Update) {
			c.AccessList[0].Schedule = schedule(func(s *domain.Schedule) { s.Weekly[0].Days[1] = "tues" })
		}), err: domain.ErrInvalid, field: "accessList[0].schedule.weekly[0].days[1]"},
		{name: "unknown group", given: given, when: update(func(c *Update) { c.KnownGroupIDs = nil }),
			err: ErrUnknownGroup, field: "accessList[0].userGroupId"},
		{name: "unknown group is unprocessable", given: given, when: update(func(c *Update) { c.KnownGroupIDs = nil }),
			err: domain.ErrUnprocessable},
		{name: "unknown area", given: given, when: update(func(c *Update) {
			c.AccessList = append(c.AccessList, AccessEntry{AccessType: AccessArea, AreaID: roomID})
		}), err: ErrUnknownArea, field: "accessList[1].areaId"},
		{name: "shape errors before unknowns", given: given, when: update(func(c *Update) {
			c.KnownGroupIDs = nil
			c.AccessList = append(c.AccessList, AccessEntry{AccessType: "x"})
		}), err: domain.ErrInvalid, field: "accessList[1].accessType"},
		{name: "too many entries", given: given, when: update(func(c *Update) { c.AccessList = make([]AccessEntry, MaxAccessList+1) }),
			err: domain.ErrInvalid, field: "accessList"},
		{name: "update bad name", given: given, when: update(func(c *Update) { c.DisplayName = "\x00" }),
			err: domain.ErrInvalid, field: "displayName"},
		{name: "update missing", when: update(nil), err: ErrNotFound},
		{name: "update deleted", given: []domain.Event{created, deleted}, when: update(nil), err: domain.ErrNotFound},

		{name: "delete", given: given, when: Delete{}, then: []domain.Event{deleted}},
		{name: "delete with locks", given: given, when: Delete{Locks: 1}, err: ErrAreaHasLocks},
		{name: "delete with sub-areas", given: given, when: Delete{SubAreas: 3}, err: ErrAreaHasSubAreas},
		{name: "delete with sub-areas is a conflict", given: given, when: Delete{SubAreas: 1}, err: domain.ErrConflict},
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
	if s.Exists() || !s.Deleted() {
		t.Fatalf("state after delete: %+v", s)
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
	if len(Events()) != 5 {
		t.Fatal("Events() misses a type")
	}
}
