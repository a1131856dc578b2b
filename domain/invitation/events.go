package invitation

import (
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Overrides are the changes to a role's permissions: single permissions
// added to it or removed from it, scoped to the same property.
type Overrides struct {
	Add    []domain.Permission `json:"add,omitempty"`
	Remove []domain.Permission `json:"remove,omitempty"`
}

// PropertyInvitationCreated: someone was invited to a property with a
// role. The e-mail is known only as a keyed hash (to find a second
// invitation for it) and sealed (to show it); the one-time token only as
// its hash.
type PropertyInvitationCreated struct {
	InvitationID uuid.UUID `json:"invitationId"`
	AccountID    uuid.UUID `json:"accountId"`
	PropertyID   uuid.UUID `json:"propertyId"`
	EmailHash    string    `json:"emailHash"`
	SealedEmail  string    `json:"sealedEmail,omitempty"`
	Role         Role      `json:"role"`
	Overrides    Overrides `json:"overrides"`
	TokenHash    string    `json:"tokenHash"`
}

// PropertyInvitationWithdrawn: a pending invitation was withdrawn; its
// token no longer works.
type PropertyInvitationWithdrawn struct {
	InvitationID uuid.UUID `json:"invitationId"`
	AccountID    uuid.UUID `json:"accountId"`
	PropertyID   uuid.UUID `json:"propertyId"`
}

// PropertyInvitationAccepted: the invited user accepted and became a
// member of the property with the invitation's role and overrides.
type PropertyInvitationAccepted struct {
	InvitationID uuid.UUID `json:"invitationId"`
	AccountID    uuid.UUID `json:"accountId"`
	PropertyID   uuid.UUID `json:"propertyId"`
	UserID       uuid.UUID `json:"userId"`
	Role         Role      `json:"role"`
	Overrides    Overrides `json:"overrides"`
}

// PropertyMemberUpdated: a member's role or overrides were replaced.
type PropertyMemberUpdated struct {
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
	UserID     uuid.UUID `json:"userId"`
	Role       Role      `json:"role"`
	Overrides  Overrides `json:"overrides"`
}

// PropertyMemberRemoved: a member left the property.
type PropertyMemberRemoved struct {
	AccountID  uuid.UUID `json:"accountId"`
	PropertyID uuid.UUID `json:"propertyId"`
	UserID     uuid.UUID `json:"userId"`
}

// EventType names the event in the log.
func (PropertyInvitationCreated) EventType() string { return "PropertyInvitationCreated" }

// EventType names the event in the log.
func (PropertyInvitationWithdrawn) EventType() string { return "PropertyInvitationWithdrawn" }

// EventType names the event in the log.
func (PropertyInvitationAccepted) EventType() string { return "PropertyInvitationAccepted" }

// EventType names the event in the log.
func (PropertyMemberUpdated) EventType() string { return "PropertyMemberUpdated" }

// EventType names the event in the log.
func (PropertyMemberRemoved) EventType() string { return "PropertyMemberRemoved" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event {
	return []domain.Event{PropertyInvitationCreated{}, PropertyInvitationWithdrawn{}, PropertyInvitationAccepted{},
		PropertyMemberUpdated{}, PropertyMemberRemoved{}}
}
