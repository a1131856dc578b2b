package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/cmd/internal/atomicfile"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/queries"
)

// exportIndexes are the read models an export reads besides the log: the
// audit index, and the key-map history for a lock's versions.
var exportIndexes = []string{"audit-index", "keymaps"}

func exportCommand() command {
	return command{name: "export",
		synopsis: "(--lock ID | --user ID | --property ID) [--from RFC3339] [--to RFC3339] [--format json|csv] --out FILE|- [--data-dir DIR] [--eventstore URL] [--readmodels URL]",
		summary:  "write the audit history of a lock, user or property to a file, as GET /audit/.../history answers it",
		flags:    exportFlags}
}

// exportJob is one export, its flags checked.
type exportJob struct {
	stores      storeFlags
	out, format string
	id          uuid.UUID
	// account is the entity's account (see entityAccount).
	account uuid.UUID
	// kind and category name the entity and its stream: "lock", lock.Category.
	kind, category string
	// withKeyMaps: a lock's history has its key-map versions too.
	withKeyMaps   bool
	from, to      time.Time
	progressEvery int
}

func exportFlags(fs *flag.FlagSet, e env) action {
	stores := storeFlagsOf(fs, e)
	lockID := fs.String("lock", "", "export the history of the lock with this `id`")
	userID := fs.String("user", "", "export the history of the user with this `id`")
	propertyID := fs.String("property", "", "export the history of the property with this `id`")
	from := fs.String("from", "", "the first instant, RFC 3339 (default: the beginning)")
	to := fs.String("to", "", "the instant the export stops before, RFC 3339 (default: no end)")
	format := fs.String("format", queries.HistoryJSON, "json (one object per line) or csv")
	out := fs.String("out", "", "the `file` to write (replaced once the export is complete); - writes to stdout")
	every := fs.Int("progress-every", 100000, "print a progress line to stderr every `N` items (0: never)")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments: %s", strings.Join(args, " "))
		}
		job := exportJob{stores: stores, out: *out, format: *format, progressEvery: *every}
		var named []string
		for _, f := range []struct{ name, value, kind, category string }{
			{"--lock", *lockID, "lock", lock.Category},
			{"--user", *userID, "user", user.Category},
			{"--property", *propertyID, "property", property.Category},
		} {
			if f.value == "" {
				continue
			}
			named = append(named, f.name)
			id, err := uuid.Parse(f.value)
			if err != nil || len(f.value) != 36 {
				return usagef("%s: not a UUID: %q", f.name, f.value)
			}
			job.id, job.withKeyMaps, job.kind, job.category = id, f.name == "--lock", f.kind, f.category
		}
		if len(named) != 1 {
			return usagef("give exactly one of --lock, --user and --property")
		}
		if job.format != queries.HistoryJSON && job.format != queries.HistoryCSV {
			return usagef("--format: want json or csv, not %q", job.format)
		}
		if job.out == "" {
			return usagef("--out is required")
		}
		// A directory cannot be replaced by the export: say so now, not
		// after reading the whole history.
		if job.out != stdoutName {
			if fi, err := os.Stat(job.out); err == nil && fi.IsDir() {
				return usagef("--out: %s is a directory; give the name of the file to write", job.out)
			}
		}
		if job.progressEvery < 0 {
			return usagef("--progress-every: want 0 (never) or a positive number, not %d", job.progressEvery)
		}
		// The API's rules, through its own function: an export refuses what
		// the API answers 400 to, with its message.
		from, to, err := queries.HistoryRange("--from", *from, "--to", *to)
		if err != nil {
			return usagef("%s", err)
		}
		job.from, job.to = from, to
		return runExport(ctx, e, job)
	}
}

// stdoutName, given as --out, writes the export to stdout.
const stdoutName = "-"

// runExport streams the history into a temporary file beside --out and
// renames it into place at the end, so a failed export leaves no partial
// file under the name asked for (--out -: straight to stdout, and the
// summary line to stderr). It only reads the log and the read
// models (see storeFlags.openReadOnly): it changes no file of a replayed
// directory and answers beside a server holding their write locks.
func runExport(ctx context.Context, e env, job exportJob) error {
	d, db, err := job.stores.openReadOnly(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	if db != nil {
		defer db.Close()
	}
	if err := warnIfBehind(ctx, e, d, db); err != nil {
		return err
	}
	account, err := entityAccount(ctx, d, job)
	if err != nil {
		return err
	}
	job.account = account
	audit, err := queries.NewAudit(db, d.store, d.pipeline.Registry())
	if err != nil {
		return err
	}
	if job.out == stdoutName {
		n, err := writeExport(ctx, e, audit, job, e.stdout)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(e.stderr, "exported %d items to stdout\n", n)
		return nil
	}
	var n int
	// The owner's only (0600): a history names people and where they went.
	err = atomicfile.Write(job.out, "", 0o600, func(w io.Writer) (err error) {
		n, err = writeExport(ctx, e, audit, job, w)
		return err
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(e.stdout, "exported %d items to %s\n", n, job.out)
	return nil
}

// writeExport writes the history to f through a buffer, a page at a time
// as the audit reads it, so a long history never sits in memory.
func writeExport(ctx context.Context, e env, audit *queries.Audit, job exportJob, f io.Writer) (int, error) {
	bw := bufio.NewWriterSize(f, 1<<16)
	hw, err := queries.NewHistoryWriter(bw, job.format)
	if err != nil {
		return 0, err
	}
	n := 0
	start := time.Now()
	err = audit.History(ctx, job.account, job.id, job.from, job.to, job.withKeyMaps, func(it queries.HistoryItem) error {
		if err := hw.Write(it); err != nil {
			return err
		}
		if n++; job.progressEvery > 0 && n%job.progressEvery == 0 {
			fmt.Fprintf(e.stderr, "export: %d items, at position %d (%s), %.0f items/s\n",
				n, it.Position, it.RecordedAt.Format(time.RFC3339), float64(n)/time.Since(start).Seconds())
		}
		return nil
	})
	if err == nil {
		err = hw.Flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	return n, err
}

// warnIfBehind says on stderr when the read models an export reads have
// not caught up with the log: the export then ends where they do. It fails
// when they are missing, also when db is nil (no read-model database).
func warnIfBehind(ctx context.Context, e env, d *dataDir, db *projections.DB) error {
	head, err := d.store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	cps := map[string]projections.Checkpoint{}
	if db != nil {
		if cps, err = projections.Checkpoints(ctx, db); err != nil {
			return err
		}
	}
	var behind, missing []string
	for _, name := range exportIndexes {
		cp, ok := cps[name]
		if !ok {
			missing = append(missing, name)
		} else if cp.Position < head {
			behind = append(behind, fmt.Sprintf("%s at %d", name, cp.Position))
		}
	}
	if len(missing) > 0 {
		// A runner creates a read model's tables with its checkpoint: with
		// no checkpoint there is nothing to read.
		return fmt.Errorf("the read models %s are missing here (the server never ran on these read models): build them with `accessctl projections rebuild --all`",
			strings.Join(missing, ", "))
	}
	if len(behind) > 0 {
		fmt.Fprintf(e.stderr, "export: warning: the log is at %d, %s: the export ends where they are (run the server or `accessctl projections rebuild`)\n",
			head, strings.Join(behind, ", "))
	}
	return nil
}

// entityAccount is the account of the entity to export: that of the first
// event of its stream, which created it. The history keeps to that
// account's events, as the API's keeps to the caller's. It fails an
// export of an entity the log never had, as the API answers 404, rather
// than write an empty history. An entity since deleted is exported: its
// history is what an audit asks for.
func entityAccount(ctx context.Context, d *dataDir, job exportJob) (uuid.UUID, error) {
	stream := job.category + "-" + job.id.String()
	recs, err := d.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Max: 1})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return uuid.Nil, fmt.Errorf("export: no %s %s in the event log", job.kind, job.id)
	}
	if err != nil {
		return uuid.Nil, err
	}
	if len(recs) == 0 {
		return uuid.Nil, fmt.Errorf("export: no %s %s in the event log", job.kind, job.id)
	}
	env, err := d.pipeline.Registry().Decode(recs[0])
	if err != nil {
		return uuid.Nil, fmt.Errorf("export: %w", err)
	}
	account, err := uuid.Parse(env.Metadata.AccountID)
	if err != nil {
		return uuid.Nil, fmt.Errorf("export: the first event of %s names no account (%q)", stream, env.Metadata.AccountID)
	}
	return account, nil
}
