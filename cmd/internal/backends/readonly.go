package backends

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"syscall"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/postgres"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
)

// NotWritable tells why files cannot be created in one of dirs, naming the
// directory ("" when they can be in all). It creates and removes a probe
// file: the one test that sees a read-only mount, a read-only bind mount
// and missing permissions alike. Other failures (a full disk) are left to
// the stores, which report them as they happen.
func NotWritable(dirs ...string) string {
	for _, dir := range dirs {
		if why := notWritable(dir); why != "" {
			return why
		}
	}
	return ""
}

func notWritable(dir string) string {
	err := os.MkdirAll(dir, 0o700) // the data directory holds keys and hashes: its owner's only
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp(dir, ".accessd-write-probe-*"); err == nil {
			name := f.Name()
			f.Close()
			os.Remove(name)
			return ""
		}
	}
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Sprintf("data directory %s is on a read-only filesystem", dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("data directory %s is not writable (permission denied)", dir)
	}
	return ""
}

// OpenEventStoreReadOnly opens the log --eventstore names without writing
// to it: SQLite and PostgreSQL read-only (appends fail with
// eventstore.ErrUnavailable; a missing file or table fails, nothing is
// created); KurrentDB as usual, since opening it creates nothing.
func OpenEventStoreReadOnly(ctx context.Context, setting string, log *slog.Logger) (eventstore.Store, error) {
	kind, err := EventStoreKind(setting)
	if err != nil {
		return nil, fmt.Errorf("--eventstore: %w", err)
	}
	var s eventstore.Store
	switch kind {
	case SQLite:
		s, err = sqlite.OpenReadOnly(SQLitePath(setting))
	case Postgres:
		s, err = postgres.OpenReadOnly(ctx, setting, postgres.WithLogger(log))
	default:
		return OpenEventStore(ctx, setting, log)
	}
	if err != nil {
		return nil, fmt.Errorf("--eventstore %s: %w", Redact(setting), err)
	}
	return s, nil
}

// OpenReadModelsReadOnly opens the database --readmodels names without
// writing to it when it is SQLite; PostgreSQL opens as usual.
func OpenReadModelsReadOnly(ctx context.Context, setting string) (*projections.DB, error) {
	kind, err := ReadModelsKind(setting)
	if err != nil {
		return nil, fmt.Errorf("--readmodels: %w", err)
	}
	if kind != SQLite {
		return OpenReadModels(ctx, setting)
	}
	db, err := projections.OpenSQLiteReadOnly(ctx, SQLitePath(setting))
	if err != nil {
		return nil, fmt.Errorf("--readmodels %s: %w", Redact(setting), err)
	}
	return db, nil
}
