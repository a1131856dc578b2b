package main

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

// openEventStore opens the log --eventstore names; an unreachable server
// fails here, at start, naming the setting.
func openEventStore(ctx context.Context, setting string, log *slog.Logger) (eventstore.Store, error) {
	kind, err := eventStoreKind(setting)
	if err != nil {
		return nil, fmt.Errorf("--eventstore: %w", err)
	}
	var s eventstore.Store
	switch kind {
	case kindSQLite:
		s, err = sqlite.Open(sqlitePath(setting))
	case kindKurrent:
		s, err = kurrent.Open(ctx, setting, kurrent.WithLogger(log))
	case kindPostgres:
		s, err = postgres.Open(ctx, setting, postgres.WithLogger(log))
	}
	if err != nil {
		return nil, fmt.Errorf("--eventstore %s: %w", redact(setting), err)
	}
	return s, nil
}

// openReadModels opens the database --readmodels names.
func openReadModels(ctx context.Context, setting string) (*projections.DB, error) {
	kind, err := readModelsKind(setting)
	if err != nil {
		return nil, fmt.Errorf("--readmodels: %w", err)
	}
	var db *projections.DB
	switch kind {
	case kindSQLite:
		db, err = projections.OpenSQLite(ctx, sqlitePath(setting))
	case kindPostgres:
		db, err = projections.OpenPostgres(ctx, setting)
	}
	if err != nil {
		return nil, fmt.Errorf("--readmodels %s: %w", redact(setting), err)
	}
	return db, nil
}

// openLeases returns who may run the workers: on shared PostgreSQL read
// models, one server at a time under advisory locks; embedded, this one.
func openLeases(ctx context.Context, readModels string, log *slog.Logger) (projections.Leaser, error) {
	if kind, _ := readModelsKind(readModels); kind != kindPostgres {
		return lease.Local{}, nil
	}
	l, err := lease.NewPostgres(ctx, readModels, log)
	if err != nil {
		return nil, fmt.Errorf("--readmodels %s: %w", redact(readModels), err)
	}
	return l, nil
}

// openPersonalData opens the personal-data keys: beside the read models on
// PostgreSQL when the servers share those, else in the data directory.
func openPersonalData(ctx context.Context, readModels, path string) (*personaldata.Store, error) {
	if kind, _ := readModelsKind(readModels); kind == kindPostgres {
		s, err := personaldata.OpenPostgres(ctx, readModels)
		if err != nil {
			return nil, fmt.Errorf("--readmodels %s: %w", redact(readModels), err)
		}
		return s, nil
	}
	return personaldata.Open(path)
}

// openBus opens the integration bus --bus names.
func openBus(ctx context.Context, setting string, log *slog.Logger) (*bus.Bus, error) {
	b, err := bus.Open(ctx, setting, log)
	if err != nil {
		return nil, fmt.Errorf("--bus %s: %w", redact(setting), err)
	}
	return b, nil
}
