package property

import (
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// PropertyCreated: a property was added to an account.
type PropertyCreated struct {
	PropertyID       uuid.UUID            `json:"propertyId"`
	AccountID        uuid.UUID            `json:"accountId"`
	DisplayName      string               `json:"displayName"`
	Address          *domain.Address      `json:"address,omitempty"`
	Timezone         string               `json:"timezone"`
	AccessManagerIDs []uuid.UUID          `json:"accessManagerIds"`
	ExternalRefs     []domain.ExternalRef `json:"externalRefs,omitempty"`
	// BookingSettings are absent from events recorded before properties
	// had them: the defaults apply.
	BookingSettings *BookingSettings `json:"bookingSettings,omitempty"`
}

// PropertyUpdated: every writable field of the property was replaced.
type PropertyUpdated struct {
	PropertyID       uuid.UUID            `json:"propertyId"`
	AccountID        uuid.UUID            `json:"accountId"`
	DisplayName      string               `json:"displayName"`
	Address          *domain.Address      `json:"address,omitempty"`
	Timezone         string               `json:"timezone"`
	AccessManagerIDs []uuid.UUID          `json:"accessManagerIds"`
	ExternalRefs     []domain.ExternalRef `json:"externalRefs,omitempty"`
	// BookingSettings are absent from events recorded before properties
	// had them: the defaults apply.
	BookingSettings *BookingSettings `json:"bookingSettings,omitempty"`
}

// PropertyDeleted: the property was removed from its account.
type PropertyDeleted struct {
	PropertyID uuid.UUID `json:"propertyId"`
	AccountID  uuid.UUID `json:"accountId"`
}

// EventType names the event in the log.
func (PropertyCreated) EventType() string { return "PropertyCreated" }

// EventType names the event in the log.
func (PropertyUpdated) EventType() string { return "PropertyUpdated" }

// EventType names the event in the log.
func (PropertyDeleted) EventType() string { return "PropertyDeleted" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event {
	return []domain.Event{PropertyCreated{}, PropertyUpdated{}, PropertyDeleted{}}
}
