package user

import (
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
)

// UserCreated: a user was added to an account. SealedPrivate is the
// personal data sealed with the user's key (empty when there is none).
type UserCreated struct {
	UserID          uuid.UUID            `json:"userId"`
	AccountID       uuid.UUID            `json:"accountId"`
	DisplayName     string               `json:"displayName"`
	UserPermissions []apikey.Permission  `json:"userPermissions"`
	ExternalRefs    []domain.ExternalRef `json:"externalRefs,omitempty"`
	SealedPrivate   string               `json:"sealedPrivate,omitempty"`
}

// UserUpdated: every writable field of the user was replaced.
type UserUpdated struct {
	UserID          uuid.UUID            `json:"userId"`
	AccountID       uuid.UUID            `json:"accountId"`
	DisplayName     string               `json:"displayName"`
	UserPermissions []apikey.Permission  `json:"userPermissions"`
	ExternalRefs    []domain.ExternalRef `json:"externalRefs,omitempty"`
	SealedPrivate   string               `json:"sealedPrivate,omitempty"`
}

// UserDeleted: the user was removed; their key is erased with them.
type UserDeleted struct {
	UserID    uuid.UUID `json:"userId"`
	AccountID uuid.UUID `json:"accountId"`
}

// EventType names the event in the log.
func (UserCreated) EventType() string { return "UserCreated" }

// EventType names the event in the log.
func (UserUpdated) EventType() string { return "UserUpdated" }

// EventType names the event in the log.
func (UserDeleted) EventType() string { return "UserDeleted" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event { return []domain.Event{UserCreated{}, UserUpdated{}, UserDeleted{}} }
