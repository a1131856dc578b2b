package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
)

// The files of a data directory, named as cmd/accessd names them.
const (
	eventsFile     = "events.db"
	commandKeyFile = "command.key"
	commandKeySize = 32
)

// dataDir is a server's data directory, opened the way the server opens it:
// the SQLite event store, the event registry and a command pipeline on the
// wall clock. SQLite's WAL lets the server keep the same file open.
type dataDir struct {
	path     string
	store    eventstore.Store
	pipeline *commands.Pipeline
}

// openDataDir opens the event store of the data directory at path. It
// refuses a directory without one rather than create an empty store where
// a mistyped --data-dir points.
func openDataDir(path string) (*dataDir, error) {
	events := filepath.Join(path, eventsFile)
	if _, err := os.Stat(events); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no event store at %s (is --data-dir the server's data directory?)", events)
		}
		return nil, err
	}
	store, err := sqlite.Open(events)
	if err != nil {
		return nil, err
	}
	return withPipeline(path, store)
}

// refuseReplayCopy fails when dir holds a replay (its replay.json): a
// replay is evidence of the log as it was, and a command that appended to
// it would change what its read-only server and verify answer.
func refuseReplayCopy(dir string) error {
	_, err := os.Stat(filepath.Join(dir, replayMarkerFile))
	switch {
	case err == nil:
		return fmt.Errorf("%s holds a replay (%s): a replay copy is evidence and nothing is appended to it; give the server's data directory", dir, replayMarkerFile)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return err
}

// openEventStoreAt opens the log a server's --eventstore setting names (a
// scale-out server's), or, with no setting, the data directory's own.
func openEventStoreAt(ctx context.Context, path, setting string) (*dataDir, error) {
	if setting == "" {
		return openDataDir(path)
	}
	// A setting that names no backend is a usage error (exit 2), as the
	// server refuses it at startup; one that names a server that does not
	// answer fails (exit 1) below.
	if _, err := backends.EventStoreKind(setting); err != nil {
		return nil, usagef("--eventstore: %v", err)
	}
	store, err := backends.OpenEventStore(ctx, setting, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	return withPipeline(path, store)
}

// openEventStoreReadOnlyAt is openEventStoreAt without writing: the data
// directory's log is opened read-only (see sqlite.OpenReadOnly), so
// nothing of the directory changes, also on a read-only mount.
func openEventStoreReadOnlyAt(ctx context.Context, path, setting string) (*dataDir, error) {
	if setting == "" {
		setting = "sqlite:" + filepath.Join(path, eventsFile)
		if _, err := os.Stat(backends.SQLitePath(setting)); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no event store at %s (is --data-dir the server's data directory?)", backends.SQLitePath(setting))
		}
	} else if _, err := backends.EventStoreKind(setting); err != nil {
		return nil, usagef("--eventstore: %v", err)
	}
	store, err := backends.OpenEventStoreReadOnly(ctx, setting, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	return withPipeline(path, store)
}

func withPipeline(path string, store eventstore.Store) (*dataDir, error) {
	pipeline, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &dataDir{path: path, store: store, pipeline: pipeline}, nil
}

// Close closes the event store once its appends are durable.
func (d *dataDir) Close() error { return d.store.Close() }

// service returns the command service with the server's command key,
// creating the key as the server would if the server never ran here.
func (d *dataDir) service() (*commands.Service, error) {
	key, err := loadOrCreateSecret(d.path, commandKeyFile, commandKeySize)
	if err != nil {
		return nil, fmt.Errorf("command key: %w", err)
	}
	return commands.NewService(d.pipeline, key)
}

// tenanted is what the aggregates' states answer for tenancy.
type tenanted interface {
	Exists() bool
	AccountID() uuid.UUID
}

// existsIn reports whether the aggregate with id exists (and is not
// deleted) in the account.
func existsIn[S tenanted](ctx context.Context, p *commands.Pipeline, agg commands.Aggregate[S], id, accountID uuid.UUID) (bool, error) {
	l, err := commands.Load(ctx, p, agg, id)
	if err != nil {
		return false, err
	}
	return l.Exists && l.State.Exists() && l.State.AccountID() == accountID, nil
}
