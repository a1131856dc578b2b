package area

import (
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// AreaCreated: an area was added to a property, under ParentAreaID (nil:
// at the top), with its own user group AreaUserGroupID.
type AreaCreated struct {
	AreaID          uuid.UUID `json:"areaId"`
	AccountID       uuid.UUID `json:"accountId"`
	PropertyID      uuid.UUID `json:"propertyId"`
	DisplayName     string    `json:"displayName"`
	AreaType        Type      `json:"areaType"`
	ParentAreaID    uuid.UUID `json:"parentAreaId,omitzero"`
	AreaUserGroupID uuid.UUID `json:"areaUserGroupId"`
}

// AreaUpdated: the area's name and type were replaced.
type AreaUpdated struct {
	AreaID      uuid.UUID `json:"areaId"`
	AccountID   uuid.UUID `json:"accountId"`
	PropertyID  uuid.UUID `json:"propertyId"`
	DisplayName string    `json:"displayName"`
	AreaType    Type      `json:"areaType"`
}

// AreaMoved: the area went from under PreviousParentAreaID to under
// ParentAreaID (either nil: the top of the property), with its sub-areas.
type AreaMoved struct {
	AreaID               uuid.UUID `json:"areaId"`
	AccountID            uuid.UUID `json:"accountId"`
	PropertyID           uuid.UUID `json:"propertyId"`
	ParentAreaID         uuid.UUID `json:"parentAreaId,omitzero"`
	PreviousParentAreaID uuid.UUID `json:"previousParentAreaId,omitzero"`
}

// AreaAccessListChanged: the area's access list was replaced as a whole;
// AccessListVersion is its new version.
type AreaAccessListChanged struct {
	AreaID            uuid.UUID     `json:"areaId"`
	AccountID         uuid.UUID     `json:"accountId"`
	PropertyID        uuid.UUID     `json:"propertyId"`
	AccessList        []AccessEntry `json:"accessList"`
	AccessListVersion int           `json:"accessListVersion"`
}

// AreaDeleted: the area was removed from under ParentAreaID; its own group
// AreaUserGroupID goes with it.
type AreaDeleted struct {
	AreaID          uuid.UUID `json:"areaId"`
	AccountID       uuid.UUID `json:"accountId"`
	PropertyID      uuid.UUID `json:"propertyId"`
	ParentAreaID    uuid.UUID `json:"parentAreaId,omitzero"`
	AreaUserGroupID uuid.UUID `json:"areaUserGroupId"`
}

// AreaCreationAbandoned: the area was never created and never will be. A
// CreateArea cut short between its two appends left its own group
// AreaUserGroupID without it, and the repair gave the area up before
// deleting that group; the area's id stays taken, so a late retry of the
// CreateArea is refused rather than making an area without its group.
type AreaCreationAbandoned struct {
	AreaID          uuid.UUID `json:"areaId"`
	AccountID       uuid.UUID `json:"accountId"`
	PropertyID      uuid.UUID `json:"propertyId"`
	AreaUserGroupID uuid.UUID `json:"areaUserGroupId"`
}

// AreaTreeChecked: a move of another area (MovedAreaID) read this area
// as the new parent or one of its ancestors, to make sure the move makes
// no cycle, and marked it so: the mark is appended at the revision read,
// so a concurrent change of this area (its own move) fails its append and
// decides again, seeing the move. It changes nothing; a mark whose move
// was then refused, or never appended (a crash), is harmless.
type AreaTreeChecked struct {
	AreaID      uuid.UUID `json:"areaId"`
	AccountID   uuid.UUID `json:"accountId"`
	PropertyID  uuid.UUID `json:"propertyId"`
	MovedAreaID uuid.UUID `json:"movedAreaId"`
	// MovedAreaRevision, on the mark of the new parent only, is the
	// moved area's revision the move read and appends AreaMoved at: a
	// deletion of this area reads the moved area to settle the mark.
	MovedAreaRevision *uint64 `json:"movedAreaRevision,omitempty"`
}

// AreaMoveFenced: a deletion of area ParentAreaID found a move of this
// area under it marked (AreaTreeChecked with MovedAreaRevision) but not
// appended, and appended this at the revision the move read: the move's
// own append then fails and it is decided again, finding the parent gone
// (a move cut short by a crash never comes). It changes nothing.
type AreaMoveFenced struct {
	AreaID       uuid.UUID `json:"areaId"`
	AccountID    uuid.UUID `json:"accountId"`
	PropertyID   uuid.UUID `json:"propertyId"`
	ParentAreaID uuid.UUID `json:"parentAreaId"`
}

// AreaLockChecked: an install of lock LockID into this area read the
// area, found it, and marked it so at the revision read, before appending
// its LockInstalled to the lock's stream at LockRevision: a deletion of
// the area in between fails the mark (the install reads again and finds
// no area), and a deletion after the mark sees it and reads the lock
// (see DeleteArea). It changes nothing but what the area remembers of
// the marks; a mark whose install never came is settled by the deletion.
type AreaLockChecked struct {
	AreaID       uuid.UUID `json:"areaId"`
	AccountID    uuid.UUID `json:"accountId"`
	PropertyID   uuid.UUID `json:"propertyId"`
	LockID       uuid.UUID `json:"lockId"`
	LockRevision uint64    `json:"lockRevision"`
}

// AreaSubAreaChecked: a creation of area SubAreaID (with its own group
// AreaUserGroupID) under this area read it, found it, and marked it so
// at the revision read, before appending AreaCreated to the new area's
// stream: a deletion of this area in between fails the mark (the creation
// reads again and finds no parent), and a deletion after the mark sees it
// and reads the new area (see DeleteArea). It changes nothing but what
// the area remembers of the marks; a mark whose area never came is
// settled by the deletion, which abandons that area's creation.
type AreaSubAreaChecked struct {
	AreaID          uuid.UUID `json:"areaId"`
	AccountID       uuid.UUID `json:"accountId"`
	PropertyID      uuid.UUID `json:"propertyId"`
	SubAreaID       uuid.UUID `json:"subAreaId"`
	AreaUserGroupID uuid.UUID `json:"areaUserGroupId"`
}

// EventType names the event in the log.
func (AreaCreated) EventType() string { return "AreaCreated" }

// EventType names the event in the log.
func (AreaUpdated) EventType() string { return "AreaUpdated" }

// EventType names the event in the log.
func (AreaMoved) EventType() string { return "AreaMoved" }

// EventType names the event in the log.
func (AreaAccessListChanged) EventType() string { return "AreaAccessListChanged" }

// EventType names the event in the log.
func (AreaDeleted) EventType() string { return "AreaDeleted" }

// EventType names the event in the log.
func (AreaCreationAbandoned) EventType() string { return "AreaCreationAbandoned" }

// EventType names the event in the log.
func (AreaTreeChecked) EventType() string { return "AreaTreeChecked" }

// EventType names the event in the log.
func (AreaLockChecked) EventType() string { return "AreaLockChecked" }

// EventType names the event in the log.
func (AreaSubAreaChecked) EventType() string { return "AreaSubAreaChecked" }

// EventType names the event in the log.
func (AreaMoveFenced) EventType() string { return "AreaMoveFenced" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event {
	return []domain.Event{AreaCreated{}, AreaUpdated{}, AreaMoved{}, AreaAccessListChanged{}, AreaDeleted{},
		AreaCreationAbandoned{}, AreaTreeChecked{}, AreaLockChecked{}, AreaSubAreaChecked{}, AreaMoveFenced{}}
}

// Guard marks AreaTreeChecked as a guard: it changes no state (eventstore.Guard).
func (AreaTreeChecked) Guard() {}

// Guard marks AreaMoveFenced as a guard: it changes no state (eventstore.Guard).
func (AreaMoveFenced) Guard() {}

// Guard marks AreaLockChecked as a guard: it changes no state (eventstore.Guard).
func (AreaLockChecked) Guard() {}

// Guard marks AreaSubAreaChecked as a guard: it changes no state (eventstore.Guard).
func (AreaSubAreaChecked) Guard() {}
