package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/integration"
	"github.com/accessd/accessd/projections/webhooks"
)

// The operator replays the poison queue: failed deliveries are pending
// again, due now, for a new round of attempts (a running server's retry
// loop takes them up); delivered ones and unknown ids are left alone.
//
// The deliveries are in integration.db; in a data directory of an earlier
// version, still in readmodels.db, from where the replay moves them first,
// as a server's start does.
func TestWebhooksReplayQueuesFailedDeliveriesAgain(t *testing.T) {
	t.Run("integration.db", func(t *testing.T) { webhooksReplay(t, integration.File) })
	t.Run("readmodels.db of an earlier version", func(t *testing.T) { webhooksReplay(t, readModelsFile) })
}

func webhooksReplay(t *testing.T, file string) {
	dir := t.TempDir()
	rm, err := projections.OpenSQLite(t.Context(), filepath.Join(dir, readModelsFile))
	require.NoError(t, err)
	require.NoError(t, rm.Close())
	db, err := projections.OpenSQLite(t.Context(), filepath.Join(dir, file))
	require.NoError(t, err)
	require.NoError(t, webhooks.SetupDeliveries(t.Context(), db))
	hook, other := uuid.New(), uuid.New()
	failedA, failedB, delivered, otherFailed := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for i, row := range []struct {
		id, hook uuid.UUID
		status   string
	}{{failedA, hook, "failed"}, {failedB, hook, "failed"}, {delivered, hook, "delivered"}, {otherFailed, other, "failed"}} {
		require.NoError(t, db.Update(t.Context(), func(tx projections.Tx) error {
			_, err := tx.Exec(t.Context(), `INSERT INTO `+webhooks.DeliveriesTable+`
				(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, last_error, created_at)
				VALUES (?, ?, ?, ?, 'LockInstalled', ?, '{}', ?, 8, 'the receiver answered 502', ?)`,
				row.id.String(), row.hook.String(), uuid.NewString(), uuid.NewString(), i+1, row.status, time.Now().UnixMilli())
			return err
		}))
	}
	require.NoError(t, db.Close())
	status := func(id uuid.UUID) (string, int, bool) {
		t.Helper()
		db, err := projections.OpenSQLiteReadOnly(t.Context(), filepath.Join(dir, integration.File))
		require.NoError(t, err)
		defer db.Close()
		var st string
		var base int
		var due *int64
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT status, attempts_base, next_attempt_at FROM `+webhooks.DeliveriesTable+
			` WHERE delivery_id = ?`, id.String()).Scan(&st, &base, &due))
		return st, base, due != nil && *due <= time.Now().UnixMilli()
	}

	code, stdout, stderr := accessctl(t, "webhooks", "replay", "--data-dir", dir, "--delivery", failedA.String())
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "1 failed deliveries queued again")
	st, base, due := status(failedA)
	require.Equal(t, "pending", st)
	require.Equal(t, 8, base, "a new round of attempts")
	require.True(t, due)
	st, _, _ = status(failedB)
	require.Equal(t, "failed", st)

	code, stdout, stderr = accessctl(t, "webhooks", "replay", "--data-dir", dir, "--webhook", hook.String())
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "1 failed deliveries queued again")
	st, _, _ = status(failedB)
	require.Equal(t, "pending", st)
	st, _, _ = status(delivered)
	require.Equal(t, "delivered", st)
	st, _, _ = status(otherFailed)
	require.Equal(t, "failed", st)

	// A webhook with nothing failed left is no error; an id no webhook
	// has is, as an unknown delivery is.
	code, stdout, stderr = accessctl(t, "webhooks", "replay", "--data-dir", dir, "--webhook", hook.String())
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "0 failed deliveries queued again")
	unknown := uuid.New()
	code, stdout, stderr = accessctl(t, "webhooks", "replay", "--data-dir", dir, "--webhook", unknown.String())
	require.Equal(t, exitFailed, code, stdout)
	require.Contains(t, stderr, "webhook "+unknown.String()+": no webhook has this id")

	code, stdout, stderr = accessctl(t, "webhooks", "replay", "--data-dir", dir, "--all")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "1 failed deliveries queued again")
	st, _, _ = status(otherFailed)
	require.Equal(t, "pending", st)

	// A delivery that is not failed (any more) is an error; so are a
	// missing selector, a bad id and a data directory that is not one.
	code, _, stderr = accessctl(t, "webhooks", "replay", "--data-dir", dir, "--delivery", delivered.String())
	require.Equal(t, exitFailed, code)
	require.Contains(t, stderr, "no failed delivery")
	code, _, _ = accessctl(t, "webhooks", "replay", "--data-dir", dir)
	require.Equal(t, exitUsage, code)
	code, _, _ = accessctl(t, "webhooks", "replay", "--data-dir", dir, "--delivery", "x")
	require.Equal(t, exitUsage, code)
	code, _, stderr = accessctl(t, "webhooks", "replay", "--data-dir", filepath.Join(dir, "nope"), "--all")
	require.Equal(t, exitFailed, code, stderr)
	require.NoFileExists(t, filepath.Join(dir, "nope", readModelsFile))
	require.NoFileExists(t, filepath.Join(dir, "nope", integration.File))
	if file == readModelsFile {
		rm, err := projections.OpenSQLiteReadOnly(t.Context(), filepath.Join(dir, readModelsFile))
		require.NoError(t, err)
		defer rm.Close()
		var n int
		require.NoError(t, rm.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE name = ?`, webhooks.DeliveriesTable).Scan(&n))
		require.Zero(t, n, "the deliveries stayed in the read models")
	}
}

// A data directory whose integration.db is all there is (the read models
// deleted, to be rebuilt at the server's next start) is replayed without
// making an empty readmodels.db: requeueing deliveries writes nothing
// else.
func TestWebhooksReplayCreatesNoReadModels(t *testing.T) {
	dir := t.TempDir()
	db, _, err := integration.Open(t.Context(), filepath.Join(dir, integration.File), nil)
	require.NoError(t, err)
	failed := uuid.New()
	_, err = db.ExecContext(t.Context(), `INSERT INTO `+webhooks.DeliveriesTable+`
		(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, created_at)
		VALUES (?, ?, ?, ?, 'LockInstalled', 1, '{}', 'failed', 8, 1)`,
		failed.String(), uuid.NewString(), uuid.NewString(), uuid.NewString())
	require.NoError(t, err)
	require.NoError(t, db.Close())

	code, stdout, stderr := accessctl(t, "webhooks", "replay", "--data-dir", dir, "--delivery", failed.String())
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "1 failed deliveries queued again")
	require.NoFileExists(t, filepath.Join(dir, readModelsFile))
}

// A --data-dir without integration.db, given with the --readmodels of a
// deployment whose deliveries are in its own integration.db, is refused
// as one without any database is: no empty integration.db is made there
// to report that nothing failed.
func TestWebhooksReplayOfAnotherDirectorysReadModels(t *testing.T) {
	deployment := t.TempDir()
	rm, err := projections.OpenSQLite(t.Context(), filepath.Join(deployment, readModelsFile))
	require.NoError(t, err)
	require.NoError(t, rm.Close())
	db, _, err := integration.Open(t.Context(), filepath.Join(deployment, integration.File), nil)
	require.NoError(t, err)
	hook, failed := uuid.New(), uuid.New()
	_, err = db.ExecContext(t.Context(), `INSERT INTO `+webhooks.DeliveriesTable+`
		(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, created_at)
		VALUES (?, ?, ?, ?, 'LockInstalled', 1, '{}', 'failed', 8, 1)`,
		failed.String(), hook.String(), uuid.NewString(), uuid.NewString())
	require.NoError(t, err)
	require.NoError(t, db.Close())

	readModels := "sqlite:" + filepath.Join(deployment, readModelsFile)
	empty := t.TempDir()
	for _, dir := range []string{filepath.Join(empty, "nope"), empty} {
		for _, selector := range [][]string{{"--all"}, {"--webhook", hook.String()}} {
			args := append([]string{"webhooks", "replay", "--data-dir", dir, "--readmodels", readModels}, selector...)
			code, stdout, stderr := accessctl(t, args...)
			require.Equal(t, exitFailed, code, "%s%s", stdout, stderr)
			require.Contains(t, stderr, "no webhook deliveries in "+dir)
			require.NoFileExists(t, filepath.Join(dir, integration.File))
		}
	}
	require.NoDirExists(t, filepath.Join(empty, "nope"))

	db, err = projections.OpenSQLiteReadOnly(t.Context(), filepath.Join(deployment, integration.File))
	require.NoError(t, err)
	defer db.Close()
	var status string
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT status FROM `+webhooks.DeliveriesTable+` WHERE delivery_id = ?`, failed.String()).Scan(&status))
	require.Equal(t, "failed", status)
}

// On PostgreSQL read models the deliveries are in the read-model database
// itself. One that holds no deployment (a mistyped URL or search_path) is
// refused, as a data directory without deliveries is, and nothing is
// created there; one a server made its table in is replayed.
func TestWebhooksReplayOnPostgres(t *testing.T) {
	readModels := servicetest.PostgresSchema(t)
	code, stdout, stderr := accessctl(t, "webhooks", "replay", "--readmodels", readModels, "--all")
	require.Equal(t, exitFailed, code, "%s%s", stdout, stderr)
	require.Contains(t, stderr, "no webhook deliveries in")
	assertNoTables(t, readModels, "the replay created tables")

	db, err := projections.OpenPostgres(t.Context(), readModels)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, webhooks.SetupDeliveries(t.Context(), db))
	failed := uuid.New()
	_, err = db.ExecContext(t.Context(), `INSERT INTO `+webhooks.DeliveriesTable+`
		(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, created_at)
		VALUES ($1, $2, $3, $4, 'LockInstalled', 1, '{}', 'failed', 8, 1)`,
		failed.String(), uuid.NewString(), uuid.NewString(), uuid.NewString())
	require.NoError(t, err)
	code, stdout, stderr = accessctl(t, "webhooks", "replay", "--readmodels", readModels, "--all")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "1 failed deliveries queued again")
}

// A registered webhook that never had a delivery is known: replaying it
// queues nothing and succeeds.
func TestWebhooksReplayOfAWebhookWithoutDeliveries(t *testing.T) {
	f := newFixture(t)
	srv := openServer(t, f.dir)
	hook, err := srv.service.RegisterWebhook(owner(t.Context(), f.accountID), commands.RegisterWebhook{URL: "https://example.com/hook", EventTypes: []string{"LockInstalled"}})
	require.NoError(t, err)
	require.NoError(t, srv.store.Close())
	code, stdout, stderr := accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	db, _, err := integration.Open(t.Context(), filepath.Join(f.dir, integration.File), nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	code, stdout, stderr = accessctl(t, "webhooks", "replay", "--data-dir", f.dir, "--webhook", hook.WebhookID.String())
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "0 failed deliveries queued again")
	code, _, stderr = accessctl(t, "webhooks", "replay", "--data-dir", f.dir, "--webhook", uuid.NewString())
	require.Equal(t, exitFailed, code, stderr)
	require.Contains(t, stderr, "no webhook has this id")
}
