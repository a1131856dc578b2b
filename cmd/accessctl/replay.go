package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/projections/integration"
)

func replayCommand() command {
	return command{name: "replay", synopsis: "--until RFC3339|POSITION --out DIR [--data-dir DIR] [--eventstore URL]",
		summary: "build the read models as they were at a point of the log into a separate data directory, for `accessd --read-only`",
		flags:   replayFlags}
}

// The files copied as they are now (not as they were): the keys the server
// signs and derives ids with, and the personal-data keys (an erased person
// stays erased in the copy).
var replayCopies = []string{"server-signing.key", commandKeyFile}

const personalKeysFile = "personal-keys.db"

func replayFlags(fs *flag.FlagSet, e env) action {
	dir := dataDirFlag(fs, e)
	eventStore := eventStoreFlag(fs, e)
	until := fs.String("until", "", "the last event to keep: an RFC 3339 instant (events recorded at or before it) or a $all position")
	out := fs.String("out", "", "the new data `directory` to write: new, empty, or holding the same replay (which starts over)")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments: %s", strings.Join(args, " "))
		}
		if *until == "" || *out == "" {
			return usagef("--until and --out are required")
		}
		var (
			position uint64
			at       time.Time
			err      error
		)
		if position, err = strconv.ParseUint(*until, 10, 64); err != nil {
			// Read as the API reads an instant: Go's own parse takes
			// +24:00 (the day before), a comma or a tenth fractional
			// digit, and refuses a lower-case t or z.
			if at, err = domain.ParseInstantInRange("--until", *until); err != nil {
				return usagef("%s", err)
			}
		}
		src, err := filepath.Abs(*dir)
		if err != nil {
			return err
		}
		dst, err := filepath.Abs(*out)
		if err != nil {
			return err
		}
		if src == dst {
			return usagef("--out must differ from --data-dir")
		}
		if within(resolvePath(src), resolvePath(dst)) {
			return usagef("--out %s is inside --data-dir %s: give a directory outside the server's data directory", dst, src)
		}
		if *eventStore == "" {
			if _, err := os.Stat(filepath.Join(src, eventsFile)); err != nil {
				return fmt.Errorf("no event store at %s (is --data-dir the server's data directory?)", filepath.Join(src, eventsFile))
			}
		} else if _, err := backends.EventStoreKind(*eventStore); err != nil {
			return usagef("--eventstore: %v", err)
		}
		marker := replayMarker{Source: src, Until: strconv.FormatUint(position, 10)}
		if *eventStore != "" {
			marker.EventStore = backends.Redact(*eventStore)
		}
		if !at.IsZero() {
			marker.Until = at.UTC().Format(time.RFC3339Nano)
		}
		_, statErr := os.Stat(dst)
		created := errors.Is(statErr, os.ErrNotExist)
		if err := prepareReplayDir(dst, marker); err != nil {
			return err
		}
		last, err := replayInto(ctx, e, src, *eventStore, dst, position, at)
		if err != nil {
			// A failed replay leaves no files of its own (nor the directory
			// it made): its marker and a partial events.db or read models
			// would look like a replay to accessd --read-only.
			if cerr := removeReplay(dst, created); cerr != nil {
				fmt.Fprintf(e.stderr, "replay: remove the failed replay from %s: %v\n", dst, cerr)
			}
			return err
		}
		// Last: only a replay whose every file is written is marked
		// complete, which accessd --read-only requires to serve it.
		marker = marker.Done()
		if err := writeReplayMarker(dst, marker); err != nil {
			return fmt.Errorf("replay: mark %s complete: %w", dst, err)
		}
		fmt.Fprintf(e.stdout, "read models as of position %d written to %s; serve them with: accessd --data-dir %s --read-only\n", last, dst, dst)
		return nil
	}
}

// replayInto writes the replay of src (its log, or the one eventStore
// names) bounded by position or at into dst, prepared and holding its
// marker, and returns the last position copied.
func replayInto(ctx context.Context, e env, src, eventStore, dst string, position uint64, at time.Time) (uint64, error) {
	start := time.Now()
	var last uint64
	var count int64
	var err error
	if eventStore == "" {
		last, count, err = copyEvents(ctx, filepath.Join(src, eventsFile), filepath.Join(dst, eventsFile), position, at)
	} else {
		last, count, err = copyEventsOf(ctx, src, eventStore, filepath.Join(dst, eventsFile), position, at)
	}
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(e.stderr, "replay: copied %d events (up to position %d) in %s\n", count, last, time.Since(start).Round(time.Millisecond))
	if err := copyKeys(ctx, src, dst); err != nil {
		return 0, err
	}
	store, err := sqlite.Open(filepath.Join(dst, eventsFile))
	if err != nil {
		return 0, err
	}
	defer store.Close()
	db, err := projections.OpenSQLite(ctx, filepath.Join(dst, readModelsFile))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	registryDir, err := openDataDir(dst)
	if err != nil {
		return 0, err
	}
	registry := registryDir.pipeline.Registry()
	registryDir.Close()
	pr := newProgressPrinter(e.stderr)
	rb := &projections.Rebuild{DB: db, Store: store, Registry: registry, Projections: all.Projections(registry), Progress: pr.report}
	err = rb.Run(ctx)
	pr.finish()
	if err != nil {
		return 0, err
	}
	// The read models record the copy's log and key, as a server's
	// record its own: the read-only server over dst compares them.
	origin := backends.Origin{EventStore: "sqlite:" + filepath.Join(dst, eventsFile), ReadModels: "sqlite:" + filepath.Join(dst, readModelsFile),
		KeyFile: filepath.Join(dst, commandKeyFile)}
	if key, err := os.ReadFile(origin.KeyFile); err == nil && len(key) == commandKeySize {
		origin.Key = key
	}
	if err := backends.CheckOrigin(ctx, store, db, origin); err != nil {
		return 0, err
	}
	// The deliveries and the forwarder's checkpoint live in
	// integration.db, outside any projection: none are replayed (the
	// copy has sent nothing), but the read-only server needs the
	// deliveries table to answer the webhook routes (it cannot create
	// it). Empty, as a server that never ran would have it.
	integ, _, err := integration.Open(ctx, filepath.Join(dst, integration.File), nil)
	if err != nil {
		return 0, err
	}
	if err := integ.Close(); err != nil {
		return 0, err
	}
	return last, nil
}

// removeReplay removes what a failed replay wrote into dst: every file a
// replay writes, the marker last (so that a removal cut short leaves a
// directory the same replay still starts over), and dst itself when the
// replay created it.
func removeReplay(dst string, created bool) error {
	entries, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if n := e.Name(); isReplayFile(n) && n != replayMarkerFile {
			if err := os.Remove(filepath.Join(dst, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := os.Remove(filepath.Join(dst, replayMarkerFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if created {
		// Only if empty: anything else put there since is not ours.
		return os.Remove(dst)
	}
	return nil
}

// copyEvents creates the event store at dst holding the events of src up
// to position (when non-zero) or recorded up to at, with their positions,
// revisions, ids and recording times unchanged. It returns the last
// position copied and how many events were.
func copyEvents(ctx context.Context, src, dst string, position uint64, at time.Time) (uint64, int64, error) {
	conn, err := openCopy(ctx, dst)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	// Read-only, as every source file of a replay: an evidence copy may sit
	// on a read-only filesystem, and nothing of the source may change.
	srcName, err := sqlite.ReadOnlyDSN(src)
	if err != nil {
		return 0, 0, fmt.Errorf("replay: open %s: %w", src, err)
	}
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, srcName); err != nil {
		return 0, 0, fmt.Errorf("replay: open %s: %w", src, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE src`)
	if position == 0 {
		// The prefix of the log recorded by at: up to the first event
		// recorded after it.
		var first sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT MIN(position) FROM src.events WHERE recorded_at > ?`, recordedAtBound(at)).Scan(&first); err != nil {
			return 0, 0, err
		}
		if first.Valid {
			position = uint64(first.Int64 - 1)
		} else if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM src.events`).Scan(&position); err != nil {
			return 0, 0, err
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO main.events SELECT * FROM src.events WHERE position <= ? ORDER BY position`, int64(position))
	if err != nil {
		tx.Rollback()
		return 0, 0, fmt.Errorf("replay: copy events: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	n, _ := res.RowsAffected()
	last, err := lastCopied(ctx, conn)
	return last, n, err
}

// copyConn is one connection to the event store a replay creates.
type copyConn struct {
	*sql.Conn
	db *sql.DB
}

func (c copyConn) Close() error { return errors.Join(c.Conn.Close(), c.db.Close()) }

// openCopy creates the event store at dst, with the store's schema, and
// opens one connection to it for the copy.
func openCopy(ctx context.Context, dst string) (copyConn, error) {
	// Open once through the store so that dst gets the store's schema.
	s, err := sqlite.Open(dst)
	if err != nil {
		return copyConn{}, err
	}
	s.Close()
	abs, err := filepath.Abs(dst)
	if err != nil {
		return copyConn{}, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// A URL, not "file:"+path: a path holding '#' or '?' is cut there.
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String())
	if err != nil {
		return copyConn{}, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return copyConn{}, err
	}
	return copyConn{Conn: conn, db: db}, nil
}

// lastCopied is the last position of the copy.
func lastCopied(ctx context.Context, conn copyConn) (uint64, error) {
	var last uint64
	err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM main.events`).Scan(&last)
	return last, err
}

// copyEventsOf is copyEvents from the log eventStore names (a scale-out
// server's), read through its store, read-only, a page at a time: the
// copy is the data directory's SQLite, as any replay's.
func copyEventsOf(ctx context.Context, dir, eventStore, dst string, position uint64, at time.Time) (uint64, int64, error) {
	src, err := openEventStoreReadOnlyAt(ctx, dir, eventStore)
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	conn, err := openCopy(ctx, dst)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	insert, err := tx.PrepareContext(ctx, `INSERT INTO main.events (position, stream, revision, id, type, data, metadata, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, 0, err
	}
	defer insert.Close()
	var n int64
	bound := recordedAtBound(at)
	for after := uint64(0); ; {
		recs, err := src.store.ReadAll(ctx, after, 1000, eventstore.Filter{})
		if err != nil {
			return 0, 0, fmt.Errorf("replay: read %s: %w", backends.Redact(eventStore), err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			// The prefix of the log: up to position, or up to the first
			// event recorded after at.
			if position != 0 && r.Position > position || position == 0 && r.RecordedAt.UnixNano() > bound {
				return commitCopy(ctx, tx, conn, n)
			}
			if _, err := insert.ExecContext(ctx, int64(r.Position), r.Stream, int64(r.Revision), r.ID[:], r.Type,
				nonEmpty(r.Data), nonEmpty(r.Metadata), r.RecordedAt.UnixNano()); err != nil {
				return 0, 0, fmt.Errorf("replay: copy events: %w", err)
			}
			n++
		}
		after = recs[len(recs)-1].Position
	}
	return commitCopy(ctx, tx, conn, n)
}

func commitCopy(ctx context.Context, tx *sql.Tx, conn copyConn, n int64) (uint64, int64, error) {
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	last, err := lastCopied(ctx, conn)
	return last, n, err
}

// nonEmpty is b, or nil (NULL) when empty, as the SQLite store keeps it.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// recordedAtBound is at in the events' recorded_at unit, Unix nanoseconds.
// An instant past what an int64 holds (after 2262, before 1678) becomes
// the largest or the least value: UnixNano would wrap it around, and keep
// the whole log for an instant before it, none for one after it.
func recordedAtBound(at time.Time) int64 {
	switch {
	case at.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	case at.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	}
	return at.UnixNano()
}

// copyKeys copies the server's keys and a snapshot of the personal-data
// keys, so the copy answers with the same signatures and names.
func copyKeys(ctx context.Context, src, dst string) error {
	for _, f := range replayCopies {
		b, err := os.ReadFile(filepath.Join(src, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := writeSecretFile(filepath.Join(dst, f), b); err != nil {
			return err
		}
	}
	pk := filepath.Join(src, personalKeysFile)
	if _, err := os.Stat(pk); err != nil {
		return nil
	}
	pkName, err := sqlite.ReadOnlyDSN(pk)
	if err != nil {
		return fmt.Errorf("replay: open %s: %w", pk, err)
	}
	db, err := sql.Open("sqlite", withoutQueryOnly(pkName))
	if err != nil {
		return err
	}
	defer db.Close()
	// VACUUM INTO would create the file with the umask's mode (0644): it
	// fills an empty file instead, so create that 0600 first and no copy of
	// the keys is ever readable by others.
	out := filepath.Join(dst, personalKeysFile)
	if err := writeSecretFile(out, nil); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		return fmt.Errorf("replay: copy %s: %w", personalKeysFile, err)
	}
	return nil
}

// withoutQueryOnly drops query_only from a read-only DSN: it also refuses
// VACUUM INTO, which writes only the copy; the source stays read-only by
// its open mode (immutable or mode=ro).
func withoutQueryOnly(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	q["_pragma"] = slices.DeleteFunc(q["_pragma"], func(p string) bool { return p == "query_only(1)" })
	u.RawQuery = q.Encode()
	return u.String()
}

// writeSecretFile writes b to path, readable by the owner only, also when
// --out already held a file of that name with a wider mode (os.WriteFile
// keeps an existing file's mode).
func writeSecretFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// resolvePath is the absolute path abs with the symbolic links of its
// longest existing prefix resolved, so that a path through a link and the
// path it names compare equal also where the rest does not exist yet.
func resolvePath(abs string) string {
	rest := ""
	for p := abs; ; {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return abs
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// within reports whether path is dir or lies under it; both are clean
// absolute paths.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
