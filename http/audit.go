package httpapi

import (
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

// auditReaders may read the audit of a property (with `owner`).
var auditReaders = []domain.Permission{domain.PermSupport}

var (
	errAuditPermission = domain.NewError(domain.ErrForbidden, "reading the audit needs owner or support")
	errNoAudit         = domain.NewError(domain.ErrNotFound, "the audit is not available on this server")
)

// auditFlushEvery is how many history items are written between flushes.
const auditFlushEvery = 200

// historyWriteWindow is how long a streamed history may take to send what
// comes next, from its start and from each flush: the server's
// WriteTimeout (5 min) bounds a whole answer, which would cut off a long
// history that is still moving.
const historyWriteWindow = 5 * time.Minute

func (a *API) auditRoutes() []route {
	return []route{
		{method: "GET", path: "/audit/locks/{lockId}/access", operation: "auditLockAccess", handler: a.auditLockAccess,
			summary: "Who could open the lock at `at` (RFC 3339), through which grant, computed from the log (owner, support)."},
		{method: "GET", path: "/audit/decisions", operation: "auditDecision", handler: a.auditDecision,
			summary: "Whether userDeviceId could open lockId at `at`, with the path of events that made it, or the missing link (owner, support)."},
		{method: "GET", path: "/audit/locks/{lockId}/history", operation: "auditLockHistory", handler: a.auditLockHistory,
			summary: "Events concerning the lock and its key-map versions in [from, to), streamed as format=json (NDJSON) or csv (owner, support)."},
		{method: "GET", path: "/audit/users/{userId}/history", operation: "auditUserHistory", handler: a.auditUserHistory,
			summary: "Events concerning the user in [from, to), streamed as format=json (NDJSON) or csv (account-wide owner, support)."},
		{method: "GET", path: "/audit/properties/{propertyId}/history", operation: "auditPropertyHistory", handler: a.auditPropertyHistory,
			summary: "Events concerning the property in [from, to), streamed as format=json (NDJSON) or csv (owner, support)."},
	}
}

// canAudit checks the actor may read the audit of a property: 404 when the
// property is outside its scope, 403 when it sees it but may not audit.
func canAudit(actor domain.Actor, propertyID uuid.UUID, notFound error) error {
	if actor.CanAny(propertyID, auditReaders...) {
		return nil
	}
	if err := commands.AuthorizeRead(actor, propertyID, notFound); err != nil {
		return err
	}
	return errAuditPermission
}

// auditLockScope finds the lock in the actor's account, deprovisioned or
// released ones too, and checks the actor may audit its property.
func (a *API) auditLockScope(r *http.Request, lockID uuid.UUID) error {
	if a.audit == nil {
		return errNoAudit
	}
	actor := actorOf(r)
	inProperty, err := a.audit.Known(r.Context(), entities.KindLock, actor.AccountID, lockID)
	if err != nil {
		return err
	}
	propertyID, _ := uuid.Parse(inProperty) // uuid.Nil: in no property
	return canAudit(actor, propertyID, lockNotFound(lockID))
}

// auditLockAt checks the actor may audit the property the lock was in at
// the instant asked (propertyID, "" for none): a lock that moved answers a
// caller scoped to its present property only for its time there, and one
// scoped to an earlier property not at all (auditLockScope), as a lock
// out of scope.
func auditLockAt(actor domain.Actor, lockID uuid.UUID, propertyID string) error {
	id, _ := uuid.Parse(propertyID) // uuid.Nil: in no property
	return canAudit(actor, id, lockNotFound(lockID))
}

// queryInstant reads a required RFC 3339 query parameter.
func queryInstant(r *http.Request, name string) (time.Time, error) {
	raw := queryGet(r, name)
	if raw == "" {
		return time.Time{}, domain.InvalidField(name, "is required (RFC 3339)")
	}
	return domain.ParseInstantInRange(name, raw)
}

func (a *API) auditLockAccess(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "lockId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	at, err := queryInstant(r, "at")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := a.auditLockScope(r, id); err != nil {
		writeErr(w, r, err)
		return
	}
	out, err := a.audit.LockAccessAt(r.Context(), id, at)
	if err == nil {
		err = auditLockAt(actorOf(r), id, out.PropertyID)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, out)
}

func (a *API) auditDecision(w http.ResponseWriter, r *http.Request) {
	lockID, err := queryID(r, "lockId")
	if err == nil && lockID == nil {
		err = domain.InvalidField("lockId", "is required")
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	deviceID, err := queryID(r, "userDeviceId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	codeID, err := queryID(r, "accessCodeId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if (deviceID == nil) == (codeID == nil) {
		writeErr(w, r, domain.InvalidField("userDeviceId", "give exactly one of userDeviceId and accessCodeId"))
		return
	}
	at, err := queryInstant(r, "at")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := a.auditLockScope(r, *lockID); err != nil {
		writeErr(w, r, err)
		return
	}
	if codeID != nil {
		// A code of a property the caller may not audit is answered as
		// one never created, as another account's is.
		actor := actorOf(r)
		mayAudit := func(propertyID uuid.UUID) bool { return actor.CanAny(propertyID, auditReaders...) }
		out, err := a.audit.DecideCode(r.Context(), actor.AccountID, *lockID, *codeID, at, mayAudit)
		if err == nil {
			err = auditLockAt(actor, *lockID, out.PropertyID)
		}
		if err != nil {
			writeErr(w, r, err)
			return
		}
		writeData(w, http.StatusOK, out)
		return
	}
	out, err := a.audit.DecideDevice(r.Context(), actorOf(r).AccountID, *lockID, *deviceID, at)
	if err == nil {
		err = auditLockAt(actorOf(r), *lockID, out.PropertyID)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, out)
}

func (a *API) auditLockHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "lockId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := a.auditLockScope(r, id); err != nil {
		writeErr(w, r, err)
		return
	}
	var filter historyFilter
	if actor := actorOf(r); !actor.CanAny(uuid.Nil, auditReaders...) {
		filter = lockStayFilter(func(p uuid.UUID) bool { return actor.CanAny(p, auditReaders...) })
	}
	a.writeHistory(w, r, id, true, filter)
}

// historyFilter decides which items of a history the caller is shown. It
// is given every item from the history's start, whatever `from` asks, so
// it may follow state through the items.
type historyFilter func(queries.HistoryItem) bool

// lockStayFilter shows a lock's history to a caller who may audit only
// some properties (mayAudit) while the lock was in one of them: from its
// install there to the uninstall that takes it out of the property, not
// what happened to it elsewhere before or after. An uninstall from its
// area only leaves it in the property; after any other the lock counts as
// in no property until installed again.
func lockStayFilter(mayAudit func(uuid.UUID) bool) historyFilter {
	var in uuid.UUID // the property the lock is in, as its history says
	installed, uninstalled, deprovisioned := (lock.LockInstalled{}).EventType(), (lock.LockUninstalled{}).EventType(), (lock.LockDeprovisioned{}).EventType()
	return func(it queries.HistoryItem) bool {
		shown := in != uuid.Nil && mayAudit(in)
		switch it.EventType {
		case installed:
			in, _ = uuid.Parse(it.IDs["propertyId"])
			shown = in != uuid.Nil && mayAudit(in)
		case uninstalled:
			if it.UninstallMode != lock.UninstallArea {
				in = uuid.Nil
			}
		case deprovisioned:
			in = uuid.Nil
		}
		return shown
	}
}

func (a *API) auditPropertyHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if a.audit == nil {
		writeErr(w, r, errNoAudit)
		return
	}
	actor := actorOf(r)
	if err := canAudit(actor, id, property.ErrNotFound); err != nil {
		writeErr(w, r, err)
		return
	}
	if _, err := a.audit.Known(r.Context(), entities.KindProperty, actor.AccountID, id); err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeHistory(w, r, id, false, nil)
}

// auditUserHistory needs an account-wide reader: a user's events span the
// account's properties.
func (a *API) auditUserHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "userId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if a.audit == nil {
		writeErr(w, r, errNoAudit)
		return
	}
	actor := actorOf(r)
	if _, err := a.audit.Known(r.Context(), entities.KindUser, actor.AccountID, id); err != nil {
		writeErr(w, r, err)
		return
	}
	if err := canAudit(actor, uuid.Nil, entityNotFound(entities.KindUser, id)); err != nil {
		writeErr(w, r, err)
		return
	}
	a.writeHistory(w, r, id, false, nil)
}

// writeHistory streams a history as NDJSON or CSV, flushing as it goes.
// Once the first byte is out a failure can only cut the stream short.
func (a *API) writeHistory(w http.ResponseWriter, r *http.Request, id uuid.UUID, withKeyMaps bool, filter historyFilter) {
	from, to, err := queries.HistoryRange("from", queryGet(r, "from"), "to", queryGet(r, "to"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	format := queryGet(r, "format")
	if format == "" {
		format = queries.HistoryJSON
	}
	if format != queries.HistoryJSON && format != queries.HistoryCSV {
		writeErr(w, r, domain.InvalidField("format", "must be json or csv"))
		return
	}
	w.Header().Set("Content-Type", queries.HistoryContentType(format))
	out := &sentWriter{w: w}
	hw, err := queries.NewHistoryWriter(out, format)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	flusher, _ := w.(http.Flusher)
	rc := http.NewResponseController(w)
	moveDeadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(historyWriteWindow)) } // unsupported: the server's own
	moveDeadline()
	n := 0
	queryFrom := from
	if filter != nil {
		queryFrom = time.Time{} // the filter follows the history from its start
	}
	seen := 0
	emit := func(it queries.HistoryItem) error {
		if filter != nil && (!filter(it) || it.RecordedAt.Before(from)) {
			// A long run of hidden items takes time too, with nothing
			// written that would move the deadline on.
			if seen++; seen%auditFlushEvery == 0 {
				moveDeadline()
			}
			return nil
		}
		if err := hw.Write(it); err != nil {
			return err
		}
		if n++; n%auditFlushEvery == 0 {
			if err := hw.Flush(); err != nil {
				return err
			}
			if flusher != nil {
				flusher.Flush()
			}
			moveDeadline()
		}
		return nil
	}
	err = a.audit.History(r.Context(), actorOf(r).AccountID, id, queryFrom, to, withKeyMaps, emit)
	if err == nil {
		err = hw.Flush()
	}
	if err != nil && !out.sent && r.Context().Err() == nil {
		// Nothing reached the client yet: answer the error, not a 200
		// that reads as an empty history.
		writeErr(w, r, err)
		return
	}
	if err != nil && a.log != nil {
		a.log.WarnContext(r.Context(), "audit history cut short", "path", r.URL.Path, "err", err)
	}
}

// sentWriter notes whether a history wrote anything to the client, so a
// failure before the first byte can still be answered with its status.
type sentWriter struct {
	w    io.Writer
	sent bool
}

func (s *sentWriter) Write(p []byte) (int, error) {
	s.sent = true
	return s.w.Write(p)
}
