package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/webhooks"
)

func webhooksReplayCommand() command {
	return command{name: "webhooks replay", synopsis: "--delivery ID | --webhook ID | --all [--data-dir DIR] [--readmodels URL]",
		summary: "queue failed webhook deliveries (the poison queue) again for 8 more attempts",
		flags:   webhooksReplayFlags}
}

// webhooksReplayFlags: the operator's replay of the poison queue. It works
// in the deliveries table of the server (integration.db in the data
// directory with SQLite read models, else the read models), beside a running
// server (whose retry loop takes the deliveries up within a second) or a
// stopped one (which does when it starts).
func webhooksReplayFlags(fs *flag.FlagSet, e env) action {
	dir := dataDirFlag(fs, e)
	readModels := fs.String("readmodels", e.getenv("ACCESSD_READMODELS"),
		"the server's `--readmodels` setting, e.g. postgres://… (ACCESSD_READMODELS)")
	delivery := fs.String("delivery", "", "the failed delivery to queue again (its `deliveryId`)")
	hook := fs.String("webhook", "", "queue every failed delivery of this `webhookId` again")
	all := fs.Bool("all", false, "queue every failed delivery of every webhook again")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments: %s", strings.Join(args, " "))
		}
		if *delivery == "" && *hook == "" && !*all {
			return usagef("name what to replay: --delivery ID, --webhook ID or --all")
		}
		if *all && (*delivery != "" || *hook != "") {
			return usagef("--all replays every failed delivery: leave out --delivery and --webhook")
		}
		// A replay copy's deliveries are evidence too: a read-only server
		// never sends them, and queuing them would change the copy.
		if err := refuseReplayCopy(*dir); err != nil {
			return err
		}
		var deliveryID, webhookID uuid.UUID
		var err error
		if *delivery != "" {
			if deliveryID, err = uuid.Parse(*delivery); err != nil {
				return usagef("--delivery: %q is not a delivery id", *delivery)
			}
		}
		if *hook != "" {
			if webhookID, err = uuid.Parse(*hook); err != nil {
				return usagef("--webhook: %q is not a webhook id", *hook)
			}
		}
		setting := *readModels
		if setting == "" {
			setting = "sqlite:" + filepath.Join(*dir, readModelsFile)
		}
		kind, err := backends.ReadModelsKind(setting)
		if err != nil {
			return usagef("--readmodels: %v", err)
		}
		// The deliveries live where the server keeps them (integration.db
		// with SQLite read models), moved there first from the read
		// models of an earlier version, as the server's start does.
		var readDB *projections.DB
		openReadModels := true
		var integErr error
		if kind == backends.SQLite {
			// A mistyped --data-dir must not make an empty database and
			// report that nothing failed; nor is readmodels.db made when
			// integration.db is there alone (the read models deleted).
			_, integErr = os.Stat(backends.IntegrationPath(*dir))
			_, readErr := os.Stat(backends.SQLitePath(setting))
			if integErr != nil && readErr != nil {
				return fmt.Errorf("no webhook deliveries in %s: %w", *dir, integErr)
			}
			openReadModels = readErr == nil
		}
		if openReadModels {
			if readDB, err = backends.OpenReadModels(ctx, setting); err != nil {
				return err
			}
			defer readDB.Close()
		}
		if kind == backends.SQLite && integErr != nil {
			// Without integration.db the deliveries can only be in the
			// read models of an earlier version, to be moved; read models
			// without them (another directory's --readmodels, or a
			// server's that moved them) must not get an empty
			// integration.db made beside them.
			exists, err := projections.TableExists(ctx, readDB, webhooks.DeliveriesTable)
			if err != nil {
				return fmt.Errorf("--readmodels %s: %w", backends.Redact(setting), err)
			}
			if !exists {
				return fmt.Errorf("no webhook deliveries in %s: %w", *dir, integErr)
			}
		}
		if kind == backends.Postgres {
			// A mistyped URL or search_path must not get a deliveries
			// table made there and a report that nothing failed: every
			// server on these read models has made it at its start.
			exists, err := projections.TableExists(ctx, readDB, webhooks.DeliveriesTable)
			if err != nil {
				return fmt.Errorf("--readmodels %s: %w", backends.Redact(setting), err)
			}
			if !exists {
				return fmt.Errorf("no webhook deliveries in %s (no table %s)", backends.Redact(setting), webhooks.DeliveriesTable)
			}
		}
		db, _, closeDB, err := backends.OpenIntegration(ctx, setting, *dir, readDB)
		if err != nil {
			return err
		}
		defer closeDB()
		n, err := webhooks.RequeueFailed(ctx, db, webhookID, deliveryID, time.Now())
		if err != nil {
			return err
		}
		if n == 0 && deliveryID != uuid.Nil {
			return fmt.Errorf("delivery %s: no failed delivery has this id", deliveryID)
		}
		if n == 0 && webhookID != uuid.Nil {
			// A mistyped id must not read as a webhook with nothing failed.
			known, err := webhookKnown(ctx, db, readDB, webhookID)
			if err != nil {
				return err
			}
			if !known {
				return fmt.Errorf("webhook %s: no webhook has this id (none registered, no deliveries)", webhookID)
			}
		}
		fmt.Fprintf(e.stdout, "%d failed deliveries queued again\n", n)
		return nil
	}
}

// webhookKnown reports whether a webhook with id was ever registered (the
// webhooks read model, deleted ones too, when readDB holds it) or has any
// delivery in db.
func webhookKnown(ctx context.Context, db, readDB *projections.DB, id uuid.UUID) (bool, error) {
	found := func(db *projections.DB, table string) (bool, error) {
		err := db.QueryRowContext(ctx, db.Dialect.Rebind(`SELECT 1 FROM `+table+` WHERE webhook_id = ? LIMIT 1`), id.String()).Scan(new(int))
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	if ok, err := found(db, webhooks.DeliveriesTable); ok || err != nil {
		return ok, err
	}
	if readDB == nil {
		return false, nil
	}
	if exists, err := projections.TableExists(ctx, readDB, webhooks.Table); err != nil || !exists {
		return false, err
	}
	return found(readDB, webhooks.Table)
}
