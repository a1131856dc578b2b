package webhooks_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/webhooks"
)

// A deliveries table made before the retry schedule gains its columns when
// a server starts on it; a read-only server reads it as it is, and does
// not deliver from it.
func TestDeliveriesTableOfAnEarlierVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "readmodels.db")
	db, err := projections.OpenSQLite(ctx, path)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `CREATE TABLE webhook_deliveries (delivery_id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL,
		account_id TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL, position BIGINT NOT NULL,
		payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
		last_attempt_at BIGINT, delivered_at BIGINT, created_at BIGINT NOT NULL)`)
	require.NoError(t, err)
	hook := uuid.New()
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_deliveries (delivery_id, webhook_id, account_id, event_id, event_type,
		position, payload, status, attempts, created_at) VALUES (?, ?, ?, ?, 'LockInstalled', 7, '{}', 'pending', 3, 0)`,
		uuid.NewString(), hook.String(), uuid.NewString(), uuid.NewString())
	require.NoError(t, err)
	require.NoError(t, db.Close())
	pubsub := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	t.Cleanup(func() { pubsub.Close() })

	ro, err := projections.OpenSQLiteReadOnly(ctx, path)
	require.NoError(t, err)
	d, err := webhooks.NewDelivery(ctx, ro, pubsub, pubsub, secretFor)
	require.NoError(t, err)
	got, _, err := d.Deliveries(ctx, hook, 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, 3, got[0].Attempts)
	require.Nil(t, got[0].NextAttemptAt)
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	require.NoError(t, err)
	require.Error(t, d.AddHandlers(router), "no delivering from a table without the schedule")
	require.NoError(t, ro.Close())

	db, err = projections.OpenSQLite(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	for range 2 { // a second start finds the columns there
		d, err = webhooks.NewDelivery(ctx, db, pubsub, pubsub, secretFor)
		require.NoError(t, err)
	}
	got, _, err = d.Deliveries(ctx, hook, 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, webhooks.StatusPending, got[0].Status)
	require.Equal(t, 3, got[0].Attempts)
	router, err = message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	require.NoError(t, err)
	require.NoError(t, d.AddHandlers(router))
}

// A deliveries table of the version before re-deliveries (the retry
// schedule, no redelivery_id) gains the column when a server starts on
// it; a read-only server still reads its schedule, and does not deliver.
func TestDeliveriesTableBeforeRedeliveries(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "readmodels.db")
	db, err := projections.OpenSQLite(ctx, path)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `CREATE TABLE webhook_deliveries (delivery_id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL,
		account_id TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL, position BIGINT NOT NULL,
		payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
		last_attempt_at BIGINT, delivered_at BIGINT, created_at BIGINT NOT NULL, next_attempt_at BIGINT,
		queued_at BIGINT, attempts_base INTEGER NOT NULL DEFAULT 0)`)
	require.NoError(t, err)
	hook := uuid.New()
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_deliveries (delivery_id, webhook_id, account_id, event_id, event_type,
		position, payload, status, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, ?, 'LockInstalled', 7, '{}', 'pending', 3, 0, 1000)`,
		uuid.NewString(), hook.String(), uuid.NewString(), uuid.NewString())
	require.NoError(t, err)
	require.NoError(t, db.Close())
	pubsub := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	t.Cleanup(func() { pubsub.Close() })

	ro, err := projections.OpenSQLiteReadOnly(ctx, path)
	require.NoError(t, err)
	d, err := webhooks.NewDelivery(ctx, ro, pubsub, pubsub, secretFor)
	require.NoError(t, err)
	got, _, err := d.Deliveries(ctx, hook, 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.NotNil(t, got[0].NextAttemptAt, "the schedule is read")
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	require.NoError(t, err)
	require.Error(t, d.AddHandlers(router), "no delivering from a table without redelivery_id")
	require.NoError(t, ro.Close())

	db, err = projections.OpenSQLite(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	d, err = webhooks.NewDelivery(ctx, db, pubsub, pubsub, secretFor)
	require.NoError(t, err)
	router, err = message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	require.NoError(t, err)
	require.NoError(t, d.AddHandlers(router))
}
