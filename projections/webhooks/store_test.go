package webhooks_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/webhooks"
)

func TestStoreTenancyPagingAndIdempotence(t *testing.T) {
	f := newFixture(t)
	store := webhooks.NewStore(f.db)
	var ids []uuid.UUID
	for range 3 {
		ids = append(ids, f.register("https://hooks.example.com/in", "LockInstalled"))
	}
	// Applying an event again (re-processing) changes nothing.
	again := eventstore.Envelope{Type: "WebhookRegistered", Position: 99, Known: true,
		Event: webhook.WebhookRegistered{WebhookID: ids[0], AccountID: uuid.New(), URL: "https://elsewhere.example.com/"}}
	f.inTx(func(tx projections.Tx) error { return webhooks.New().Apply(f.ctx, tx, again) })

	got, err := store.Webhook(f.ctx, f.account, ids[0])
	require.NoError(t, err)
	require.Equal(t, "https://hooks.example.com/in", got.URL)
	require.Equal(t, []string{"LockInstalled"}, got.EventTypes)
	_, err = store.Webhook(f.ctx, uuid.New(), ids[0])
	require.ErrorIs(t, err, domain.ErrNotFound, "another account's webhook is not found")

	f.apply(webhook.WebhookDeleted{WebhookID: ids[1], AccountID: f.account})
	_, err = store.Webhook(f.ctx, f.account, ids[1])
	require.ErrorIs(t, err, webhook.ErrNotFound)

	page, next, err := store.Webhooks(f.ctx, f.account, 0, 1)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{ids[0]}, idsOf(page))
	require.NotZero(t, next)
	page, next, err = store.Webhooks(f.ctx, f.account, next, 1)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{ids[2]}, idsOf(page), "the deleted webhook is skipped")
	require.Zero(t, next)
	page, _, err = store.Webhooks(f.ctx, uuid.New(), 0, 10)
	require.NoError(t, err)
	require.Empty(t, page)
}

func idsOf(hooks []webhooks.Webhook) []uuid.UUID {
	var out []uuid.UUID
	for _, h := range hooks {
		out = append(out, h.WebhookID)
	}
	return out
}
