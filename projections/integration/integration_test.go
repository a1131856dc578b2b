package integration_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/integration"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/projections/webhooks"
)

// legacyReadModels makes read models as a version before integration.db
// left them: the forwarder's checkpoint and the deliveries table (made
// before the retry schedule, without its columns) beside the projections.
func legacyReadModels(t *testing.T, dir string, position int64, deliveries ...uuid.UUID) *projections.DB {
	t.Helper()
	ctx := t.Context()
	db, err := projections.OpenSQLite(ctx, filepath.Join(dir, "readmodels.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	for _, stmt := range []string{
		`CREATE TABLE bus_checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL)`,
		`CREATE TABLE webhook_deliveries (delivery_id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL,
			account_id TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL, position BIGINT NOT NULL,
			payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
			last_attempt_at BIGINT, delivered_at BIGINT, created_at BIGINT NOT NULL)`,
		`CREATE TABLE projection_rows_stay (id INTEGER)`,
	} {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO bus_checkpoints (name, position) VALUES ('bus', ?)`, position)
	require.NoError(t, err)
	for i, id := range deliveries {
		_, err = db.ExecContext(ctx, `INSERT INTO webhook_deliveries (delivery_id, webhook_id, account_id, event_id, event_type,
			position, payload, status, attempts, delivered_at, created_at) VALUES (?, ?, ?, ?, 'PropertyCreated', ?, '{}', 'delivered', 1, 5, 1)`,
			id.String(), hookID.String(), uuid.NewString(), uuid.NewString(), i+1)
		require.NoError(t, err)
	}
	return db
}

var hookID = uuid.MustParse("00000000-0000-4000-8000-000000000001")

func checkpoint(t *testing.T, db *projections.DB) int64 {
	t.Helper()
	var pos int64
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT position FROM bus_checkpoints WHERE name = 'bus'`).Scan(&pos))
	return pos
}

// TestOpenMovesTheRowsOfAnEarlierVersion: the first start after the
// upgrade finds the checkpoint and the deliveries in readmodels.db; they
// move to integration.db, in full, and leave the read models.
func TestOpenMovesTheRowsOfAnEarlierVersion(t *testing.T) {
	dir := t.TempDir()
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	legacy := legacyReadModels(t, dir, 42, ids...)

	db, moved, err := integration.Open(t.Context(), filepath.Join(dir, integration.File), legacy)
	require.NoError(t, err)
	require.EqualValues(t, 4, moved)
	require.EqualValues(t, 42, checkpoint(t, db))

	pubsub := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	t.Cleanup(func() { pubsub.Close() })
	d, err := webhooks.NewDelivery(t.Context(), legacy, pubsub, pubsub, func(uuid.UUID) []byte { return nil },
		webhooks.WithDeliveriesDB(db))
	require.NoError(t, err)
	got, _, err := d.Deliveries(t.Context(), hookID, 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, r := range got {
		require.Equal(t, webhooks.StatusDelivered, r.Status)
		require.Contains(t, ids, r.DeliveryID)
	}
	require.Equal(t, []string{"projection_rows_stay"}, readmodeltest.SQLiteTables(t, legacy), "the moved tables leave the read models")
	require.NoError(t, db.Close())

	info, err := os.Stat(filepath.Join(dir, integration.File))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// A second start moves nothing and keeps everything.
	db, moved, err = integration.Open(t.Context(), filepath.Join(dir, integration.File), legacy)
	require.NoError(t, err)
	defer db.Close()
	require.Zero(t, moved)
	require.EqualValues(t, 42, checkpoint(t, db))
}

// TestMoveMergesWithWhatIsThere: a move cut short after its copy (the
// tables not yet dropped) runs again; what integration.db holds wins, and
// a checkpoint never moves back.
func TestMoveMergesWithWhatIsThere(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	id := uuid.New()
	legacy := legacyReadModels(t, dir, 10, id)
	db, err := projections.OpenSQLite(ctx, filepath.Join(dir, integration.File))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, integration.Setup(ctx, db))
	_, err = db.ExecContext(ctx, `INSERT INTO bus_checkpoints (name, position) VALUES ('bus', 20), ('other', 3)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_deliveries (delivery_id, webhook_id, account_id, event_id, event_type,
		position, payload, status, attempts, created_at) VALUES (?, ?, ?, ?, 'PropertyCreated', 1, '{}', 'failed', 8, 1)`,
		id.String(), hookID.String(), uuid.NewString(), uuid.NewString())
	require.NoError(t, err)

	_, err = integration.Move(ctx, legacy, db)
	require.NoError(t, err)
	require.EqualValues(t, 20, checkpoint(t, db))
	var status string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT status FROM webhook_deliveries WHERE delivery_id = ?`, id.String()).Scan(&status))
	require.Equal(t, webhooks.StatusFailed, status)
	require.Equal(t, []string{"projection_rows_stay"}, readmodeltest.SQLiteTables(t, legacy))

	// The other way round: the read models' checkpoint is the later one.
	legacy2 := legacyReadModels(t, t.TempDir(), 30)
	_, err = integration.Move(ctx, legacy2, db)
	require.NoError(t, err)
	require.EqualValues(t, 30, checkpoint(t, db))
}

// TestOpenWithoutAnEarlierVersion: a new data directory gets empty tables,
// and the forwarder's checkpoint lives there.
func TestOpenWithoutAnEarlierVersion(t *testing.T) {
	dir := t.TempDir()
	rm, err := projections.OpenSQLite(t.Context(), filepath.Join(dir, "readmodels.db"))
	require.NoError(t, err)
	defer rm.Close()
	db, moved, err := integration.Open(t.Context(), filepath.Join(dir, integration.File), rm)
	require.NoError(t, err)
	defer db.Close()
	require.Zero(t, moved)
	require.Equal(t, []string{bus.CheckpointTable, webhooks.DeliveriesTable}, readmodeltest.SQLiteTables(t, db))
	require.Empty(t, readmodeltest.SQLiteTables(t, rm))
}

// TestOpenReadOnlyCreatesNothing: opening a missing integration database
// read-only fails without creating it.
func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), integration.File)
	requireAbsent(t, path)
	_, err := integration.OpenReadOnly(t.Context(), path)
	require.Error(t, err)
	requireAbsent(t, path)
}

func requireAbsent(t *testing.T, path string) {
	t.Helper()
	exists, err := integration.Exists(path)
	require.NoError(t, err)
	require.False(t, exists)
}

// TestExistsFailsWhenTheFileCannotBeLookedAt: a path that cannot be
// looked at (here a data directory that is a file) is an error, not an
// absent integration database: a read-only server would otherwise read
// deliveries from the read models and hide the mistake.
func TestExistsFailsWhenTheFileCannotBeLookedAt(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	_, err := integration.Exists(filepath.Join(notADir, integration.File))
	require.ErrorContains(t, err, "integration database")
	require.ErrorIs(t, err, syscall.ENOTDIR)
}

// TestOpenErrorsNameTheIntegrationDatabase: a damaged integration.db is
// reported as such, not as the read models, which the operator would then
// delete to no avail.
func TestOpenErrorsNameTheIntegrationDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), integration.File)
	require.NoError(t, os.WriteFile(path, []byte("not a database, not at all: just some text to fill a page"), 0o600))
	for name, open := range map[string]func() error{
		"writable":  func() error { _, _, err := integration.Open(t.Context(), path, nil); return err },
		"read-only": func() error { _, err := integration.OpenReadOnly(t.Context(), path); return err },
	} {
		err := open()
		require.Error(t, err, name)
		require.Contains(t, err.Error(), "integration database", name)
		require.NotContains(t, err.Error(), "read models", name)
	}
}
