package servicetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// On the test server, creating a schema's read-model tables takes about
// half a second and dropping them a tenth: most of a suite's time when
// each of its hundreds of tests makes the same tables. A suite whose tests
// all make the same tables takes its schemas from a pool instead: a test's
// schema, emptied of its rows, serves the suite's next test, whose setup
// then finds every table there (the read models' setup creates only what
// is missing). A schema goes back to the pool only when nobody is still
// connected to it and it holds exactly the tables, columns and indexes the
// suite's schemas held before; any other is dropped, as PostgresSchema's
// are, and so is the schema of a test that failed. The pool's shape is
// the first a passing test left. DropPooledSchemas drops what the pool
// holds when the suite ends.

// pooledPrefix starts the names of pooled schemas; each records when it
// was made (its comment), so that a later run can drop those a run that
// died left behind (sweepAbandoned).
const pooledPrefix = "tp_"

// abandonedAfter is the age past which a pooled schema can only be a dead
// run's: no test binary runs this long (make test's -timeout is 20m).
// Age, unlike a process id, means the same on every host and container
// sharing the server.
const abandonedAfter = 2 * time.Hour

type schemaPool struct {
	shape string   // the catalog signature of the pool's schemas, once known
	free  []string // emptied schemas ready for a test
}

var (
	poolsMu sync.Mutex
	pools   = map[string]*schemaPool{}
	swept   sync.Once
	// pooled are the names of every pooled schema this process created.
	pooled []string
)

// PooledPostgresSchema is PostgresSchema for a test of the suite named
// pool, whose tests all create the same tables: the schema may come from
// the suite's earlier tests, emptied, tables and all. The test's
// connections carry the schema's name as their application_name, which is
// how the pool tells that none is left when the test ends.
func PooledPostgresSchema(t testing.TB, pool string) string {
	t.Helper()
	base := PostgresURL(t)
	swept.Do(func() { sweepAbandoned(base) })
	poolsMu.Lock()
	p := pools[pool]
	if p == nil {
		p = &schemaPool{}
		pools[pool] = p
	}
	var name string
	if n := len(p.free); n > 0 {
		name, p.free = p.free[n-1], p.free[:n-1]
	}
	poolsMu.Unlock()
	if name == "" {
		name = pooledPrefix + strings.ReplaceAll(uuid.NewString(), "-", "")
		if err := withConn(base, func(ctx context.Context, conn *pgx.Conn) error {
			made := time.Now().UTC().Format(time.RFC3339)
			_, err := conn.Exec(ctx, "CREATE SCHEMA "+name+"; COMMENT ON SCHEMA "+name+" IS "+quoteLiteral(made))
			return err
		}); err != nil {
			t.Fatalf("postgres: create schema: %v", err)
		}
		poolsMu.Lock()
		pooled = append(pooled, name)
		poolsMu.Unlock()
	}
	t.Cleanup(func() { releaseSchema(base, p, name, t.Failed()) })
	u, err := withParams(base, map[string]string{"search_path": name, "application_name": name})
	if err != nil {
		// Without application_name the pool could not tell a connection
		// left on the schema.
		t.Fatalf("postgres: %v", err)
	}
	return u
}

// releaseSchema empties name and gives it back to p, or drops it when its
// test failed, a connection is left on it or its tables are not the
// pool's.
func releaseSchema(base string, p *schemaPool, name string, failed bool) {
	err := withConn(base, func(ctx context.Context, conn *pgx.Conn) error {
		if failed || !connectionsGone(ctx, conn, name) {
			return errKeep
		}
		var shape string
		if err := conn.QueryRow(ctx, shapeSQL, name).Scan(&shape); err != nil {
			return err
		}
		poolsMu.Lock()
		if p.shape == "" {
			p.shape = shape
		}
		same := p.shape == shape
		poolsMu.Unlock()
		if !same {
			return errKeep
		}
		var tables []string
		rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1`, name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tbl string
			if err := rows.Scan(&tbl); err != nil {
				return err
			}
			tables = append(tables, name+"."+pgx.Identifier{tbl}.Sanitize())
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// Rows are few: deleting them is much cheaper than TRUNCATE, which
		// makes every table's files anew.
		var del strings.Builder
		for _, tbl := range tables {
			del.WriteString("DELETE FROM " + tbl + ";")
		}
		if len(tables) > 0 {
			if _, err := conn.Exec(ctx, del.String()); err != nil {
				return err
			}
		}
		poolsMu.Lock()
		p.free = append(p.free, name)
		poolsMu.Unlock()
		return nil
	})
	if err != nil && len(dropSchemas(base, name)) == 0 {
		forget(name)
	}
}

// errKeep is a schema that goes back to no pool.
var errKeep = fmt.Errorf("schema not reusable")

// connectionsGone waits a little for the test's connections to the schema
// to end: a connection closed by the client leaves the server's list a
// moment later.
func connectionsGone(ctx context.Context, conn *pgx.Conn, name string) bool {
	for range 50 {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n); err != nil {
			return false
		}
		if n == 0 {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// shapeSQL is the catalog signature of a schema: every table's columns
// in order with their types, nullability and defaults, every index's
// definition, every constraint's, and every other relation (views,
// sequences).
const shapeSQL = `SELECT coalesce(string_agg(x, E'\n' ORDER BY x), '') FROM (
	SELECT 'c ' || c.relname || ' ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
		|| ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS x
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
	UNION ALL
	SELECT 'i ' || replace(indexdef, $1 || '.', '') FROM pg_indexes WHERE schemaname = $1
	UNION ALL
	SELECT 'k ' || r.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
	FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid JOIN pg_namespace n ON n.oid = k.connamespace
	WHERE n.nspname = $1
	UNION ALL
	SELECT 'o ' || c.relkind::text || ' ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = $1 AND c.relkind NOT IN ('r', 'p', 'i', 't')
) s`

// DropPooledSchemas drops every pooled schema this process created: call
// it when the suites that pool schemas have run (TestMain).
func DropPooledSchemas() {
	poolsMu.Lock()
	names := pooled
	pooled, pools = nil, map[string]*schemaPool{}
	poolsMu.Unlock()
	if len(names) == 0 {
		return
	}
	dropSchemas(envOr("ACCESSD_TEST_POSTGRES_URL", defaultPostgres), names...)
}

// sweepAbandoned drops the pooled schemas that runs which died before
// DropPooledSchemas (a panic, a timeout) left behind: those made longer
// than abandonedAfter ago, by any host.
func sweepAbandoned(base string) {
	var old []string
	_ = withConn(base, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT nspname, coalesce(obj_description(oid, 'pg_namespace'), '')
			FROM pg_namespace WHERE nspname LIKE 'tp\_%'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name, made string
			if rows.Scan(&name, &made) != nil {
				continue
			}
			if at, err := time.Parse(time.RFC3339, made); err == nil && time.Since(at) > abandonedAfter {
				old = append(old, name)
			}
		}
		return rows.Err()
	})
	if len(old) > 0 {
		dropSchemas(base, old...)
	}
}

func forget(name string) {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	for i, n := range pooled {
		if n == name {
			pooled = append(pooled[:i], pooled[i+1:]...)
			return
		}
	}
}

// dropSchemas drops names and returns those it could not drop.
func dropSchemas(base string, names ...string) (kept []string) {
	err := withConn(base, func(ctx context.Context, conn *pgx.Conn) error {
		for _, name := range names {
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
				kept = append(kept, name)
			}
		}
		return nil
	})
	if err != nil {
		return names
	}
	return kept
}

func withConn(base string, fn func(context.Context, *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return fn(ctx, conn)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
