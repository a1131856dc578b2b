// Package readmodeltest opens the read-model database a test runs against:
// SQLite by default, PostgreSQL when ACCESSD_TEST_READMODELS=postgres, so
// the same suites prove the read models on both dialects.
package readmodeltest

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections"
)

// Env selects the read-model dialect of the tests: "postgres", or empty
// (or "sqlite") for the embedded default.
const Env = "ACCESSD_TEST_READMODELS"

// Postgres reports whether the tests run their read models on PostgreSQL.
func Postgres() bool { return os.Getenv(Env) == "postgres" }

// Open opens a fresh read-model database for t: the SQLite file at
// sqlitePath, or, under ACCESSD_TEST_READMODELS=postgres, a schema of t's
// own on the test PostgreSQL server (dropped when t ends). The caller
// closes it.
func Open(ctx context.Context, t testing.TB, sqlitePath string) *projections.DB {
	t.Helper()
	db, err := open(ctx, t, sqlitePath)
	require.NoError(t, err)
	return db
}

// OpenPooled is Open for a test of the suite named pool, whose tests all
// set up the same read models: on PostgreSQL its schema may be one an
// earlier test of the suite left, emptied, with its tables (see
// servicetest.PooledPostgresSchema). The suite's TestMain calls
// servicetest.DropPooledSchemas after its tests.
func OpenPooled(ctx context.Context, t testing.TB, sqlitePath, pool string) *projections.DB {
	t.Helper()
	if Postgres() {
		db, err := projections.OpenPostgres(ctx, servicetest.PooledPostgresSchema(t, pool))
		require.NoError(t, err)
		return db
	}
	return Open(ctx, t, sqlitePath)
}

func open(ctx context.Context, t testing.TB, sqlitePath string) (*projections.DB, error) {
	switch v := os.Getenv(Env); v {
	case "postgres":
		return projections.OpenPostgres(ctx, servicetest.PostgresSchema(t))
	case "", "sqlite":
		return projections.OpenSQLite(ctx, sqlitePath)
	default:
		t.Fatalf("%s=%q: want postgres or sqlite", Env, v)
		return nil, nil
	}
}

// SQLiteTables are the names of the tables of the SQLite database db, in
// order.
func SQLiteTables(t testing.TB, db *projections.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}
