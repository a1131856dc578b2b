package projections_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// logged keeps every Ticked event's n in a plain table through Tx.Write;
// with unique set, a repeated n breaks the table's key.
type logged struct{ unique bool }

func (logged) Name() string         { return "logged" }
func (logged) Version() int         { return 1 }
func (logged) EventTypes() []string { return []string{"Ticked"} }
func (logged) Tables() []string     { return []string{"logged"} }

func (p logged) Setup(ctx context.Context, tx projections.Tx) error {
	key := ""
	if p.unique {
		key = " PRIMARY KEY"
	}
	_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tx.Table("logged")+` (n BIGINT NOT NULL`+key+`, stream TEXT NOT NULL)`)
	return err
}

func (logged) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	return tx.Write(ctx, `INSERT INTO `+tx.Table("logged")+` (n, stream) VALUES (?, ?)`, env.Event.(ticked).N, env.Stream)
}

// Writes held behind (on PostgreSQL) all land, and one that fails fails
// the rebuild instead of being lost.
func TestWritesLandAndAFailedWriteFailsTheBatch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 1; i <= 250; i++ {
		f.append(t, fmt.Sprintf("tick-%d", i%3), ticked{N: i})
	}
	rb := &projections.Rebuild{DB: f.db, Store: f.store, Registry: f.registry, Projections: []projections.Projection{logged{}}}
	require.NoError(t, rb.Run(ctx))
	var rows, sum int
	require.NoError(t, f.db.QueryRow(`SELECT COUNT(*), SUM(n) FROM logged`).Scan(&rows, &sum))
	require.Equal(t, 250, rows)
	require.Equal(t, 250*251/2, sum)

	f.append(t, "tick-again", ticked{N: 7})
	rb = &projections.Rebuild{DB: f.db, Store: f.store, Registry: f.registry, Projections: []projections.Projection{logged{unique: true}}}
	err := rb.Run(ctx)
	require.Error(t, err, "n=7 twice breaks the key")
	require.Contains(t, err.Error(), "logged")
}
