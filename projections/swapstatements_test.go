package projections_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// reshaped keeps one row per Ticked event; version 2 changes the table's
// columns, as a new version of a read model may.
type reshaped struct{ version int }

func (p reshaped) Name() string       { return "reshaped" }
func (p reshaped) Version() int       { return p.version }
func (reshaped) EventTypes() []string { return []string{"Ticked"} }
func (reshaped) Tables() []string     { return []string{"reshaped"} }

func (p reshaped) Setup(ctx context.Context, tx projections.Tx) error {
	cols := `n BIGINT NOT NULL`
	if p.version > 1 {
		cols = `label TEXT NOT NULL, n BIGINT NOT NULL, doubled BIGINT NOT NULL`
	}
	_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table("reshaped")+` (`+cols+`)`)
	return err
}

func (p reshaped) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	n := env.Event.(ticked).N
	if p.version > 1 {
		return tx.Write(ctx, `INSERT INTO `+tx.Table("reshaped")+` (label, n, doubled) VALUES (?, ?, ?)`, env.Stream, n, 2*n)
	}
	return tx.Write(ctx, `INSERT INTO `+tx.Table("reshaped")+` (n) VALUES (?)`, n)
}

// A statement the pool ran before a swap runs again after it although the
// swapped-in table has other columns: on PostgreSQL a statement prepared
// before would otherwise fail ("cached plan must not change result type").
func TestStatementsSurviveASwapThatChangesColumns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if f.db.Dialect == projections.Postgres {
		// Every statement on the one connection that cached it. (SQLite
		// prepares on the pool while a transaction holds a connection.)
		f.db.SetMaxOpenConns(1)
	}
	f.append(t, "tick-a", ticked{N: 3})
	rebuild := func(p projections.Projection) {
		t.Helper()
		rb := &projections.Rebuild{DB: f.db, Store: f.store, Registry: f.registry, Projections: []projections.Projection{p}}
		require.NoError(t, rb.Run(ctx))
	}
	count := func() (rows, cols int) {
		t.Helper()
		r, err := f.db.QueryContext(ctx, `SELECT * FROM reshaped WHERE n > $1`, 0)
		if f.db.Dialect == projections.SQLite {
			r, err = f.db.QueryContext(ctx, `SELECT * FROM reshaped WHERE n > ?`, 0)
		}
		require.NoError(t, err)
		defer r.Close()
		names, err := r.Columns()
		require.NoError(t, err)
		for r.Next() {
			rows++
		}
		require.NoError(t, r.Err())
		return rows, len(names)
	}
	rebuild(reshaped{version: 1})
	rows, cols := count()
	require.Equal(t, 1, rows)
	require.Equal(t, 1, cols)

	rebuild(reshaped{version: 2})
	rows, cols = count()
	require.Equal(t, 1, rows)
	require.Equal(t, 3, cols, "the swapped-in table's columns")
}
