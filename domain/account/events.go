package account

import (
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// AccountCreated: an account was opened, by bootstrap or by a reseller
// (ParentAccountID set).
type AccountCreated struct {
	AccountID       uuid.UUID `json:"accountId"`
	DisplayName     string    `json:"displayName"`
	ParentAccountID uuid.UUID `json:"parentAccountId,omitzero"`
}

// AccountUpdated: the account's writable fields were replaced.
type AccountUpdated struct {
	AccountID   uuid.UUID `json:"accountId"`
	DisplayName string    `json:"displayName"`
}

// EventType names the event in the log.
func (AccountCreated) EventType() string { return "AccountCreated" }

// EventType names the event in the log.
func (AccountUpdated) EventType() string { return "AccountUpdated" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event { return []domain.Event{AccountCreated{}, AccountUpdated{}} }
