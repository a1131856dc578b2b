package backends

import (
	"context"
	"path/filepath"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/integration"
)

// IntegrationPath is where a server on dataDir keeps, with SQLite read
// models, the state of what has left the system (integration.File).
func IntegrationPath(dataDir string) string { return filepath.Join(dataDir, integration.File) }

// OpenIntegration opens the database of the bus forwarder's checkpoint and
// the webhook deliveries, which cannot be rebuilt from the log: with
// PostgreSQL read models (--readmodels) it is readDB itself; with SQLite
// ones the file integration.db in dataDir, into which the rows an earlier
// version kept in readDB move first (integration.Open). moved counts
// them; a nil readDB (SQLite read models not there) moves nothing. Call
// close when done (it leaves readDB open).
func OpenIntegration(ctx context.Context, readModels, dataDir string, readDB *projections.DB) (db *projections.DB, moved int64, close func(), err error) {
	if kind, _ := ReadModelsKind(readModels); kind == Postgres {
		return readDB, 0, func() {}, nil
	}
	db, moved, err = integration.Open(ctx, IntegrationPath(dataDir), readDB)
	if err != nil {
		return nil, 0, nil, err
	}
	return db, moved, func() { db.Close() }, nil
}

// OpenIntegrationReadOnly is OpenIntegration for a server that writes
// nothing: with SQLite read models, integration.db opened read-only when
// it exists; else readDB, where a data directory of an earlier version
// (not yet moved) or a replay keeps the deliveries table, if anywhere.
// Nothing is created or moved.
func OpenIntegrationReadOnly(ctx context.Context, readModels, dataDir string, readDB *projections.DB) (*projections.DB, func(), error) {
	path := IntegrationPath(dataDir)
	if kind, _ := ReadModelsKind(readModels); kind == Postgres {
		return readDB, func() {}, nil
	}
	exists, err := integration.Exists(path)
	if err != nil {
		return nil, nil, err
	}
	if !exists {
		return readDB, func() {}, nil
	}
	db, err := integration.OpenReadOnly(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	return db, func() { db.Close() }, nil
}
