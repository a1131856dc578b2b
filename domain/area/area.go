// Package area is the area aggregate: a part of a property (a room, a
// floor, a gym) in a tree of areas, with its own user group and an access
// list granting other groups and areas access to it and its sub-areas.
// Facts about other aggregates (the parent, the groups and areas an access
// list names) are looked up by the handler and passed in the command.
package area

import (
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Category names the aggregate's streams: `area-<id>`.
const Category = "area"

// Type is what kind of space an area is.
type Type string

// The area types of the reference.
const (
	TypeResident Type = "resident"
	TypeCommon   Type = "common"
	TypeStaff    Type = "staff"
)

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t == TypeResident || t == TypeCommon || t == TypeStaff }

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "area not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "area already exists")
	// ErrCreationAbandoned: the area's creation was abandoned (Abandon);
	// its id can never be created.
	ErrCreationAbandoned = domain.NewError(domain.ErrConflict, "the area's creation was abandoned")
	// ErrParentNotFound: the parent area does not exist.
	ErrParentNotFound = domain.NewError(domain.ErrUnprocessable, "the parent area does not exist")
	// ErrParentInOtherProperty: an area's parent is in the same property.
	ErrParentInOtherProperty = domain.NewError(domain.ErrUnprocessable, "the parent area belongs to another property")
	// ErrCycle: an area cannot go under itself or one of its sub-areas.
	ErrCycle = domain.NewError(domain.ErrUnprocessable, "an area cannot be placed under itself or one of its sub-areas")
	// ErrUnknownGroup: an access list names a group not in the property.
	ErrUnknownGroup = domain.NewError(domain.ErrUnprocessable, "no such user group in this property")
	// ErrUnknownArea: an access list names an area not in the property.
	ErrUnknownArea = domain.NewError(domain.ErrUnprocessable, "no such area in this property")
	// ErrAreaHasLocks: an area with installed locks cannot go.
	ErrAreaHasLocks = domain.NewError(domain.ErrConflict, "the area still has installed locks; uninstall them first")
	// ErrAreaHasSubAreas: an area with sub-areas cannot go.
	ErrAreaHasSubAreas = domain.NewError(domain.ErrConflict, "the area still has sub-areas; delete or move them first")
)

// Parent is what the handler found of the area an area is to go under.
type Parent struct {
	// Found: the area exists, not deleted, in the caller's account.
	Found bool
	// PropertyID is the parent's property.
	PropertyID uuid.UUID
	// Ancestors are the parent's own containing areas (any order).
	Ancestors []uuid.UUID
}

// State is an area as its events left it.
type State struct {
	id                uuid.UUID
	accountID         uuid.UUID
	propertyID        uuid.UUID
	displayName       string
	areaType          Type
	parentID          uuid.UUID
	userGroupID       uuid.UUID
	accessList        []AccessEntry
	accessListVersion int
	created           bool
	deleted           bool
	abandoned         bool
	// lockMarks: the lock revision of the last AreaLockChecked of each
	// lock (never changed in place: Evolve copies it).
	lockMarks map[uuid.UUID]uint64
	// subAreaMarks: the own group of each area a creation marked this
	// area for (AreaSubAreaChecked), copied by Evolve as lockMarks.
	subAreaMarks map[uuid.UUID]uuid.UUID
	// moveMarks: the revision of each area a move under this area read
	// (AreaTreeChecked with MovedAreaRevision), copied as lockMarks.
	moveMarks map[uuid.UUID]uint64
}

// Exists reports whether the area was created and not deleted.
func (s State) Exists() bool { return s.created && !s.deleted }

// Deleted reports whether the area was deleted.
func (s State) Deleted() bool { return s.deleted }

// Abandoned reports whether the area's creation was abandoned: it never
// existed and never will.
func (s State) Abandoned() bool { return s.abandoned }

// LockMarks returns, for each lock an install marked this area for
// (AreaLockChecked), the lock's revision that install read (a copy).
func (s State) LockMarks() map[uuid.UUID]uint64 { return maps.Clone(s.lockMarks) }

// SubAreaMarks returns, for each area a creation marked this area for
// (AreaSubAreaChecked), that area's own group (a copy).
func (s State) SubAreaMarks() map[uuid.UUID]uuid.UUID { return maps.Clone(s.subAreaMarks) }

// MoveMarks returns, for each area a move under this area marked it for
// (AreaTreeChecked with MovedAreaRevision), the moved area's revision
// that move read (a copy).
func (s State) MoveMarks() map[uuid.UUID]uint64 { return maps.Clone(s.moveMarks) }

// ID is the area's id.
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account the area belongs to.
func (s State) AccountID() uuid.UUID { return s.accountID }

// PropertyID is the property the area is in.
func (s State) PropertyID() uuid.UUID { return s.propertyID }

// DisplayName is the area's name.
func (s State) DisplayName() string { return s.displayName }

// AreaType is the area's type.
func (s State) AreaType() Type { return s.areaType }

// ParentAreaID is the area directly containing this one, or uuid.Nil.
func (s State) ParentAreaID() uuid.UUID { return s.parentID }

// AreaUserGroupID is the area's own user group.
func (s State) AreaUserGroupID() uuid.UUID { return s.userGroupID }

// AccessList is the area's access list (a deep copy).
func (s State) AccessList() []AccessEntry { return cloneList(s.accessList) }

// AccessListVersion rises by one with every change of the access list.
func (s State) AccessListVersion() int { return s.accessListVersion }

// Create adds an area to a property. The handler picks AreaUserGroupID and
// creates that group (source "area") with the area, and looks up Parent
// when ParentAreaID is set.
type Create struct {
	AreaID          uuid.UUID
	AccountID       uuid.UUID
	PropertyID      uuid.UUID
	DisplayName     string
	AreaType        Type
	ParentAreaID    uuid.UUID
	AreaUserGroupID uuid.UUID
	Parent          Parent
}

// Decide checks the area and its parent and records AreaCreated.
func (c Create) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if s.abandoned {
		return nil, ErrCreationAbandoned
	}
	if s.created {
		return nil, ErrExists
	}
	if err := requireIDs(c.AreaID, c.AccountID, c.PropertyID, c.AreaUserGroupID); err != nil {
		return nil, err
	}
	if err := validFields(c.DisplayName, c.AreaType); err != nil {
		return nil, err
	}
	if c.ParentAreaID != uuid.Nil {
		if err := checkParent(c.AreaID, c.PropertyID, c.ParentAreaID, c.Parent); err != nil {
			return nil, err
		}
	}
	return []domain.Event{AreaCreated{
		AreaID: c.AreaID, AccountID: c.AccountID, PropertyID: c.PropertyID,
		DisplayName: c.DisplayName, AreaType: c.AreaType, ParentAreaID: c.ParentAreaID,
		AreaUserGroupID: c.AreaUserGroupID,
	}}, nil
}

// Abandon gives up for good the creation of an area that never came: the
// repair of a CreateArea cut short between its group and its area records
// it in the area's stream before deleting the group, so that stream alone
// decides whether the repair or a late retry of the CreateArea wins. It is
// accepted only while the area was never created; after it Create is
// refused (ErrCreationAbandoned) and every other command finds no area.
type Abandon struct {
	AreaID          uuid.UUID
	AccountID       uuid.UUID
	PropertyID      uuid.UUID
	AreaUserGroupID uuid.UUID
}

// Decide records AreaCreationAbandoned. Abandoning again records nothing
// and is no error: a repair cut short after abandoning, before deleting
// the group, must get through to the deletion on its next pass.
func (c Abandon) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if s.created {
		return nil, ErrExists
	}
	if s.abandoned {
		return nil, nil
	}
	if err := requireIDs(c.AreaID, c.AccountID, c.PropertyID, c.AreaUserGroupID); err != nil {
		return nil, err
	}
	return []domain.Event{AreaCreationAbandoned{AreaID: c.AreaID, AccountID: c.AccountID, PropertyID: c.PropertyID,
		AreaUserGroupID: c.AreaUserGroupID}}, nil
}

// Update replaces every writable field of the area: its name and type, its
// parent (uuid.Nil: the top of the property) and its whole access list.
// The handler passes Parent when ParentAreaID is set, and which of the
// groups and areas the access list names it found in the area's property.
type Update struct {
	DisplayName   string
	AreaType      Type
	ParentAreaID  uuid.UUID
	AccessList    []AccessEntry
	Parent        Parent
	KnownGroupIDs []uuid.UUID
	KnownAreaIDs  []uuid.UUID
}

// Decide records AreaUpdated when the name or type change, AreaMoved when
// the parent does, AreaAccessListChanged (with the next version) when the
// access list does, and nothing when nothing changes.
func (c Update) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if err := validFields(c.DisplayName, c.AreaType); err != nil {
		return nil, err
	}
	// A group or area the list already names stays valid after it is
	// deleted, so a PUT of the area as read succeeds.
	knownGroups, knownAreas := slices.Clip(c.KnownGroupIDs), slices.Clip(c.KnownAreaIDs)
	for _, e := range s.accessList {
		if e.AccessType == AccessGroup {
			knownGroups = append(knownGroups, e.UserGroupID)
		} else {
			knownAreas = append(knownAreas, e.AreaID)
		}
	}
	if err := validateList(c.AccessList, knownGroups, knownAreas); err != nil {
		return nil, err
	}
	if c.ParentAreaID != s.parentID && c.ParentAreaID != uuid.Nil {
		if err := checkParent(s.id, s.propertyID, c.ParentAreaID, c.Parent); err != nil {
			return nil, err
		}
	}
	ch := domain.NewChanges(s, Evolve)
	if c.DisplayName != s.displayName || c.AreaType != s.areaType {
		ch.Record(AreaUpdated{AreaID: s.id, AccountID: s.accountID, PropertyID: s.propertyID,
			DisplayName: c.DisplayName, AreaType: c.AreaType})
	}
	if c.ParentAreaID != s.parentID {
		ch.Record(AreaMoved{AreaID: s.id, AccountID: s.accountID, PropertyID: s.propertyID,
			ParentAreaID: c.ParentAreaID, PreviousParentAreaID: s.parentID})
	}
	if !equalLists(c.AccessList, s.accessList) {
		ch.Record(AreaAccessListChanged{AreaID: s.id, AccountID: s.accountID, PropertyID: s.propertyID,
			AccessList: cloneList(c.AccessList), AccessListVersion: ch.State().accessListVersion + 1})
	}
	return ch.Events(), nil
}

// Delete removes the area. Locks and SubAreas are how many locks are
// installed in it and how many areas are directly under it, as the
// handler found them; any refuses the delete. The handler then deletes
// the area's own group (group.Delete{WithArea: true}).
type Delete struct {
	Locks    int
	SubAreas int
}

// Decide records AreaDeleted.
func (c Delete) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if c.Locks > 0 {
		return nil, ErrAreaHasLocks
	}
	if c.SubAreas > 0 {
		return nil, ErrAreaHasSubAreas
	}
	return []domain.Event{AreaDeleted{AreaID: s.id, AccountID: s.accountID, PropertyID: s.propertyID,
		ParentAreaID: s.parentID, AreaUserGroupID: s.userGroupID}}, nil
}

// requireIDs checks the ids a creation, or its abandonment, names.
func requireIDs(areaID, accountID, propertyID, areaUserGroupID uuid.UUID) error {
	for _, id := range []struct {
		field string
		id    uuid.UUID
	}{{"areaId", areaID}, {"accountId", accountID}, {"propertyId", propertyID}, {"areaUserGroupId", areaUserGroupID}} {
		if err := domain.RequireID(id.field, id.id); err != nil {
			return err
		}
	}
	return nil
}

func validFields(displayName string, t Type) error {
	if err := domain.ValidateName("displayName", displayName); err != nil {
		return err
	}
	if !t.Valid() {
		return domain.InvalidField("areaType", `must be "resident", "common" or "staff"`)
	}
	return nil
}

// checkParent decides whether area id of property may go under parentID.
func checkParent(id, propertyID, parentID uuid.UUID, p Parent) error {
	switch {
	case parentID == id || slices.Contains(p.Ancestors, id):
		return ErrCycle.At("parentAreaId")
	case !p.Found:
		return ErrParentNotFound.At("parentAreaId")
	case p.PropertyID != propertyID:
		return ErrParentInOtherProperty.At("parentAreaId")
	}
	return nil
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case AreaCreated:
		s = State{
			id:          e.AreaID,
			accountID:   e.AccountID,
			propertyID:  e.PropertyID,
			displayName: e.DisplayName,
			areaType:    e.AreaType,
			parentID:    e.ParentAreaID,
			userGroupID: e.AreaUserGroupID,
			created:     true,
		}
	case AreaUpdated:
		s.displayName, s.areaType = e.DisplayName, e.AreaType
	case AreaMoved:
		s.parentID = e.ParentAreaID
	case AreaAccessListChanged:
		s.accessList, s.accessListVersion = e.AccessList, e.AccessListVersion
	case AreaDeleted:
		s.deleted = true
	case AreaCreationAbandoned:
		// Only the mark: the area has no id, account or group to show,
		// as for one that does not exist.
		s.abandoned = true
	case AreaTreeChecked:
		// A mark (see the event): only the new parent remembers it.
		if e.MovedAreaRevision != nil {
			marks := maps.Clone(s.moveMarks)
			if marks == nil {
				marks = map[uuid.UUID]uint64{}
			}
			marks[e.MovedAreaID] = *e.MovedAreaRevision
			s.moveMarks = marks
		}
	case AreaMoveFenced:
		// A fence only (see the event): nothing changes.
	case AreaLockChecked:
		marks := maps.Clone(s.lockMarks)
		if marks == nil {
			marks = map[uuid.UUID]uint64{}
		}
		marks[e.LockID] = e.LockRevision
		s.lockMarks = marks
	case AreaSubAreaChecked:
		marks := maps.Clone(s.subAreaMarks)
		if marks == nil {
			marks = map[uuid.UUID]uuid.UUID{}
		}
		marks[e.SubAreaID] = e.AreaUserGroupID
		s.subAreaMarks = marks
	}
	return s
}
