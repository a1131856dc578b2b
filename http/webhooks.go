package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/projections/webhooks"
	"github.com/accessd/accessd/queries"
)

// Webhooks reads an account's webhooks and their deliveries, and queues a
// failed delivery again (webhooks.Delivery is one).
type Webhooks interface {
	Webhook(ctx context.Context, accountID, webhookID uuid.UUID) (webhooks.Webhook, error)
	Webhooks(ctx context.Context, accountID uuid.UUID, after uint64, size int) ([]webhooks.Webhook, uint64, error)
	Deliveries(ctx context.Context, webhookID uuid.UUID, before uint64, size int) ([]webhooks.DeliveryRecord, uint64, error)
	Replay(ctx context.Context, webhookID, deliveryID uuid.UUID) error
	// PrivateTargetsAllowed is the server's setting: whether a webhook URL
	// may name an internal IP address (loopback, private, link-local...).
	PrivateTargetsAllowed() bool
}

var errNoWebhooks = domain.NewError(domain.ErrNotFound, "webhooks are not enabled on this server")

func (a *API) webhookRoutes() []route {
	return []route{
		{method: "POST", path: "/accounts/webhooks", operation: "createWebhook", summary: "Register a webhook {url, eventTypes}; its signing secret is answered once (owner).", handler: a.withWebhooks(a.createWebhook)},
		{method: "GET", path: "/accounts/webhooks", operation: "listWebhooks", summary: "List the account's webhooks, without secrets (owner).", handler: a.listWebhooks},
		{method: "DELETE", path: "/accounts/webhooks/{webhookId}", operation: "deleteWebhook", summary: "Delete a webhook; nothing more is delivered to it (owner).", handler: a.withWebhooks(a.deleteByID("webhookId", "webhookId", a.cmd.DeleteWebhook))},
		{method: "GET", path: "/accounts/webhooks/{webhookId}/deliveries", operation: "listWebhookDeliveries", summary: "A webhook's deliveries, newest first, with their status and attempts (owner).", handler: a.listWebhookDeliveries},
		{method: "POST", path: "/accounts/webhooks/{webhookId}/deliveries/{deliveryId}/replay", operation: "replayWebhookDelivery", summary: "Queue a failed delivery again (owner).", handler: a.replayWebhookDelivery},
	}
}

// withWebhooks answers 404 on a server that does not deliver webhooks, so
// none is registered there in vain.
func (a *API) withWebhooks(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.webhooks == nil {
			writeErr(w, r, errNoWebhooks)
			return
		}
		next(w, r)
	}
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL        string   `json:"url"`
		EventTypes []string `json:"eventTypes"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	hook, err := a.cmd.RegisterWebhook(r.Context(), commands.RegisterWebhook{URL: in.URL, EventTypes: in.EventTypes,
		AllowPrivateTargets: a.webhooks.PrivateTargetsAllowed()})
	if err == nil {
		err = a.settle(r.Context(), hook.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusCreated, struct {
		WebhookID  uuid.UUID `json:"webhookId"`
		Secret     string    `json:"secret"`
		URL        string    `json:"url"`
		EventTypes []string  `json:"eventTypes"`
		CreatedAt  time.Time `json:"createdAt"`
	}{hook.WebhookID, hook.Secret, hook.URL, hook.EventTypes, hook.CreatedAt})
}

// webhooksFor checks that the caller is an owner and the server delivers
// webhooks.
func (a *API) webhooksFor(r *http.Request) error {
	if err := requireOwner(r); err != nil {
		return err
	}
	if a.webhooks == nil {
		return errNoWebhooks
	}
	return nil
}

// webhookPage is webhooksFor for a list: with its page parameters.
func (a *API) webhookPage(r *http.Request) (queries.Page, error) {
	if err := a.webhooksFor(r); err != nil {
		return queries.Page{}, err
	}
	return a.pageOf(r)
}

// pageToken is the token of the page after page, which ends at next;
// "" on the last.
func pageToken(page queries.Page, next uint64) string {
	if next == 0 {
		return ""
	}
	return page.Token(next)
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) {
	page, err := a.webhookPage(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	hooks, next, err := a.webhooks.Webhooks(r.Context(), actorOf(r).AccountID, page.After, page.Size)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if hooks == nil {
		hooks = []webhooks.Webhook{}
	}
	writeData(w, http.StatusOK, struct {
		Webhooks  []webhooks.Webhook `json:"webhooks"`
		PageToken string             `json:"pageToken,omitempty"`
	}{hooks, pageToken(page, next)})
}

// ownWebhook reads the path's webhook if it is the caller's account's.
func (a *API) ownWebhook(r *http.Request) (uuid.UUID, error) {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return uuid.Nil, err
	}
	if _, err := a.webhooks.Webhook(r.Context(), actorOf(r).AccountID, id); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

func (a *API) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	page, err := a.webhookPage(r)
	var id uuid.UUID
	if err == nil {
		id, err = a.ownWebhook(r)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	list, next, err := a.webhooks.Deliveries(r.Context(), id, page.After, page.Size)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if list == nil {
		list = []webhooks.DeliveryRecord{}
	}
	writeData(w, http.StatusOK, struct {
		Deliveries []webhooks.DeliveryRecord `json:"deliveries"`
		PageToken  string                    `json:"pageToken,omitempty"`
	}{list, pageToken(page, next)})
}

func (a *API) replayWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	err := a.webhooksFor(r)
	if err == nil {
		err = decodeOptionalBody(r, &noInput{})
	}
	var hook, delivery uuid.UUID
	if err == nil {
		hook, err = a.ownWebhook(r)
	}
	if err == nil {
		delivery, err = pathID(r, "deliveryId")
	}
	if err == nil {
		err = a.webhooks.Replay(r.Context(), hook, delivery)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusAccepted, map[string]string{"webhookId": hook.String(), "deliveryId": delivery.String()})
}
