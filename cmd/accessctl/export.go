package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/queries"
)

// exportIndexes are the read models an export reads besides the log: the
// audit index, and the key-map history for a lock's versions.
var exportIndexes = []string{"audit-index", "keymaps"}

func exportCommand() command {
	return command{name: "export",
		synopsis: "(--lock ID | --user ID | --property ID) [--from RFC3339] [--to RFC3339] [--format json|csv] --out FILE [--data-dir DIR]",
		summary:  "write the audit history of a lock, user or property to a file, as GET /audit/.../history answers it",
		flags:    exportFlags}
}

// exportJob is one export, its flags checked.
type exportJob struct {
	stores      storeFlags
	out, format string
	id          uuid.UUID
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
	out := fs.String("out", "", "the `file` to write (replaced once the export is complete)")
	every := fs.Int("progress-every", 100000, "print a progress line to stderr every `N` items (0: never)")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments: %s", strings.Join(args, " "))
		}
		job := exportJob{stores: stores, out: *out, format: *format, progressEvery: *every,
			to: queries.HistoryEnd}
		var named []string
		for _, f := range []struct{ name, value string }{{"--lock", *lockID}, {"--user", *userID}, {"--property", *propertyID}} {
			if f.value == "" {
				continue
			}
			named = append(named, f.name)
			id, err := uuid.Parse(f.value)
			if err != nil || len(f.value) != 36 {
				return usagef("%s: not a UUID: %q", f.name, f.value)
			}
			job.id, job.withKeyMaps = id, f.name == "--lock"
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
		for _, t := range []struct {
			name, raw string
			dst       *time.Time
		}{{"--from", *from, &job.from}, {"--to", *to, &job.to}} {
			if t.raw == "" {
				continue
			}
			v, err := time.Parse(time.RFC3339Nano, t.raw)
			if err != nil {
				return usagef("%s: not an RFC 3339 instant: %q", t.name, t.raw)
			}
			*t.dst = v
		}
		return runExport(ctx, e, job)
	}
}

// runExport streams the history into a temporary file beside --out and
// renames it into place at the end, so a failed export leaves no partial
// file under the name asked for.
func runExport(ctx context.Context, e env, job exportJob) error {
	d, db, err := job.stores.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	defer db.Close()
	if err := warnIfBehind(ctx, e, d, db); err != nil {
		return err
	}
	audit, err := queries.NewAudit(db, d.store, d.pipeline.Registry())
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(job.out), "."+filepath.Base(job.out)+".*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	n, err := writeExport(ctx, e, audit, job, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), job.out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(e.stdout, "exported %d items to %s\n", n, job.out)
	return nil
}

// writeExport writes the history to f through a buffer, a page at a time
// as the audit reads it, so a long history never sits in memory.
func writeExport(ctx context.Context, e env, audit *queries.Audit, job exportJob, f *os.File) (int, error) {
	bw := bufio.NewWriterSize(f, 1<<16)
	hw, err := queries.NewHistoryWriter(bw, job.format)
	if err != nil {
		return 0, err
	}
	n := 0
	start := time.Now()
	err = audit.History(ctx, job.id, job.from, job.to, job.withKeyMaps, func(it queries.HistoryItem) error {
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
	if err == nil {
		err = f.Sync()
	}
	return n, err
}

// warnIfBehind says on stderr when the read models an export reads have
// not caught up with the log: the export then ends where they do.
func warnIfBehind(ctx context.Context, e env, d *dataDir, db *projections.DB) error {
	head, err := d.store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	cps, err := projections.Checkpoints(ctx, db)
	if err != nil {
		return err
	}
	var behind []string
	for _, name := range exportIndexes {
		if cp, ok := cps[name]; !ok || cp.Position < head {
			behind = append(behind, fmt.Sprintf("%s at %d", name, cp.Position))
		}
	}
	if len(behind) > 0 {
		fmt.Fprintf(e.stderr, "export: warning: the log is at %d, %s: the export ends where they are (run the server or `accessctl projections rebuild`)\n",
			head, strings.Join(behind, ", "))
	}
	return nil
}
