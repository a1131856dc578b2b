package projections_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/accessd/accessd/projections"
)

// BenchmarkSQLiteRowCost measures what one read-model row costs SQLite as
// this build runs it (modernc.org/sqlite through database/sql, WAL, one
// transaction per 5,000 rows, as a rebuild batches): an eight-column row
// appended in key order with no index, with indexes kept current row by
// row at scattered keys, and with the same indexes built once afterwards
// (the rebuild's way, reported as index-ns/row). It is the floor under
// the rebuild speed: an access event writes about eight rows and fifteen
// index entries across the read models.
//
//	go test -run '^$' -bench SQLiteRowCost -benchtime 200000x ./projections/
func BenchmarkSQLiteRowCost(b *testing.B) {
	for _, indexes := range []int{0, 1, 3} {
		for _, deferred := range []bool{false, true} {
			if indexes == 0 && deferred {
				continue
			}
			name := fmt.Sprintf("indexes=%d", indexes)
			if deferred {
				name += "/built-after"
			}
			b.Run(name, func(b *testing.B) { benchRowCost(b, indexes, deferred) })
		}
	}
}

func benchRowCost(b *testing.B, indexes int, deferred bool) {
	ctx := context.Background()
	db, err := projections.OpenSQLite(ctx, filepath.Join(b.TempDir(), "rows.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (position INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f TEXT, g TEXT)`); err != nil {
		b.Fatal(err)
	}
	var conn *sql.Conn
	createIndexes := func() {
		for i := range indexes {
			col := string(rune('a' + i))
			if _, err := conn.ExecContext(ctx, `CREATE INDEX t_by_`+col+` ON t (`+col+`, position)`); err != nil {
				b.Fatal(err)
			}
		}
	}
	ids := make([]string, 1000) // a thousand locks, users, properties
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	conn, err = db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -65536`); err != nil { // as the writing connection's
		b.Fatal(err)
	}
	if !deferred {
		createIndexes()
	}
	const batch = 5000
	b.ResetTimer()
	for start := 0; start < b.N; start += batch {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for i := start; i < min(start+batch, b.N); i++ {
			if _, err := st.ExecContext(ctx, i, ids[i%1000], ids[i*7%1000], ids[i*13%1000], "2026-11-23T10:00:00.000000000Z", "granted", "", "lock"); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if deferred {
		b.StartTimer()
		createIndexes()
		b.StopTimer()
	}
}
