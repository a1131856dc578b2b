package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
)

// readModelsFile is the read-model database of a data directory, named as
// cmd/accessd names it.
const readModelsFile = "readmodels.db"

func projectionsListCommand() command {
	return command{name: "projections list", synopsis: "[--data-dir DIR]",
		summary: "list the read models: name, version, checkpoint and lag",
		flags:   func(fs *flag.FlagSet, e env) action { return projectionsShow(fs, e, false) }}
}

func projectionsStatusCommand() command {
	return command{name: "projections status", synopsis: "[--data-dir DIR]",
		summary: "list the read models with the progress of rebuilds in progress",
		flags:   func(fs *flag.FlagSet, e env) action { return projectionsShow(fs, e, true) }}
}

func projectionsRebuildCommand() command {
	return command{name: "projections rebuild", synopsis: "NAME... | --all [--data-dir DIR]",
		summary: "rebuild read models beside the live ones, then swap them in (resumes if interrupted)",
		flags:   projectionsRebuildFlags}
}

// storeFlags name where a server keeps its log and read models: its data
// directory, or the scale-out settings it runs with.
type storeFlags struct {
	dir, eventStore, readModels *string
}

func storeFlagsOf(fs *flag.FlagSet, e env) storeFlags {
	return storeFlags{
		dir:        dataDirFlag(fs, e),
		eventStore: eventStoreFlag(fs, e),
		readModels: fs.String("readmodels", e.getenv("ACCESSD_READMODELS"),
			"the server's `--readmodels` setting, e.g. postgres://… (ACCESSD_READMODELS)"),
	}
}

// eventStoreFlag is --eventstore, the log of a server not on its data
// directory's (openEventStoreAt opens what it names).
func eventStoreFlag(fs *flag.FlagSet, e env) *string {
	return fs.String("eventstore", e.getenv("ACCESSD_EVENTSTORE"),
		"the server's `--eventstore` setting, for a server not on its data directory's log (ACCESSD_EVENTSTORE)")
}

// open opens the event store and the read models the flags name.
func (f storeFlags) open(ctx context.Context) (*dataDir, *projections.DB, error) {
	if *f.readModels != "" {
		if _, err := backends.ReadModelsKind(*f.readModels); err != nil {
			return nil, nil, usagef("--readmodels: %v", err)
		}
	}
	d, err := openEventStoreAt(ctx, *f.dir, *f.eventStore)
	if err != nil {
		return nil, nil, err
	}
	setting := *f.readModels
	if setting == "" {
		setting = "sqlite:" + filepath.Join(*f.dir, readModelsFile)
	}
	db, err := backends.OpenReadModels(ctx, setting)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	if err := f.checkOrigin(ctx, d, db, setting, false); err != nil {
		db.Close()
		d.Close()
		return nil, nil, err
	}
	return d, db, nil
}

// checkOrigin refuses read models built from another log, or kept with
// another command key, than the data directory's (see
// backends.CheckOrigin); writable, it records what they lack.
func (f storeFlags) checkOrigin(ctx context.Context, d *dataDir, db *projections.DB, readModels string, readOnly bool) error {
	eventStore := *f.eventStore
	if eventStore == "" {
		eventStore = "sqlite:" + filepath.Join(*f.dir, eventsFile)
	}
	o := backends.Origin{EventStore: eventStore, ReadModels: readModels,
		KeyFile: filepath.Join(*f.dir, commandKeyFile), ReadOnly: readOnly}
	// A key the server has not made yet is not compared.
	if key, err := os.ReadFile(o.KeyFile); err == nil && len(key) == commandKeySize {
		o.Key = key
	}
	return backends.CheckOrigin(ctx, d.store, db, o)
}

// openReadOnly opens the event store and the read models the flags name
// without writing to either (see backends.OpenReadModelsReadOnly), so that
// list and status work on a read-only mount and change no file of a
// replayed directory. The read models are nil when their SQLite file does
// not exist: it is not created.
func (f storeFlags) openReadOnly(ctx context.Context) (*dataDir, *projections.DB, error) {
	if *f.readModels != "" {
		if _, err := backends.ReadModelsKind(*f.readModels); err != nil {
			return nil, nil, usagef("--readmodels: %v", err)
		}
	}
	d, err := openEventStoreReadOnlyAt(ctx, *f.dir, *f.eventStore)
	if err != nil {
		return nil, nil, err
	}
	setting := *f.readModels
	if setting == "" {
		setting = "sqlite:" + filepath.Join(*f.dir, readModelsFile)
	}
	if kind, _ := backends.ReadModelsKind(setting); kind == backends.SQLite {
		if _, err := os.Stat(backends.SQLitePath(setting)); errors.Is(err, fs.ErrNotExist) {
			return d, nil, nil
		}
	}
	db, err := backends.OpenReadModelsReadOnly(ctx, setting)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	if err := f.checkOrigin(ctx, d, db, setting, true); err != nil {
		db.Close()
		d.Close()
		return nil, nil, err
	}
	return d, db, nil
}

func projectionsShow(fs *flag.FlagSet, e env, withRebuilds bool) action {
	stores := storeFlagsOf(fs, e)
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments: %s", strings.Join(args, " "))
		}
		d, db, err := stores.openReadOnly(ctx)
		if err != nil {
			return err
		}
		defer d.Close()
		head, err := d.store.HeadPosition(ctx)
		if err != nil {
			return err
		}
		cps := map[string]projections.Checkpoint{}
		if db != nil {
			defer db.Close()
			if cps, err = projections.Checkpoints(ctx, db); err != nil {
				return err
			}
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		header := "NAME\tVERSION\tSTORED\tCHECKPOINT\tLAG"
		if withRebuilds {
			header += "\tREBUILD"
		}
		fmt.Fprintln(w, header)
		for _, p := range all.Projections(d.pipeline.Registry()) {
			stored, checkpoint, lag := "-", "-", "-"
			if c, ok := cps[p.Name()]; ok {
				stored, checkpoint, lag = fmt.Sprint(c.Version), fmt.Sprint(c.Position), fmt.Sprint(head-min(head, c.Position))
				if c.Version != p.Version() {
					stored += " (rebuild due)"
				}
			}
			line := fmt.Sprintf("%s\t%d\t%s\t%s\t%s", p.Name(), p.Version(), stored, checkpoint, lag)
			if withRebuilds {
				rb := "-"
				if c, ok := cps[projections.RebuildCheckpoint(p.Name())]; ok {
					rb = fmt.Sprintf("v%d at %d/%d (%.1f%%)", c.Version, c.Position, head, percent(c.Position, head))
					if c.Version != p.Version() { // what Rebuild.prepare drops
						rb = fmt.Sprintf("v%d at %d, left by another version: the next rebuild starts over", c.Version, c.Position)
					}
				}
				line += "\t" + rb
			}
			fmt.Fprintln(w, line)
		}
		fmt.Fprintf(w, "\nhead position: %d\n", head)
		if len(cps) == 0 {
			fmt.Fprintln(w, "no read models yet: the server builds them when it starts, or run `accessctl projections rebuild --all`")
		}
		return w.Flush()
	}
}

func percent(pos, head uint64) float64 {
	if head == 0 {
		return 100
	}
	return 100 * float64(min(pos, head)) / float64(head)
}

func projectionsRebuildFlags(fs *flag.FlagSet, e env) action {
	stores := storeFlagsOf(fs, e)
	everything := fs.Bool("all", false, "rebuild every read model")
	return func(ctx context.Context, rest []string) error {
		// Names and flags may come in any order: rebuild NAME --data-dir DIR.
		var args []string
		for len(rest) > 0 {
			args = append(args, rest[0])
			if err := fs.Parse(rest[1:]); err != nil {
				return usageError{err.Error()}
			}
			rest = fs.Args()
		}
		switch {
		case *everything && len(args) > 0:
			return usagef("--all rebuilds every read model: give --all or names, not both")
		case !*everything && len(args) == 0:
			return usagef("name the read models to rebuild, or give --all")
		}
		// A read model named twice would be rebuilt twice into the same
		// tables, and the second swap find them gone: refuse before starting.
		for i, name := range args {
			if slices.Contains(args[:i], name) {
				return usagef("read model %q named twice", name)
			}
		}
		d, db, err := stores.open(ctx)
		if err != nil {
			return err
		}
		defer d.Close()
		defer db.Close()
		known := all.Projections(d.pipeline.Registry())
		chosen := known
		if !*everything {
			chosen = nil
			for _, name := range args {
				i := slices.IndexFunc(known, func(p projections.Projection) bool { return p.Name() == name })
				if i < 0 {
					names := make([]string, len(known))
					for j, p := range known {
						names[j] = p.Name()
					}
					return usagef("unknown read model %q (one of: %s)", name, strings.Join(names, ", "))
				}
				chosen = append(chosen, known[i])
			}
		}
		names := make([]string, len(chosen))
		for i, p := range chosen {
			names[i] = p.Name()
		}
		fmt.Fprintf(e.stderr, "rebuilding %s\n", strings.Join(names, ", "))
		pr := newProgressPrinter(e.stderr)
		rb := &projections.Rebuild{DB: db, Store: d.store, Registry: d.pipeline.Registry(), Projections: chosen, Progress: pr.report}
		if err := rb.Run(ctx); err != nil {
			pr.finish()
			return err
		}
		pr.finish()
		fmt.Fprintf(e.stdout, "rebuilt and swapped in: %s\n", strings.Join(names, ", "))
		return nil
	}
}

// progressPrinter shows a rebuild's progress: a bar redrawn in place on a
// terminal, plain lines (at most one every few seconds) otherwise.
type progressPrinter struct {
	w        io.Writer
	terminal bool
	last     time.Time
	drawn    bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	return &progressPrinter{w: w, terminal: isTerminal(w)}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progressPrinter) report(pr projections.RebuildProgress) {
	now := time.Now()
	every := 2 * time.Second
	if p.terminal {
		every = 100 * time.Millisecond
	}
	if !pr.Swapped && pr.Position < pr.Head && now.Sub(p.last) < every {
		return
	}
	p.last = now
	total := pr.Head - min(pr.From, pr.Head)
	status := fmt.Sprintf("%d/%d events  %.0f events/s  %s left", pr.Done(), total, pr.Rate(), pr.Left().Round(time.Second))
	if pr.Swapped {
		status = fmt.Sprintf("%d events in %s (%.0f events/s), swapped in at position %d", pr.Done(), pr.Elapsed.Round(time.Millisecond), pr.Rate(), pr.Position)
	}
	if !p.terminal {
		fmt.Fprintf(p.w, "rebuild: position %d/%d  %s\n", pr.Position, pr.Head, status)
		return
	}
	const width = 30
	filled := width
	if total > 0 {
		filled = int(float64(width) * float64(pr.Done()) / float64(total))
	}
	filled = min(max(filled, 0), width)
	fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", filled), strings.Repeat(".", width-filled), status)
	p.drawn = true
}

func (p *progressPrinter) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
