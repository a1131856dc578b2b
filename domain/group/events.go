package group

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// UserGroupCreated: a user group was added to a property. AreaID is the
// area whose own group it is (GroupSource "area"), else nil.
type UserGroupCreated struct {
	UserGroupID uuid.UUID `json:"userGroupId"`
	AccountID   uuid.UUID `json:"accountId"`
	PropertyID  uuid.UUID `json:"propertyId"`
	DisplayName string    `json:"displayName"`
	GroupType   Type      `json:"groupType"`
	GroupSource Source    `json:"groupSource"`
	AreaID      uuid.UUID `json:"areaId,omitzero"`
}

// UserGroupUpdated: the group's writable fields were replaced.
type UserGroupUpdated struct {
	UserGroupID uuid.UUID `json:"userGroupId"`
	AccountID   uuid.UUID `json:"accountId"`
	PropertyID  uuid.UUID `json:"propertyId"`
	DisplayName string    `json:"displayName"`
	GroupType   Type      `json:"groupType"`
}

// UserGroupDeleted: the group was removed, and every membership with it.
type UserGroupDeleted struct {
	UserGroupID uuid.UUID `json:"userGroupId"`
	AccountID   uuid.UUID `json:"accountId"`
	PropertyID  uuid.UUID `json:"propertyId"`
	GroupSource Source    `json:"groupSource"`
	AreaID      uuid.UUID `json:"areaId,omitzero"`
}

// UserAddedToGroup: a user became a member of the group, from ValidFrom
// (nil: now) until ValidUntil (nil: until removed). BookingID names the
// booking whose check-in made the membership (a guest's stay), so key maps
// and audits can say so; omitted otherwise, and absent from events written
// before it existed.
type UserAddedToGroup struct {
	UserGroupID uuid.UUID  `json:"userGroupId"`
	AccountID   uuid.UUID  `json:"accountId"`
	PropertyID  uuid.UUID  `json:"propertyId"`
	UserID      uuid.UUID  `json:"userId"`
	ValidFrom   *time.Time `json:"validFrom,omitempty"`
	ValidUntil  *time.Time `json:"validUntil,omitempty"`
	BookingID   uuid.UUID  `json:"bookingId,omitzero"`
}

// UserGroupMembershipChanged: a member's window was replaced (and with it
// the booking it is for, if any: see UserAddedToGroup).
type UserGroupMembershipChanged struct {
	UserGroupID uuid.UUID  `json:"userGroupId"`
	AccountID   uuid.UUID  `json:"accountId"`
	PropertyID  uuid.UUID  `json:"propertyId"`
	UserID      uuid.UUID  `json:"userId"`
	ValidFrom   *time.Time `json:"validFrom,omitempty"`
	ValidUntil  *time.Time `json:"validUntil,omitempty"`
	BookingID   uuid.UUID  `json:"bookingId,omitzero"`
}

// UserRemovedFromGroup: a user stopped being a member of the group.
type UserRemovedFromGroup struct {
	UserGroupID uuid.UUID `json:"userGroupId"`
	AccountID   uuid.UUID `json:"accountId"`
	PropertyID  uuid.UUID `json:"propertyId"`
	UserID      uuid.UUID `json:"userId"`
}

// EventType names the event in the log.
func (UserGroupCreated) EventType() string { return "UserGroupCreated" }

// EventType names the event in the log.
func (UserGroupUpdated) EventType() string { return "UserGroupUpdated" }

// EventType names the event in the log.
func (UserGroupDeleted) EventType() string { return "UserGroupDeleted" }

// EventType names the event in the log.
func (UserAddedToGroup) EventType() string { return "UserAddedToGroup" }

// EventType names the event in the log.
func (UserGroupMembershipChanged) EventType() string { return "UserGroupMembershipChanged" }

// EventType names the event in the log.
func (UserRemovedFromGroup) EventType() string { return "UserRemovedFromGroup" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event {
	return []domain.Event{UserGroupCreated{}, UserGroupUpdated{}, UserGroupDeleted{},
		UserAddedToGroup{}, UserGroupMembershipChanged{}, UserRemovedFromGroup{}}
}
