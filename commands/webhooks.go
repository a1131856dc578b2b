package commands

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/webhook"
)

// webhookAgg loads webhooks by stream.
var webhookAgg = Aggregate[webhook.State]{Category: webhook.Category, Evolve: webhook.Evolve}

// RegisterWebhook asks for the events of EventTypes (names as GET /events
// shows them) to be POSTed to URL.
type RegisterWebhook struct {
	URL        string
	EventTypes []string
	// AllowPrivateTargets is the server's setting (not the caller's): it
	// accepts a URL whose host is an internal IP address.
	AllowPrivateTargets bool
}

// NewWebhook is a registered webhook; Secret is answered this once.
type NewWebhook struct {
	WebhookID uuid.UUID
	Secret    string
	URL       string
	// EventTypes and CreatedAt are as recorded.
	EventTypes []string
	CreatedAt  time.Time
	Result
}

// RegisterWebhook registers a webhook for the actor's account (owner only:
// a webhook receives the account's events).
func (s *Service) RegisterWebhook(ctx context.Context, c RegisterWebhook) (NewWebhook, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermOwner)
	if err != nil {
		return NewWebhook{}, err
	}
	webhookID, err := s.newRootID(ctx, "webhook", webhook.Category)
	if err != nil {
		return NewWebhook{}, err
	}
	cmd := webhook.Register{
		WebhookID: webhookID, AccountID: actor.AccountID,
		URL: c.URL, EventTypes: c.EventTypes, KnownEventTypes: s.p.registry.RecordTypes(),
		AllowPrivateTargets: c.AllowPrivateTargets,
	}
	res, err := Run(ctx, s.p, webhookAgg, cmd.WebhookID, "RegisterWebhook", cmd)
	if err != nil {
		return NewWebhook{}, err
	}
	out := NewWebhook{WebhookID: cmd.WebhookID, Secret: s.WebhookSecret(cmd.WebhookID), Result: res}
	// A replayed (Idempotency-Key) request answers what the first recorded.
	for _, e := range res.Events {
		if reg, ok := e.(webhook.WebhookRegistered); ok {
			out.URL, out.EventTypes, out.CreatedAt = reg.URL, reg.EventTypes, reg.CreatedAt
		}
	}
	return out, nil
}

// DeleteWebhook removes a webhook of the actor's account; another account's
// webhook is not found.
func (s *Service) DeleteWebhook(ctx context.Context, id uuid.UUID) (Result, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermOwner)
	if err != nil {
		return Result{}, err
	}
	return Execute(ctx, s.p, webhookAgg, id, "DeleteWebhook", func(l Loaded[webhook.State], now time.Time) ([]domain.Event, error) {
		if l.State.AccountID() != actor.AccountID {
			return nil, webhook.ErrNotFound
		}
		return webhook.Delete{}.Decide(l.State, now)
	})
}

// webhookSecretLabel keeps webhook secrets apart from every other value
// derived from the server's key (API key secrets use "apikey\x00").
const webhookSecretLabel = "webhook:"

// WebhookSecret is the signing secret of a webhook: hex(HMAC-SHA256(server
// key, "webhook:" + id)). Deriving it keeps it out of the event log while
// the delivery side can compute it again; only the server key knows it.
func (s *Service) WebhookSecret(id uuid.UUID) string {
	mac := hmac.New(sha256.New, s.secretKey)
	mac.Write([]byte(webhookSecretLabel + id.String()))
	return hex.EncodeToString(mac.Sum(nil))
}
