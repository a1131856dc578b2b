package backends

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/kurrent"
	"github.com/accessd/accessd/eventstore/postgres"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/lease"
)

// OpenEventStore opens the log --eventstore names; an unreachable server
// fails here, at start, naming the setting.
func OpenEventStore(ctx context.Context, setting string, log *slog.Logger) (eventstore.Store, error) {
	kind, err := EventStoreKind(setting)
	if err != nil {
		return nil, fmt.Errorf("--eventstore: %w", err)
	}
	var s eventstore.Store
	switch kind {
	case SQLite:
		s, err = sqlite.Open(SQLitePath(setting))
	case Kurrent:
		s, err = kurrent.Open(ctx, setting, kurrent.WithLogger(log))
	case Postgres:
		s, err = postgres.Open(ctx, setting, postgres.WithLogger(log))
	}
	if err != nil {
		return nil, fmt.Errorf("--eventstore %s: %w", Redact(setting), err)
	}
	return s, nil
}

// OpenReadModels opens the database --readmodels names.
func OpenReadModels(ctx context.Context, setting string) (*projections.DB, error) {
	kind, err := ReadModelsKind(setting)
	if err != nil {
		return nil, fmt.Errorf("--readmodels: %w", err)
	}
	var db *projections.DB
	switch kind {
	case SQLite:
		db, err = projections.OpenSQLite(ctx, SQLitePath(setting))
	case Postgres:
		db, err = projections.OpenPostgres(ctx, setting)
	}
	if err != nil {
		return nil, fmt.Errorf("--readmodels %s: %w", Redact(setting), err)
	}
	return db, nil
}

// OpenLeases returns who may run the workers: on shared PostgreSQL read
// models, one server at a time under advisory locks; embedded, this one.
func OpenLeases(ctx context.Context, readModels string, log *slog.Logger) (projections.Leaser, error) {
	if kind, _ := ReadModelsKind(readModels); kind != Postgres {
		return lease.Local{}, nil
	}
	l, err := lease.NewPostgres(ctx, readModels, log)
	if err != nil {
		return nil, fmt.Errorf("--readmodels %s: %w", Redact(readModels), err)
	}
	return l, nil
}

// OpenPersonalData opens the personal-data keys: beside the read models on
// PostgreSQL when the servers share those, else in the data directory.
func OpenPersonalData(ctx context.Context, readModels, path string) (*personaldata.Store, error) {
	if kind, _ := ReadModelsKind(readModels); kind == Postgres {
		s, err := personaldata.OpenPostgres(ctx, readModels)
		if err != nil {
			return nil, fmt.Errorf("--readmodels %s: %w", Redact(readModels), err)
		}
		return s, nil
	}
	return personaldata.Open(path)
}

// OpenBus opens the integration bus --bus names. The bus's own errors
// already name --bus and the setting, passwords masked.
func OpenBus(ctx context.Context, setting string, log *slog.Logger) (*bus.Bus, error) {
	return bus.Open(ctx, setting, log)
}
