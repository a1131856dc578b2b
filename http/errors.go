package httpapi

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
)

// statusOf maps an error to its HTTP status. It is the only place that does.
func statusOf(err error) int {
	var command *whatIfCommandError
	switch {
	case errors.As(err, &command):
		// A what-if's command failed on the server's side: its status.
		return command.status
	case errors.Is(err, domain.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, errBodyTooLarge), errors.Is(err, eventstore.ErrEventTooLarge):
		// An event over the store's limit was made from the request.
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, domain.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, domain.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, domain.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, domain.ErrConflict), errors.Is(err, eventstore.ErrWrongExpectedVersion):
		return http.StatusConflict
	case errors.Is(err, domain.ErrUnprocessable):
		return http.StatusUnprocessableEntity
	case errors.Is(err, eventstore.ErrLogTruncated):
		// Events were removed from the log's end under the server, which
		// refuses to append over them: not the client's doing.
		return http.StatusServiceUnavailable
	case errors.Is(err, eventstore.ErrUnavailable), errors.Is(err, eventstore.ErrClosed), errors.Is(err, errSQLClosed):
		// The storage failed underneath, or the store or a database (the
		// read models, the personal-data keys) was closed under the request
		// (the server shutting down): it may succeed later.
		return http.StatusServiceUnavailable
	case databaseUnreachable(err), readModelMissing(err):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeErr answers err with its status; an unexpected error is logged and
// its text kept from the client.
func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	// A 5xx is logged once, with its error: by the request's own log line
	// when the middleware records it, else here.
	logged := false
	if rec := recorderOf(w); rec != nil && status >= 500 {
		rec.err, logged = err, true
	}
	if status == http.StatusInternalServerError {
		if !logged {
			slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		msg = "internal error"
	}
	if status == http.StatusServiceUnavailable && !errors.Is(err, eventstore.ErrUnavailable) && databaseUnreachable(err) {
		// The read-model database's own text names its user and database
		// and spans lines; the client gets a plain reason, the log the rest.
		msg = errDatabaseUnreachable
	}
	if readModelMissing(err) {
		msg = errReadModelMissing
	}
	if errors.Is(err, errSQLClosed) {
		// The wrapped text names internal steps and ids; the log keeps it.
		msg = errDatabaseClosed
	}
	if errors.Is(err, eventstore.ErrLogTruncated) {
		// The wrapped text names the file and the positions; the log
		// keeps it (and the store logged it at error level).
		msg = errLogTruncated
	}
	if status == http.StatusServiceUnavailable && !logged {
		slog.WarnContext(r.Context(), "request unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeFailure(w, status, msg)
}

// recorderOf finds the middleware's statusRecorder under w, nil if none.
func recorderOf(w http.ResponseWriter) *statusRecorder {
	for {
		switch x := w.(type) {
		case *statusRecorder:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// errSQLClosed is the error database/sql returns for a call on a closed
// *sql.DB ("sql: database is closed"): the read models' or the
// personal-data keys' pool was closed under the request, as the server
// shuts down. database/sql does not export it, so it is taken once from a
// pool closed for the purpose, and matched by identity, not by its text.
// (sql.ErrConnDone is another thing: a sql.Conn used after it was closed
// or returned to the pool, which closing the pool does not cause: a bug,
// so a 500.)
var errSQLClosed = func() error {
	db := sql.OpenDB(noConnector{})
	db.Close()
	return db.PingContext(context.Background())
}()

// noConnector connects to nothing; errSQLClosed's pool is closed before
// it is asked for a connection.
type noConnector struct{}

func (noConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("no connection")
}
func (c noConnector) Driver() driver.Driver { return c }
func (noConnector) Open(string) (driver.Conn, error) {
	return nil, errors.New("no connection")
}

const errLogTruncated = "event log truncated: events this server had appended are no longer in the log " +
	"(removed by another process); the server refuses every write so that nothing is written over them; " +
	"an operator must investigate"

const errDatabaseClosed = "database is closed: the server is shutting down; retry later"

const errDatabaseUnreachable = "read-model database unavailable: the connection failed or was lost; retry later"

// databaseUnreachable reports whether err is a database (the PostgreSQL
// read models, or the personal-data keys beside them) that cannot be
// reached or dropped its connection: stopped, starting, shutting down, or
// the connection terminated. The request may succeed later: 503, not 500.
func databaseUnreachable(err error) bool {
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case len(pg.Code) == 5 && pg.Code[:2] == "08": // connection exception
			return true
		case pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03": // admin or crash shutdown, cannot connect now
			return true
		case pg.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var netErr *net.OpError
	return errors.Is(err, driver.ErrBadConn) || errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err)
}

const errReadModelMissing = "read models missing: a table of the read models does not exist (never built, or a replay that did not finish); " +
	"rebuild them (run accessctl replay again into that directory) or serve a directory whose read models are built"

// readModelMissing reports whether err is a query of a SQLite read-model
// table that does not exist: read models never built, or a copy of them
// cut short (an interrupted replay on a read-only server, which cannot
// create them; a writable server creates every table at start). Nothing
// the client did: 503, with a reason, not a 500. SQLite says so only in
// its text ("no such table: entities"). A PostgreSQL query's own error
// (undefined_table among them) stays a 500 (TestDatabaseUnreachableIs503).
func readModelMissing(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return false
	}
	return strings.Contains(err.Error(), "no such table: ")
}
