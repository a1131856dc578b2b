package apikey

import (
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// APIKeyCreated: a key was registered for an account.
type APIKeyCreated struct {
	APIKeyID       uuid.UUID    `json:"apiKeyId"`
	AccountID      uuid.UUID    `json:"accountId"`
	DisplayName    string       `json:"displayName"`
	KeyHash        string       `json:"keyHash"`
	APIPermissions []Permission `json:"apiPermissions"`
	LockID         uuid.UUID    `json:"lockId,omitzero"`
}

// APIKeyDeleted: a key was revoked; it stops working at once.
type APIKeyDeleted struct {
	APIKeyID  uuid.UUID `json:"apiKeyId"`
	AccountID uuid.UUID `json:"accountId"`
	LockID    uuid.UUID `json:"lockId,omitzero"`
}

// EventType names the event in the log.
func (APIKeyCreated) EventType() string { return "ApiKeyCreated" }

// EventType names the event in the log.
func (APIKeyDeleted) EventType() string { return "ApiKeyDeleted" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event { return []domain.Event{APIKeyCreated{}, APIKeyDeleted{}} }
