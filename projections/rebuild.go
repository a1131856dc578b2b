package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// RebuildSuffix is appended to the physical tables and to the checkpoint
// name of a rebuild in progress: projection P is rebuilt into `t__rebuild`
// tables under the checkpoint row `P__rebuild`.
const RebuildSuffix = "__rebuild"

// rebuildBatch is how many events one rebuild transaction applies: large,
// since nobody waits on a rebuild's commits.
const rebuildBatch = 5000

// RebuildCheckpoint is the checkpoint row name of P's rebuild.
func RebuildCheckpoint(name string) string { return name + RebuildSuffix }

// RebuildProgress is how far a rebuild got.
type RebuildProgress struct {
	// From is the position the run started from (a resumed rebuild starts
	// past 0), Position the last position applied, Head the target.
	From, Position, Head uint64
	Elapsed              time.Duration
	// Swapped is set on the last report, once the new tables are live.
	Swapped bool
}

// Done is the number of events applied by this run.
func (p RebuildProgress) Done() uint64 { return p.Position - min(p.From, p.Position) }

// Rate is the events applied per second by this run.
func (p RebuildProgress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Done()) / p.Elapsed.Seconds()
}

// Left estimates the time to reach Head at the current rate.
func (p RebuildProgress) Left() time.Duration {
	r := p.Rate()
	if r <= 0 || p.Position >= p.Head {
		return 0
	}
	return time.Duration(float64(p.Head-p.Position) / r * float64(time.Second))
}

// Rebuild rebuilds projections side by side with their live tables: it
// replays the log from position 0 into fresh tables (Tx.Table with
// RebuildSuffix) under a checkpoint of their own, which persists, so an
// interrupted rebuild resumes where it stopped. Once caught up, it swaps
// in one transaction: drop the live tables, rename the rebuilt ones (and
// their indexes), and move the checkpoint.
//
// The swap is safe beside a running server: it holds SQLite's write lock,
// as the server's runners do for each batch (on PostgreSQL, an advisory
// lock: see lockAgainstSwaps), so a batch is entirely before or after it.
// The swapped-in checkpoint is never behind the live one (the rebuild
// first applies, in the swap transaction, what the live runner had
// applied past it), and runners read the stored checkpoint in each batch,
// skipping what the swapped-in tables already reflect.
type Rebuild struct {
	DB          *DB
	Store       eventstore.Store
	Registry    *eventstore.Registry
	Projections []Projection
	// Progress, when set, is called after each batch and after the swap.
	Progress func(RebuildProgress)
}

// Run rebuilds every projection of b together (one pass over the log) and
// swaps them all in at once.
func (b *Rebuild) Run(ctx context.Context) error {
	if b.DB == nil || b.Store == nil || b.Registry == nil || len(b.Projections) == 0 {
		return errors.New("projections: rebuild needs a database, a store, a registry and projections")
	}
	handles := make([]map[string]bool, len(b.Projections))
	for i, p := range b.Projections {
		handles[i] = map[string]bool{}
		for _, t := range p.EventTypes() {
			handles[i][t] = true
		}
	}
	positions, err := b.prepare(ctx)
	if err != nil {
		return err
	}
	from := positions[0]
	for _, p := range positions[1:] {
		from = min(from, p)
	}
	start := time.Now()
	head, err := b.Store.HeadPosition(ctx)
	if err != nil {
		return fmt.Errorf("rebuild: head position: %w", err)
	}
	report := func(pos uint64, swapped bool) {
		if b.Progress != nil {
			b.Progress(RebuildProgress{From: from, Position: pos, Head: max(head, pos), Elapsed: time.Since(start), Swapped: swapped})
		}
	}
	report(from, false)

	pos := from
	for {
		pos, err = b.catchUp(ctx, handles, positions, pos, func(p uint64) { report(p, false) })
		if err != nil {
			return err
		}
		// Stop once the head moved by less than a batch while we read;
		// the swap applies the rest under the write lock.
		if head, err = b.Store.HeadPosition(ctx); err != nil {
			return fmt.Errorf("rebuild: head position: %w", err)
		}
		if head < pos+rebuildBatch {
			break
		}
	}
	if err := b.swap(ctx, handles, positions); err != nil {
		return err
	}
	final := pos
	for _, p := range positions {
		final = max(final, p)
	}
	report(final, true)
	return nil
}

// prepare creates the rebuild tables and returns each projection's rebuild
// position: where a rebuild of the same version stopped, else 0 on fresh
// tables.
func (b *Rebuild) prepare(ctx context.Context) ([]uint64, error) {
	positions := make([]uint64, len(b.Projections))
	err := inDBTx(ctx, b.DB, RebuildSuffix, func(tx Tx) error {
		// Set-ups take turns: two at once on PostgreSQL would each create
		// the same tables and fail on the other's half-made catalogue rows
		// (a duplicate key in pg_type). The second then finds the first's
		// checkpoint, and the batch checks stop one of them.
		if err := lockAgainstSwaps(ctx, tx, true); err != nil {
			return err
		}
		if err := ensureCheckpointTable(ctx, tx); err != nil {
			return err
		}
		for i, p := range b.Projections {
			name := RebuildCheckpoint(p.Name())
			// Claimed (on PostgreSQL, locked until commit) so that a rebuild
			// committing meanwhile is not moved back by the write below.
			version, pos, found, err := claimCheckpoint(ctx, tx, name)
			if err != nil {
				return err
			}
			if !found || version != p.Version() {
				if err := dropTables(ctx, tx, p); err != nil {
					return err
				}
				pos = 0
			}
			if err := p.Setup(ctx, tx); err != nil {
				return fmt.Errorf("setup %s: %w", name, err)
			}
			if err := writeCheckpoint(ctx, tx, name, p.Version(), pos); err != nil {
				return err
			}
			positions[i] = pos
		}
		return nil
	})
	// Fresh rebuild tables may differ from the ones statements saw.
	b.DB.schemaChanged()
	return positions, err
}

// claim checks, in the transaction about to move them, that the rebuild
// checkpoints are where this run left them (positions). A second rebuild of
// the same projection (another accessctl, or a server rebuilding a raised
// version) fills the same tables and moves them: carrying on beside it
// would apply its events a second time, or swap in tables it swapped.
func (b *Rebuild) claim(ctx context.Context, tx Tx, positions []uint64) error {
	for i, p := range b.Projections {
		version, pos, found, err := claimCheckpoint(ctx, tx, RebuildCheckpoint(p.Name()))
		if err != nil {
			return err
		}
		if !found || version != p.Version() || pos != positions[i] {
			return fmt.Errorf("rebuild %s: another rebuild of it ran meanwhile (its checkpoint moved); run this one again once that one has ended", p.Name())
		}
	}
	return nil
}

// decodedBatch is a page of the log, decoded once for every projection.
type decodedBatch struct {
	recs []eventstore.RecordedEvent
	envs []eventstore.Envelope
	ok   []bool
	err  error
}

// catchUp applies the log after pos to the rebuild tables until the end of
// the log as read, and returns the last position applied. Reading and
// decoding run ahead of the writes, in their own goroutine.
func (b *Rebuild) catchUp(ctx context.Context, handles []map[string]bool, positions []uint64, pos uint64, progress func(uint64)) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed := make(chan decodedBatch, 2)
	go func() {
		defer close(feed)
		after := pos
		for {
			recs, err := b.Store.ReadAll(ctx, after, rebuildBatch, eventstore.Filter{})
			if err != nil {
				feed <- decodedBatch{err: fmt.Errorf("rebuild: read after %d: %w", after, err)}
				return
			}
			if len(recs) == 0 {
				return
			}
			d := b.decode(recs, handles)
			select {
			case feed <- d:
			case <-ctx.Done():
				return
			}
			after = recs[len(recs)-1].Position
		}
	}()
	for d := range feed {
		if d.err != nil {
			return pos, d.err
		}
		var next []uint64
		err := inDBTx(ctx, b.DB, RebuildSuffix, func(tx Tx) (err error) {
			if err := b.claim(ctx, tx, positions); err != nil {
				return err
			}
			next, err = b.applyBatch(ctx, tx, handles, positions, d, ^uint64(0))
			return err
		})
		if err != nil {
			return pos, err
		}
		copy(positions, next)
		pos = d.recs[len(d.recs)-1].Position
		progress(pos)
	}
	return pos, ctx.Err()
}

// decode decodes the events some projection handles.
func (b *Rebuild) decode(recs []eventstore.RecordedEvent, handles []map[string]bool) decodedBatch {
	d := decodedBatch{recs: recs, envs: make([]eventstore.Envelope, len(recs)), ok: make([]bool, len(recs))}
	for i, rec := range recs {
		wanted := false
		for _, h := range handles {
			if h[rec.Type] {
				wanted = true
				break
			}
		}
		if !wanted {
			continue
		}
		env, err := b.Registry.Decode(rec)
		if err != nil || !env.Known {
			continue // skipped, as the live runner skips it
		}
		env.Fields() // split here, beside the writer, for the read models that index them
		d.envs[i], d.ok[i] = env, true
	}
	return d
}

// applyBatch applies the events of d up to until (inclusive) to each
// projection past its rebuild position, and moves the rebuild checkpoints.
// It returns the new positions, which hold once tx commits.
func (b *Rebuild) applyBatch(ctx context.Context, tx Tx, handles []map[string]bool, positions []uint64, d decodedBatch, until uint64) ([]uint64, error) {
	next := append([]uint64(nil), positions...)
	for i, p := range b.Projections {
		last := positions[i]
		for j, rec := range d.recs {
			if rec.Position > until {
				break
			}
			last = max(last, rec.Position)
			if rec.Position <= positions[i] || !d.ok[j] || !handles[i][rec.Type] {
				continue
			}
			if err := p.Apply(ctx, tx, d.envs[j]); err != nil {
				return nil, fmt.Errorf("rebuild: apply %s at %d to %s: %w", rec.Type, rec.Position, p.Name(), err)
			}
		}
		if last > positions[i] {
			if err := writeCheckpoint(ctx, tx, RebuildCheckpoint(p.Name()), p.Version(), last); err != nil {
				return nil, err
			}
		}
		next[i] = last
	}
	return next, nil
}

// swap makes the rebuilt tables live in one transaction.
func (b *Rebuild) swap(ctx context.Context, handles []map[string]bool, positions []uint64) error {
	final := append([]uint64(nil), positions...)
	err := inDBTx(ctx, b.DB, RebuildSuffix, func(tx Tx) error {
		if err := lockAgainstSwaps(ctx, tx, true); err != nil {
			return err
		}
		if err := b.claim(ctx, tx, positions); err != nil {
			return err
		}
		for i, p := range b.Projections {
			_, live, found, err := readCheckpoint(ctx, tx, p.Name())
			if err != nil {
				return err
			}
			if found && live > final[i] {
				// The live runner is ahead: apply what it applied, so
				// that it continues exactly where it was.
				if err := b.applyUntil(ctx, tx, handles, final, i, live); err != nil {
					return err
				}
				final[i] = live
			}
			if err := swapTables(ctx, tx, p); err != nil {
				return err
			}
			// The rebuild filled its tables without the readers' indexes:
			// build them now, once each, under their live names.
			if err := createIndexes(ctx, tx.withSuffix(""), p); err != nil {
				return err
			}
			if err := writeCheckpoint(ctx, tx, p.Name(), p.Version(), final[i]); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM `+checkpointTable+` WHERE name = ?`, RebuildCheckpoint(p.Name())); err != nil {
				return fmt.Errorf("rebuild %s: %w", p.Name(), err)
			}
		}
		return nil
	})
	b.DB.schemaChanged()
	if err == nil {
		copy(positions, final)
	}
	return err
}

// applyUntil applies to projection i (only) the log after its rebuild
// position up to until, inside tx.
func (b *Rebuild) applyUntil(ctx context.Context, tx Tx, handles []map[string]bool, positions []uint64, i int, until uint64) error {
	one := &Rebuild{DB: b.DB, Store: b.Store, Registry: b.Registry, Projections: b.Projections[i : i+1]}
	pos := []uint64{positions[i]}
	h := handles[i : i+1]
	for pos[0] < until {
		recs, err := b.Store.ReadAll(ctx, pos[0], int(min(until-pos[0], rebuildBatch)), eventstore.Filter{})
		if err != nil {
			return fmt.Errorf("rebuild: read after %d: %w", pos[0], err)
		}
		if len(recs) == 0 {
			return fmt.Errorf("rebuild %s: log ends before the live checkpoint %d", b.Projections[i].Name(), until)
		}
		next, err := one.applyBatch(ctx, tx, h, pos, one.decode(recs, h), until)
		if err != nil {
			return err
		}
		pos[0] = max(next[0], min(recs[len(recs)-1].Position, until))
	}
	return nil
}

// swapTables drops p's live tables and renames its rebuilt ones into their
// place, with their indexes. tx carries RebuildSuffix.
func swapTables(ctx context.Context, tx Tx, p Projection) error {
	for _, t := range p.Tables() {
		rebuilt := tx.Table(t)
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
			return fmt.Errorf("swap %s: %w", t, err)
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+rebuilt+` RENAME TO `+t); err != nil {
			return fmt.Errorf("swap %s: %w", t, err)
		}
		if err := renameIndexes(ctx, tx, rebuilt, t); err != nil {
			return fmt.Errorf("swap %s: %w", t, err)
		}
	}
	return nil
}

// renameIndexes gives the indexes of table (renamed from old) the names
// Setup gives them on the live table (`<table>_by_x`), so the next Setup
// finds them and the next rebuild can reuse the `__rebuild` names. SQLite
// keeps an index's name on a table rename and cannot rename an index, so
// each is created again under its live name.
func renameIndexes(ctx context.Context, tx Tx, old, table string) error {
	if tx.Dialect == Postgres {
		rows, err := tx.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ?`, table)
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
		for _, n := range names {
			if strings.HasPrefix(n, old) {
				if _, err := tx.Exec(ctx, `ALTER INDEX `+n+` RENAME TO `+table+strings.TrimPrefix(n, old)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, table)
	if err != nil {
		return err
	}
	type index struct{ name, sql string }
	var idx []index
	for rows.Next() {
		var i index
		if err := rows.Scan(&i.name, &i.sql); err != nil {
			rows.Close()
			return err
		}
		idx = append(idx, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, i := range idx {
		if !strings.HasPrefix(i.name, old) {
			continue
		}
		name := table + strings.TrimPrefix(i.name, old)
		at := strings.Index(i.sql, i.name)
		if at < 0 {
			return fmt.Errorf("index %s: cannot find its name in %q", i.name, i.sql)
		}
		create := i.sql[:at] + name + i.sql[at+len(i.name):]
		if _, err := tx.Exec(ctx, `DROP INDEX `+i.name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, create); err != nil {
			return err
		}
	}
	return nil
}

// inDBTx runs fn in one read-model transaction whose Tx.Table adds suffix.
func inDBTx(ctx context.Context, db *DB, suffix string, fn func(Tx) error) error {
	if db.Dialect == Postgres {
		return inPostgresTx(ctx, db, suffix, fn)
	}
	waitStart := time.Now()
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	db.writeWait.Add(int64(time.Since(waitStart)))
	conn, err := db.writer(ctx)
	if err != nil {
		return fmt.Errorf("read models: %w", err)
	}
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		db.dropWriter()
		return fmt.Errorf("read models: %w", err)
	}
	if err := db.noteDataVersion(ctx, sqlTx); err != nil {
		sqlTx.Rollback()
		db.dropWriter()
		return fmt.Errorf("read models: %w", err)
	}
	if err := fn(Tx{Tx: sqlTx, Dialect: db.Dialect, suffix: suffix, db: db, memo: txMemo{}}); err != nil {
		sqlTx.Rollback()
		return err
	}
	commitStart := time.Now()
	defer func() { db.committing.Add(int64(time.Since(commitStart))) }()
	if err := sqlTx.Commit(); err != nil {
		db.dropWriter()
		return fmt.Errorf("read models: commit: %w", err)
	}
	return nil
}

// inPostgresTx is inDBTx on PostgreSQL: the transaction keeps a connection
// of its own, so that its writes can be sent behind (see writeBehind).
func inPostgresTx(ctx context.Context, db *DB, suffix string, fn func(Tx) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("read models: %w", err)
	}
	defer conn.Close()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("read models: %w", err)
	}
	behind := newWriteBehind(conn)
	if err := fn(Tx{Tx: sqlTx, Dialect: db.Dialect, suffix: suffix, db: db, behind: behind, memo: txMemo{}}); err != nil {
		sqlTx.Rollback()
		return behind.cause(err)
	}
	commitStart := time.Now()
	defer func() { db.committing.Add(int64(time.Since(commitStart))) }()
	if err := behind.flush(ctx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("read models: commit: %w", err)
	}
	return nil
}
