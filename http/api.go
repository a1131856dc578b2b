package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/queries"
)

// settleTimeout bounds how long a command's answer waits for the read models
// to show its effect.
const settleTimeout = 5 * time.Second

// Waiter waits until every read model reflects the log up to a position.
type Waiter interface {
	// WaitFor waits for every read model.
	WaitFor(ctx context.Context, position uint64) error
	// WaitForCommands waits for the read models a command's answer reads;
	// the others (lists and indexes) are waited for by the caller's next
	// request.
	WaitForCommands(ctx context.Context, position uint64) error
}

// API holds what the resource handlers need.
type API struct {
	cmd      *commands.Service
	entities *queries.Entities
	events   *queries.Events
	keyMaps  *queries.KeyMaps
	waiter   Waiter
	// reprocessor re-delivers an event for PUT /events/{eventId}/process.
	reprocessor Reprocessor
	signer      *Signer
	auth        *authCache
	// ready reports whether the read models caught up at start (nil:
	// always); keys are cached only from then on.
	ready func() bool
	// logHead and keysModel look a missed key up again once the read
	// model shows the log's head (Options.LogHead, missedKey); nil: not.
	logHead   func(ctx context.Context) (uint64, error)
	keysModel KeysModel
	// keyWaits holds a place for each request waiting in readModelBehind.
	keyWaits chan struct{}
	// writes remembers, per API key, the position of its last command, so
	// its next request of the deferred lane waits for every read model to
	// reach it; unsettled, that of its last command whose answer did not
	// wait for the read models, so its next request of any kind waits.
	writes    sync.Map
	unsettled sync.Map
	personal  PersonalData
	log       *slog.Logger
	// pageTokens signs the page tokens of every list (Options.PageTokenKey).
	pageTokens queries.PageTokenKey

	firmware *queries.Firmware
	// firmwareBlobs keeps firmware images (nil: uploads are refused).
	firmwareBlobs *firmwareBlobs

	// lockSyncs runs PUT /locks/{lockId}/sync; accessLogs reads the logs;
	// requiredFirmware (nil: none) tells a syncing lock what to run.
	lockSyncs        *commands.LockSyncs
	accessLogs       *queries.AccessLogs
	requiredFirmware RequiredFirmwareSource

	// activity reads the activity feed (nil: GET /timeline/activity is 404).
	activity *queries.Activity
	// bookings reads the bookings read model.
	bookings *queries.Bookings
	// calendar reads the calendars and upcoming timelines.
	calendar *queries.Calendar
	// audit answers /audit (nil: 404).
	audit *queries.Audit
	// webhooks reads webhooks and their deliveries (nil: 404).
	webhooks Webhooks
}

// route is one operation of the API; the OpenAPI document is built from the
// same table the router is, so neither can miss a route.
type route struct {
	method, path string
	// operation is the reference's operationId where it has one.
	operation, summary string
	// public routes need no x-api-key.
	public bool
	// lockKey routes accept a lock's own key (its sync).
	lockKey bool
	// readsDeferred routes read the deferred lane's read models (events,
	// activity, access logs, calendar, audit), which a command's answer
	// does not wait for; the caller's next such request does (catchUp).
	readsDeferred bool
	handler       http.HandlerFunc
}

// routes lists every operation of the API.
func (a *API) routes() []route {
	var rs []route
	for _, group := range [][]route{
		a.accountRoutes(), a.propertyRoutes(), a.areaRoutes(), a.groupRoutes(),
		a.userRoutes(), a.deviceRoutes(), a.lockRoutes(), a.keyRoutes(), a.keyMapRoutes(),
		a.firmwareRoutes(), a.deviceSyncRoutes(), a.lockSyncRoutes(), a.invitationRoutes(),
		a.bookingRoutes(), a.accessCodeRoutes(), a.guestRoutes(), a.webhookRoutes(),
	} {
		rs = append(rs, group...)
	}
	// The only routes that read the deferred lane (queries.Events,
	// Activity, AccessLogs, Calendar and Audit).
	for _, group := range [][]route{
		a.eventRoutes(), a.accessLogRoutes(), a.timelineRoutes(), a.calendarRoutes(), a.auditRoutes(), a.whatIfRoutes(),
	} {
		for _, rt := range group {
			rt.readsDeferred = true
			rs = append(rs, rt)
		}
	}
	return rs
}

// settle makes a command's effect visible to the caller's next read: it
// waits until the read models reach the position the command appended at.
// A command that deleted an API key, changed a user's grants or deleted a
// property also empties the key cache, so the change reaches every key at
// once.
func (a *API) settle(ctx context.Context, res commands.Result) error {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	err := a.waiter.WaitForCommands(ctx, res.Position)
	// Noted once the answer is about to go, not when the command appended:
	// another client's request on the same key that started before this
	// answer need not wait for it.
	notePosition(&a.writes, ctx, res.Position)
	if err != nil {
		notePosition(&a.unsettled, ctx, res.Position)
	}
	if ids := deletedProperties(res); len(ids) > 0 {
		a.auth.propertiesDeleted(ids)
	} else if deletesKey(res) || changesUserGrants(res) {
		a.auth.clear()
	}
	if err != nil {
		// The change is in the log: a client that retried it without its
		// Idempotency-Key would make it twice.
		return fmt.Errorf("the change was recorded (position %d) but the read models did not show it within %s; "+
			"retry with the same Idempotency-Key for its answer without making it twice: %w", res.Position, settleTimeout, err)
	}
	return nil
}

// settleDeletion settles a deletion's result, also when the deletion
// failed part-way or was a repeat that finished an interrupted one (a 404):
// what it recorded (a key deleted, a property deleted) takes effect on
// this server at once all the same. The deletion's own error comes first.
func (a *API) settleDeletion(ctx context.Context, res commands.Result, err error) error {
	if err != nil && res.Position == 0 {
		return err
	}
	if serr := a.settle(ctx, res); err == nil {
		return serr
	}
	return err
}

// settleAll is settle for commands whose effect other callers read at once
// from the deferred read models (a lock's access logs): it waits for every
// read model.
func (a *API) settleAll(ctx context.Context, res commands.Result) error {
	if err := a.settle(ctx, res); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	return a.waiter.WaitFor(ctx, res.Position)
}

// deletesKey reports whether a command's events revoke an API key.
func deletesKey(res commands.Result) bool {
	for _, e := range res.Events {
		if e.EventType() == (apikey.APIKeyDeleted{}).EventType() {
			return true
		}
	}
	return false
}

// deletedProperties returns the properties a command's events delete: the
// grants scoped to them grant nothing from then on (liveScopes).
func deletedProperties(res commands.Result) []uuid.UUID {
	var ids []uuid.UUID
	for _, e := range res.Events {
		if d, ok := e.(property.PropertyDeleted); ok {
			ids = append(ids, d.PropertyID)
		}
	}
	return ids
}

// pathID reads a UUID path variable; a bad one is a 400 naming it.
func pathID(r *http.Request, name string) (uuid.UUID, error) {
	raw := mux.Vars(r)[name]
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, domain.InvalidField(name, "must be a UUID")
	}
	return id, nil
}

// queryID reads an optional UUID query parameter: nil when absent. The nil
// UUID is a value like any other (it names nothing, so a filter on it finds
// nothing), never "not given".
func queryID(r *http.Request, name string) (*uuid.UUID, error) {
	raw := queryGet(r, name)
	if raw == "" {
		return nil, nil
	}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return nil, domain.InvalidField(name, "must be a UUID")
	}
	return &id, nil
}

// pageOf reads pageSize and pageToken of the request's list (listOf).
func (a *API) pageOf(r *http.Request) (queries.Page, error) {
	return queries.ParsePage(queryGet(r, "pageSize"), queryGet(r, "pageToken"), a.listOf(r))
}

// listOf names the list a request reads, for its page tokens: its method
// and route, the ids in its path, its query parameters other than
// pageSize and pageToken (keys sorted, each key's values in the order
// given), and the caller's account. A token then continues only the list
// that issued it: on another route, with other ids or filters, or for
// another account, it is a 400, never a page of a list it was not issued
// for; and as its tokens are signed (pageTokens), one altered by hand is
// a 400 too.
func (a *API) listOf(r *http.Request) queries.ListKey {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte(' ')
	route := r.URL.EscapedPath()
	vars := url.Values{}
	if rt := mux.CurrentRoute(r); rt != nil {
		if tpl, err := rt.GetPathTemplate(); err == nil {
			route = tpl
			for k, v := range mux.Vars(r) {
				vars.Set(k, canonicalID(v))
			}
		}
	}
	b.WriteString(route)
	b.WriteByte('\n')
	b.WriteString(vars.Encode())
	b.WriteByte('\n')
	q := r.URL.Query()
	q.Del("pageSize")
	q.Del("pageToken")
	for _, vs := range q {
		for i, v := range vs {
			vs[i] = canonicalID(v)
		}
	}
	b.WriteString(q.Encode())
	b.WriteByte('\n')
	b.WriteString(actorOf(r).AccountID.String())
	return queries.NewListKey(a.pageTokens, b.String())
}

// canonicalID is v in the one spelling of its UUID when it is one (the
// handlers accept any case, so an upper-case id names the same list), else
// v as it is.
func canonicalID(v string) string {
	if id, err := uuid.Parse(v); err == nil {
		return id.String()
	}
	return v
}

// list answers a page of documents as {<plural>: [...], pageToken}.
func writeList(w http.ResponseWriter, plural string, docs []queries.Document, next string) {
	var b strings.Builder
	b.WriteString(`{"`)
	b.WriteString(plural)
	b.WriteString(`":[`)
	for i, d := range docs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(d.JSON)
	}
	b.WriteString("]")
	if next != "" {
		fmt.Fprintf(&b, `,"pageToken":%q`, next)
	}
	b.WriteString("}")
	writeRaw(w, http.StatusOK, []byte(b.String()))
}

// writeRaw answers data that is already JSON.
func writeRaw(w http.ResponseWriter, status int, data []byte) {
	writeEnvelope(w, status, envelope{Success: true, Data: data})
}

// withField adds one string field to a JSON object.
func withField(obj []byte, name, value string) []byte {
	extra, _ := json.Marshal(map[string]string{name: value})
	if len(obj) < 2 || string(obj) == "{}" {
		return extra
	}
	out := make([]byte, 0, len(obj)+len(extra))
	out = append(out, obj[:len(obj)-1]...)
	out = append(out, ',')
	return append(out, extra[1:]...)
}

// listInProperty answers a page of the live documents of kind in the
// property of the path, for callers who may read that property, as
// {<plural>: [...], pageToken}.
func (a *API) listInProperty(kind, plural string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		propertyID, err := pathID(r, "propertyId")
		if err != nil {
			writeErr(w, r, err)
			return
		}
		page, err := a.pageOf(r)
		if err == nil {
			_, err = a.readProperty(r, propertyID)
		}
		if err != nil {
			writeErr(w, r, err)
			return
		}
		docs, next, err := a.entities.List(r.Context(), kind, actorOf(r).AccountID.String(),
			queries.ListFilter{PropertyID: propertyID.String()}, page, false)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		writeList(w, plural, docs, next)
	}
}

// forgetReached drops a key's last write once every read model shows it,
// without waiting: writes then holds only the keys whose writes some read
// model has yet to reach, not every key (every lock's) that ever wrote.
func (a *API) forgetReached(key uuid.UUID) {
	v, ok := a.writes.Load(key)
	if ok && a.waiter.WaitFor(alreadyDone, v.(uint64)) == nil {
		a.writes.CompareAndDelete(key, v)
	}
}

// alreadyDone makes a wait a check: reached or not, it returns at once.
var alreadyDone = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// notePosition raises the position m holds for the caller's key to
// position.
func notePosition(m *sync.Map, ctx context.Context, position uint64) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || position == 0 {
		return
	}
	for {
		prev, loaded := m.LoadOrStore(actor.APIKeyID, position)
		if !loaded || prev.(uint64) >= position || m.CompareAndSwap(actor.APIKeyID, prev, position) {
			return
		}
	}
}

// catchUp makes a caller's request see every effect of its own earlier
// commands. A route of the deferred lane waits for every read model to
// reach the caller's last write. Any other route reads only read models a
// command's answer already waited for, so it waits only after a command
// whose answer could not wait (settle failed): many clients sharing one
// key must not each wait for the others' writes.
func (a *API) catchUp(ctx context.Context, actor domain.Actor, readsDeferred bool) {
	pending, wait := &a.unsettled, a.waiter.WaitForCommands
	if readsDeferred {
		pending, wait = &a.writes, a.waiter.WaitFor
	} else {
		a.forgetReached(actor.APIKeyID)
	}
	v, ok := pending.Load(actor.APIKeyID)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if wait(ctx, v.(uint64)) == nil {
		pending.CompareAndDelete(actor.APIKeyID, v)
	}
}

// deleteByID answers a DELETE whose path names one id: run the command,
// settle, and answer {field: id}.
func (a *API) deleteByID(param, field string, run func(context.Context, uuid.UUID) (commands.Result, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, param)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		res, err := run(r.Context(), id)
		err = a.settleDeletion(r.Context(), res, err)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		writeData(w, http.StatusOK, map[string]string{field: id.String()})
	}
}
