package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/overlay"
	"github.com/accessd/accessd/projections/auditindex"
	"github.com/accessd/accessd/queries"
)

// maxWhatIfCommands bounds one what-if: each command runs through a real
// handler.
const maxWhatIfCommands = 100

// whatIfOperations are the operations a what-if may run: the changes of
// memberships, access lists, installs and bookings.
var whatIfOperations = []string{
	"addUserToUserGroup", "removeUserFromUserGroup", "deleteUserGroup", "updateArea",
	"installLock", "uninstallLock",
	"createBooking", "updateBooking", "checkInBooking", "checkOutBooking", "cancelBooking",
}

// What-if command outcomes.
const (
	whatIfApplied   = "applied"   // the command succeeded and appended events
	whatIfUnchanged = "unchanged" // the command succeeded with nothing to append
	whatIfFailed    = "failed"    // the command was refused
)

func (a *API) whatIfRoutes() []route {
	return []route{
		{method: "POST", path: "/audit/what-if", operation: "auditWhatIf", handler: a.auditWhatIf,
			summary: "Run {commands: [{method, path, body}]} (memberships, access lists, installs, bookings; as the API takes them) on a copy of the log and answer who would gain and lose access on which locks; nothing is appended (the commands' permissions, and owner or support on the properties they touch)."},
	}
}

type whatIfCommand struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body"`
}

// whatIfInput holds the commands undecoded: whatIfCommands decodes each
// on its own, so that an error names the command it is in.
type whatIfInput struct {
	Commands []json.RawMessage `json:"commands"`
}

// whatIfCommands decodes the commands strictly, naming the command and
// field of an error (commands[1].method: is required).
func whatIfCommands(raw []json.RawMessage) ([]whatIfCommand, error) {
	out := make([]whatIfCommand, len(raw))
	for i, r := range raw {
		field := fmt.Sprintf("commands[%d]", i)
		if trimmed := bytes.TrimSpace(r); len(trimmed) == 0 || trimmed[0] != '{' {
			return nil, domain.InvalidField(field, "must be an object")
		}
		if err := decodeJSON(r, &out[i]); err != nil {
			var de *domain.Error
			if errors.As(err, &de) && errors.Is(err, domain.ErrInvalid) && de.Field != "" {
				return nil, domain.InvalidField(field+"."+de.Field, de.Message)
			}
			return nil, err
		}
		switch c := out[i]; {
		case c.Method == "":
			return nil, domain.InvalidField(field+".method", "is required")
		case c.Method != strings.ToUpper(c.Method):
			// As the API takes it: its methods are case-sensitive.
			return nil, domain.InvalidField(field+".method", fmt.Sprintf("must be in capitals (%s, not %s): methods are case-sensitive",
				strings.ToUpper(c.Method), c.Method))
		case c.Path == "":
			return nil, domain.InvalidField(field+".path", "is required")
		case !strings.HasPrefix(c.Path, "/"):
			return nil, domain.InvalidField(field+".path", "must start with /")
		case strings.Contains(c.Path, "#"):
			// The request built from it would drop a fragment, while the
			// endpoint keeps # in the query it reads (and answers 400):
			// the what-if would apply what the endpoint refuses.
			return nil, domain.InvalidField(field+".path", "must not hold a # (a request carries no fragment)")
		}
	}
	return out, nil
}

type whatIfEvent struct {
	Type   string `json:"type"`
	Stream string `json:"stream"`
}

// whatIfResult is one command's outcome. HTTPStatus and Error are the
// refusal the real endpoint would have answered.
type whatIfResult struct {
	Index       int           `json:"index"`
	OperationID string        `json:"operationId"`
	Status      string        `json:"status"`
	HTTPStatus  int           `json:"httpStatus,omitempty"`
	Error       string        `json:"error,omitempty"`
	Events      []whatIfEvent `json:"events"`
}

type whatIfOutput struct {
	At       time.Time            `json:"at"`
	Commands []whatIfResult       `json:"commands"`
	Locks    []queries.WhatIfLock `json:"locks"`
	Users    []queries.WhatIfUser `json:"users"`
}

// settleRecorder stands in for the read models in a what-if: the overlay's
// positions never reach them, so it does not wait; a handler settles only
// after its command succeeded, so a call tells success from refusal
// whatever the handler answers next (it may then fail to read a document
// the read models never got).
type settleRecorder struct{ settled bool }

func (s *settleRecorder) WaitFor(context.Context, uint64) error { return nil }

func (s *settleRecorder) WaitForCommands(context.Context, uint64) error {
	s.settled = true
	return nil
}

// whatIfCopy is an API that shares everything with a but runs commands on
// svc and waits for nothing.
func (a *API) whatIfCopy(svc *commands.Service, waiter Waiter) *API {
	return &API{cmd: svc, entities: a.entities, events: a.events, keyMaps: a.keyMaps, waiter: waiter,
		reprocessor: a.reprocessor, signer: a.signer, auth: newAuthCache(), personal: a.personal, log: a.log,
		firmware: a.firmware, firmwareBlobs: a.firmwareBlobs, lockSyncs: a.lockSyncs, accessLogs: a.accessLogs,
		requiredFirmware: a.requiredFirmware, activity: a.activity, bookings: a.bookings, calendar: a.calendar,
		audit: a.audit, webhooks: a.webhooks, pageTokens: a.pageTokens}
}

// whatIfRouter routes the allowed operations of api, named by operationId,
// as the API routes them: the same router and the same checks of the
// query, so a command is answered as its endpoint would answer it.
func whatIfRouter(api *API) *mux.Router {
	r := newRouteMux()
	for _, rt := range api.routes() {
		if slices.Contains(whatIfOperations, rt.operation) {
			r.HandleFunc(rt.path, queryChecked(rt)).Methods(rt.method).Name(rt.operation)
		}
	}
	return r
}

func (a *API) auditWhatIf(w http.ResponseWriter, r *http.Request) {
	if a.audit == nil {
		writeErr(w, r, errNoAudit)
		return
	}
	// Reading the answer needs owner or support on every property it
	// touches (checked once the commands ran); without either anywhere,
	// there is nothing to run.
	if !auditsSomewhere(actorOf(r)) {
		writeErr(w, r, errAuditPermission)
		return
	}
	var in whatIfInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if len(in.Commands) == 0 || len(in.Commands) > maxWhatIfCommands {
		writeErr(w, r, domain.InvalidField("commands", fmt.Sprintf("must hold 1 to %d commands", maxWhatIfCommands)))
		return
	}
	cmds, err := whatIfCommands(in.Commands)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	ctx := r.Context()
	copyLog, err := overlay.New(ctx, a.cmd.Pipeline().Store(), nil)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	defer copyLog.Close()
	svc, err := a.cmd.WithStore(copyLog)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	settled := &settleRecorder{}
	router := whatIfRouter(a.whatIfCopy(svc, settled))
	// Every command is checked before any runs, so a malformed what-if
	// runs nothing.
	ops := make([]string, len(cmds))
	for i, c := range cmds {
		if ops[i], err = whatIfOperation(ctx, router, i, c); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	out := whatIfOutput{}
	if out.Commands, err = runWhatIf(ctx, router, settled, copyLog, cmds, ops); err != nil {
		writeErr(w, r, err)
		return
	}
	hypothetical, properties, err := a.whatIfEvents(copyLog.Appended())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	actor := actorOf(r)
	for _, p := range properties {
		if err := canAudit(actor, p, property.ErrNotFound); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	// The audit folds the real events through its index: let it reach the
	// log the copy was made of.
	waitCtx, cancel := context.WithTimeout(ctx, settleTimeout)
	err = a.waiter.WaitFor(waitCtx, copyLog.BaseHead())
	cancel()
	if err != nil {
		writeErr(w, r, err)
		return
	}
	diff, err := a.audit.WhatIf(ctx, actor.AccountID, hypothetical, time.Now().UTC())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out.At, out.Locks, out.Users = diff.At, diff.Locks, diff.Users
	writeData(w, http.StatusOK, out)
}

// runWhatIf runs the commands in order on the copy, each through its real
// handler, and reports what each did. A command that fails on the server's
// side (5xx) fails the whole what-if: the rest would be decided on a copy
// that may be missing its effect.
func runWhatIf(ctx context.Context, router http.Handler, settled *settleRecorder, copyLog *overlay.Store, cmds []whatIfCommand, ops []string) ([]whatIfResult, error) {
	// The idempotency key of the what-if request is not the commands':
	// with it, every command would derive the same ids.
	ctx = commands.WithIdempotencyKey(ctx, "")
	out := make([]whatIfResult, len(cmds))
	for i, c := range cmds {
		c, err := resolveWhatIfRefs(c, out[:i])
		if err != nil {
			// What it names was not created: refused as the endpoint
			// refuses an id that names nothing.
			out[i] = whatIfResult{Index: i, OperationID: ops[i], Status: whatIfFailed,
				HTTPStatus: http.StatusUnprocessableEntity, Error: err.Error(), Events: []whatIfEvent{}}
			continue
		}
		before := len(copyLog.Appended())
		settled.settled = false
		req, err := whatIfRequest(ctx, c)
		if err != nil {
			return nil, domain.InvalidField(fmt.Sprintf("commands[%d]", i), err.Error())
		}
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		appended := copyLog.Appended()[before:]
		res := whatIfResult{Index: i, OperationID: ops[i], Status: whatIfApplied, Events: []whatIfEvent{}}
		for _, ev := range appended {
			res.Events = append(res.Events, whatIfEvent{Type: ev.Type, Stream: ev.Stream})
		}
		switch {
		case !settled.settled:
			res.Status, res.HTTPStatus = whatIfFailed, rec.Code
			var env envelope
			if json.Unmarshal(rec.Body.Bytes(), &env) == nil {
				res.Error = env.Error
			}
			if rec.Code >= http.StatusInternalServerError {
				return nil, &whatIfCommandError{index: i, operation: ops[i], status: rec.Code, message: res.Error}
			}
		case len(appended) == 0:
			res.Status = whatIfUnchanged
		}
		out[i] = res
	}
	return out, nil
}

// whatIfCommandError is a command of a what-if that failed on the
// server's side. The what-if answers with the command's own status: a 503
// (the event store or the read models unavailable) stays a 503, to be
// retried, not a 500.
type whatIfCommandError struct {
	index     int
	operation string
	status    int
	message   string // what the command answered, already fit for the client
}

func (e *whatIfCommandError) Error() string {
	return fmt.Sprintf("what-if: commands[%d] (%s) failed with %d: %s", e.index, e.operation, e.status, e.message)
}

// whatIfOperation returns the operationId of command i, or a 400 naming
// it when it is not one a what-if may run.
func whatIfOperation(ctx context.Context, router *mux.Router, i int, c whatIfCommand) (string, error) {
	field := fmt.Sprintf("commands[%d]", i)
	if err := checkWhatIfRefs(i, c); err != nil {
		return "", domain.InvalidField(field, err.Error())
	}
	sent := c // as the client wrote it, references and all
	c = placeholderRefs(c)
	req, err := whatIfRequest(ctx, c)
	if err != nil {
		return "", domain.InvalidField(field, err.Error())
	}
	// A path with an escaped slash names no route of the API's, though
	// its decoded form may match one.
	var m mux.RouteMatch
	if escapedSlash(req.URL) || !router.Match(req, &m) || m.MatchErr != nil || m.Route == nil {
		return "", domain.InvalidField(field, fmt.Sprintf("%s %s is not an operation a what-if runs (%s)",
			sent.Method, sent.Path, strings.Join(whatIfOperations, ", ")))
	}
	op := m.Route.GetName()
	if op == "createBooking" {
		var b struct {
			Guest *struct {
				UserID *string `json:"userId"`
			} `json:"guest"`
		}
		if json.Unmarshal(c.Body, &b) == nil && b.Guest != nil && b.Guest.UserID == nil {
			// A guest by name gains no access, and sealing their details
			// would write to the personal-data store, outside the copy.
			return "", domain.InvalidField(field+".body.guest", "a what-if books for a user of the account (guest.userId) only")
		}
	}
	return op, nil
}

// whatIfRequest is command c as a request to the API.
func whatIfRequest(ctx context.Context, c whatIfCommand) (*http.Request, error) {
	if !strings.HasPrefix(c.Path, "/") {
		return nil, fmt.Errorf("path must start with /")
	}
	var body io.Reader = http.NoBody
	if raw := bytes.TrimSpace(c.Body); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, "http://what-if"+c.Path, body)
	if err != nil {
		return nil, fmt.Errorf("not a request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// whatIfEvents decodes the copy's events and lists the properties they
// name.
func (a *API) whatIfEvents(recs []eventstore.RecordedEvent) ([]*eventstore.Envelope, []uuid.UUID, error) {
	registry := a.cmd.Pipeline().Registry()
	var out []*eventstore.Envelope
	var properties []uuid.UUID
	for _, rec := range recs {
		env, err := registry.Decode(rec)
		if err != nil {
			return nil, nil, fmt.Errorf("what-if: %w", err)
		}
		out = append(out, &env)
		if p, ok := auditindex.IDs(env.Raw)["propertyId"]; ok && !slices.Contains(properties, p) {
			properties = append(properties, p)
		}
	}
	return out, properties, nil
}

// auditsSomewhere reports whether the actor may read the audit of at least
// one property.
func auditsSomewhere(actor domain.Actor) bool {
	for _, g := range actor.Grants {
		if g.Permission == domain.PermOwner || slices.Contains(auditReaders, g.Permission) {
			return true
		}
	}
	return false
}
