package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// maxBehind is how many writes a PostgreSQL transaction holds before it
// sends them.
const maxBehind = 2000

// writeBehind holds the writes of a PostgreSQL transaction whose results
// nobody reads (see Tx.Write) and sends them in one pipeline, one round
// trip for many, before the transaction next reads or commits. A read model
// is mostly such writes; a round trip each made a rebuild wait on the
// network for most of its time.
type writeBehind struct {
	conn   *sql.Conn
	writes []heldWrite
	// targets are the tables the held writes change ("" for a write
	// whose table is not known): a read that names none of them need
	// not wait for the writes.
	targets map[string]bool
	// err is the first failed write: the transaction is aborted from then
	// on, and later statements would report only that.
	err error
}

func newWriteBehind(conn *sql.Conn) *writeBehind {
	return &writeBehind{conn: conn, targets: map[string]bool{}}
}

func (w *writeBehind) add(ctx context.Context, query string, args []any) error {
	if w.err != nil {
		return w.err
	}
	w.writes = append(w.writes, heldWrite{query: query, args: args})
	w.targets[target(query)] = true
	if len(w.writes) >= maxBehind {
		return w.flush(ctx)
	}
	return nil
}

// flush sends the held writes and reports the first that failed.
func (w *writeBehind) flush(ctx context.Context) error {
	if w == nil {
		return nil
	}
	if w.err != nil || len(w.writes) == 0 {
		return w.err
	}
	writes := mergeWrites(w.writes)
	w.writes = w.writes[:0]
	clear(w.targets)
	batch := &pgx.Batch{}
	for _, hw := range writes {
		batch.Queue(Postgres.Rebind(hw.query), hw.args...)
	}
	err := w.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("read models: write-behind needs the pgx driver, not %T", dc)
		}
		br := c.Conn().SendBatch(ctx, batch)
		for _, hw := range writes {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("read models: %s: %w", brief(hw.query), err)
			}
		}
		return br.Close()
	})
	if err != nil {
		w.err = err
	}
	return err
}

// flushFor sends the held writes before a read (a SELECT) that may see
// what they change: one that names a table they write. Reads of other
// tables go first, which changes nothing they return and saves a round
// trip; writes always keep their order (Tx.Exec flushes).
func (w *writeBehind) flushFor(ctx context.Context, read string) error {
	if w == nil {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	for t := range w.targets {
		if t == "" || strings.Contains(read, t) {
			return w.flush(ctx)
		}
	}
	return nil
}

// target is the table a write changes, or "" when it is not plain.
func target(query string) string {
	q := strings.TrimSpace(query)
	for _, verb := range []string{"INSERT INTO ", "UPDATE ", "DELETE FROM "} {
		if rest, ok := strings.CutPrefix(q, verb); ok {
			if end := strings.IndexAny(rest, " \t\n("); end > 0 {
				return rest[:end]
			}
		}
	}
	return ""
}

// cause returns the failed write that aborted the transaction, joined to
// err that a later statement reported, or err alone.
func (w *writeBehind) cause(err error) error {
	if w == nil || w.err == nil || errors.Is(err, w.err) {
		return err
	}
	return errors.Join(w.err, err)
}

// brief shortens a statement for an error message.
func brief(q string) string {
	if len(q) > 120 {
		return q[:120] + "..."
	}
	return q
}
