package webhook

import (
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// WebhookRegistered: an account asked for the events of eventTypes to be
// POSTed to url. The signing secret is not part of it: the server derives
// it from the webhook id, so the log never holds it.
type WebhookRegistered struct {
	WebhookID  uuid.UUID `json:"webhookId"`
	AccountID  uuid.UUID `json:"accountId"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"eventTypes"`
	CreatedAt  time.Time `json:"createdAt"`
}

// WebhookDeleted: the webhook was removed; nothing more is delivered to it.
type WebhookDeleted struct {
	WebhookID uuid.UUID `json:"webhookId"`
	AccountID uuid.UUID `json:"accountId"`
}

// EventType names the event in the log.
func (WebhookRegistered) EventType() string { return "WebhookRegistered" }

// EventType names the event in the log.
func (WebhookDeleted) EventType() string { return "WebhookDeleted" }

// Events lists every event type of the package, for registration.
func Events() []domain.Event { return []domain.Event{WebhookRegistered{}, WebhookDeleted{}} }
