package projections

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the embedded read-model database
)

// Dialect is the SQL flavour of a read-model database.
type Dialect int

const (
	// SQLite is the embedded default.
	SQLite Dialect = iota
	// Postgres is the scale-out read-model store.
	Postgres
)

// DB is a read-model database: a pool and its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
	// writeMu serialises this process's read-model transactions. SQLite
	// allows one writer; waiting here costs nothing, while waiting in
	// SQLite's busy handler sleeps for up to 100 ms between tries.
	writeMu sync.Mutex
	// writeConn, under writeMu, is the connection every SQLite read-model
	// transaction of this process runs on. One connection keeps its page
	// cache from batch to batch; a pooled one finds its cache stale after
	// another connection's commit, frees it and reads every page again,
	// which cost a rebuild a third of its time.
	writeConn *sql.Conn

	stmtMu sync.RWMutex
	stmts  map[string]*sql.Stmt

	// schemaGen counts this process's swaps and resets of read-model
	// tables; a PostgreSQL connection drops its cached statements when it
	// last ran under an older generation (see OpenPostgres).
	schemaGen atomic.Uint64

	// checkpoints runs the WAL checkpoints of a writable SQLite database.
	checkpoints *checkpointer

	// writeWait and committing count the nanoseconds transactions waited
	// for the writer's turn (SQLite) and spent committing (on PostgreSQL
	// with sending the writes held behind).
	writeWait, committing atomic.Int64

	// dataVersion, under writeMu, is SQLite's data_version as the writer
	// last saw it; foreignCommits counts the times it had moved, that is
	// commits by other connections, each of which emptied the writer's
	// page cache.
	dataVersion    int64
	foreignCommits atomic.Uint64
}

// Update runs fn in one read-model transaction. Every write to the
// read-model database belongs in one: on SQLite it runs on the writing
// connection, whose whole page cache SQLite discards after a commit made
// on any other connection (see ForeignCommits).
func (d *DB) Update(ctx context.Context, fn func(Tx) error) error {
	return inDBTx(ctx, d, "", fn)
}

// ForeignCommits counts the commits to a SQLite read-model database this
// process's writer found made by another connection (another process, or a
// write that bypassed Update). Each cost the writer its page cache; 0 on
// PostgreSQL.
func (d *DB) ForeignCommits() uint64 { return d.foreignCommits.Load() }

// noteDataVersion records the data_version seen at the start of a writer
// transaction, counting a change since the last one.
func (d *DB) noteDataVersion(ctx context.Context, tx *sql.Tx) error {
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return err
	}
	if d.dataVersion != 0 && v != d.dataVersion {
		d.foreignCommits.Add(1)
	}
	d.dataVersion = v
	return nil
}

// noticeForeignCommits counts a commit by another connection since the
// writer last looked (noteDataVersion), while this process writes
// nothing: the checkpointer calls it at each tick, so another process's
// commit (accessctl's rebuild swapping tables) moves ForeignCommits, and
// so the caches that follow it (Changes), within a tick even on an idle
// server. The writer's data_version moves with every connection's
// commits but its own.
func (d *DB) noticeForeignCommits() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if d.writeConn == nil {
		return
	}
	var v int64
	if err := d.writeConn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return
	}
	if d.dataVersion != 0 && v != d.dataVersion {
		d.foreignCommits.Add(1)
	}
	d.dataVersion = v
}

// WriterTimes is how long this process's read-model transactions have
// waited for the writer's turn (SQLite; 0 on PostgreSQL) and spent
// committing (on PostgreSQL, with sending the writes held behind): with
// the runners' apply times, where the writer's time goes.
func (d *DB) WriterTimes() (wait, commit time.Duration) {
	return time.Duration(d.writeWait.Load()), time.Duration(d.committing.Load())
}

// schemaChanged records that tables were dropped or renamed.
func (d *DB) schemaChanged() { d.schemaGen.Add(1) }

// maxPrepared bounds the prepared-statement cache (the projections use a few
// hundred distinct statements; a rebuild's renamed tables add as many).
const maxPrepared = 2048

// prepared returns the statement for query prepared on the pool, or nil when
// it cannot be prepared (a table not created yet): parsing SQL on every
// call was a large share of a projection's CPU.
//
// On PostgreSQL it is always nil: pgx prepares and caches statements per
// connection already, whereas a statement prepared on the pool would take a
// second connection while a transaction holds one.
func (d *DB) prepared(ctx context.Context, query string) *sql.Stmt {
	if d.Dialect != SQLite {
		return nil
	}
	d.stmtMu.RLock()
	st := d.stmts[query]
	d.stmtMu.RUnlock()
	if st != nil {
		return st
	}
	st, err := d.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	if prev := d.stmts[query]; prev != nil {
		st.Close()
		return prev
	}
	if d.stmts == nil || len(d.stmts) >= maxPrepared {
		for _, old := range d.stmts {
			old.Close()
		}
		d.stmts = map[string]*sql.Stmt{}
	}
	d.stmts[query] = st
	return st
}

// readPool is the number of pooled read-model connections: opening one runs
// the pragmas and reads the schema, far dearer than a query.
const readPool = 16

// sqliteDSN names the SQLite file at path, with query's parameters, as a
// URI whose path is escaped: a '#' or '?' in a directory's name is part of
// the file's name, not the start of a fragment or of the parameters.
func sqliteDSN(path, query string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: abs, RawQuery: query}).String(), nil
}

// OpenSQLite opens (creating) the read-model database at path. Read models
// can be rebuilt from the log, so commits need not wait for the disk
// (synchronous=NORMAL): a crash may lose the last batches, but a batch and
// its checkpoint are lost together, never one without the other.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	return OpenSQLiteNamed(ctx, "read models", path)
}

// OpenSQLiteNamed is OpenSQLite for another database kept with the read
// models' settings (integration.db), its errors naming it name.
func OpenSQLiteNamed(ctx context.Context, name, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil { // code and key hashes: the owner's only
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dsn, err := sqliteDSN(path, "_txlock=immediate"+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)")
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, path, err)
	}
	db.SetMaxOpenConns(readPool)
	db.SetMaxIdleConns(readPool)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s %s: %w", name, path, err)
	}
	d := &DB{DB: db, Dialect: SQLite}
	if d.checkpoints, err = startCheckpointer(d, path, walDefaults); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s %s: %w", name, path, err)
	}
	return d, nil
}

// writerCache is the page cache of the writing connection: it holds the
// index pages a batch touches, which are most of a batch's reads.
const writerCache = `PRAGMA cache_size = -65536` // KiB

// writer returns the writing connection, opening it on first use. Call it
// with writeMu held.
func (d *DB) writer(ctx context.Context) (*sql.Conn, error) {
	if d.writeConn != nil {
		return d.writeConn, nil
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// Statement journals and index sorts kept in memory save a file write
	// per page. Set outside a transaction: SQLite refuses to change
	// temp_store inside one once the connection has used temporary storage.
	pragmas := []string{writerCache, `PRAGMA temp_store = MEMORY`, `PRAGMA wal_autocheckpoint = 0`}
	if d.checkpoints != nil {
		// The writer's first commit after the checkpointer started the WAL
		// over cuts the file back to this size (walLimits.walBytes).
		pragmas = append(pragmas, fmt.Sprintf(`PRAGMA journal_size_limit = %d`, d.checkpoints.limits.walBytes()))
	}
	for _, pragma := range pragmas {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			conn.Close()
			return nil, err
		}
	}
	d.writeConn = conn
	return conn, nil
}

// dropWriter gives up the writing connection after it failed, so the next
// transaction opens a fresh one. Call it with writeMu held.
func (d *DB) dropWriter() {
	if d.writeConn != nil {
		d.writeConn.Close()
		d.writeConn = nil
	}
	d.dataVersion = 0 // data_version is per connection
}

// Close stops the checkpoints, closes the writing connection, then the pool.
func (d *DB) Close() error {
	if d.checkpoints != nil {
		d.checkpoints.close()
	}
	d.writeMu.Lock()
	d.dropWriter()
	d.writeMu.Unlock()
	return d.DB.Close()
}

// Rebind turns `?` placeholders into the dialect's own.
func (d Dialect) Rebind(query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Tx is a read-model transaction. Table maps a projection's logical table
// names to the physical tables it writes now, so a rebuild can fill fresh
// tables beside the live ones and swap them in.
type Tx struct {
	*sql.Tx
	Dialect Dialect
	suffix  string
	// db, when set, supplies prepared statements.
	db *DB
	// behind, when set, holds writes to send together (PostgreSQL).
	behind *writeBehind
	// memo, when set, holds what projections keep for the transaction.
	memo txMemo
}

// txMemo is what projections keep for the length of one transaction, by
// name and physical tables.
type txMemo map[string]map[string]any

// Memo returns the map named name that lives as long as the transaction:
// a projection keeps there what it read or wrote earlier in the same
// transaction, which a rollback discards with it, so it is never stale
// (a memo across transactions would outlive a rolled-back batch). Each
// set of physical tables (see Table) has its own. Nil when the Tx was made
// without one: then keep nothing.
func (t Tx) Memo(name string) map[string]any {
	if t.memo == nil {
		return nil
	}
	key := name + "\x00" + t.suffix
	m := t.memo[key]
	if m == nil {
		m = map[string]any{}
		t.memo[key] = m
	}
	return m
}

// Table returns the physical name of a logical table.
func (t Tx) Table(name string) string { return name + t.suffix }

// withSuffix is t naming other physical tables: "" names the live ones.
func (t Tx) withSuffix(suffix string) Tx {
	t.suffix = suffix
	return t
}

// stmt returns query's prepared statement bound to this transaction, or nil.
func (t Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.db == nil {
		return nil
	}
	if st := t.db.prepared(ctx, query); st != nil {
		return t.Tx.StmtContext(ctx, st)
	}
	return nil
}

// Write runs a statement written with `?` placeholders whose result the
// caller does not need. On PostgreSQL it may be held and sent with others
// before the transaction's next read or its commit, so that many writes
// cost one round trip; an error may then surface at that later statement.
// Elsewhere it is Exec.
func (t Tx) Write(ctx context.Context, query string, args ...any) error {
	if t.behind == nil {
		_, err := t.Exec(ctx, query, args...)
		return err
	}
	return t.behind.add(ctx, query, args)
}

// Exec runs a statement written with `?` placeholders.
func (t Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.behind.flush(ctx); err != nil {
		return nil, err
	}
	query = t.Dialect.Rebind(query)
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// Query runs a query (a SELECT) written with `?` placeholders.
func (t Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.behind.flushFor(ctx, query); err != nil {
		return nil, err
	}
	query = t.Dialect.Rebind(query)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRow runs a one-row query (a SELECT) written with `?` placeholders.
//
// A held write that fails aborts the transaction, so the row then reports
// that; the transaction's caller gets the write's own error as well.
func (t Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	t.behind.flushFor(ctx, query)
	query = t.Dialect.Rebind(query)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
