package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/queries"
)

// Options are the router's dependencies.
type Options struct {
	Commands *commands.Service
	Entities *queries.Entities
	Events   *queries.Events
	KeyMaps  *queries.KeyMaps
	// Firmware reads firmware versions and the version a lock must run.
	Firmware *queries.Firmware
	// FirmwareDir holds the firmware images, named by their sha256
	// (`<data-dir>/firmware`).
	FirmwareDir string
	// LockSyncs runs lock syncs; AccessLogs reads the access logs.
	LockSyncs  *commands.LockSyncs
	AccessLogs *queries.AccessLogs
	// Activity reads the activity feed (projections/timeline).
	Activity *queries.Activity
	// Bookings reads the bookings read model (projections/bookings).
	Bookings *queries.Bookings
	// Calendar reads the calendars (projections/calendar).
	Calendar *queries.Calendar
	// Audit answers /audit from the log (nil: 404).
	Audit *queries.Audit
	// Webhooks reads webhooks and their deliveries (projections/webhooks'
	// Delivery; nil: every webhook route is 404).
	Webhooks Webhooks
	// Reprocessor re-delivers one event to every projection (and, in
	// the server, publishes it on the bus again for its consumers).
	Reprocessor Reprocessor
	// Waiter gives read-your-writes: a command's answer waits for it.
	Waiter Waiter
	// LogHead reads the head of the log as now committed, noticing events
	// other processes appended (and waking the read models for them) at
	// once; KeysModel is the read model API keys are looked up in (the
	// entities projection's runner). With both, a key the read model does
	// not know while the log is ahead of it (one minted by accessctl
	// beside the server a moment ago) is looked up again once the read
	// model reached that head (keyCatchUpTimeout at most). Nil: a miss is
	// a miss (a read-only server, whose read models do not move).
	LogHead   func(ctx context.Context) (uint64, error)
	KeysModel KeysModel
	// KeyCache caches resolved API keys; nil: a cache of the router's own,
	// which only changes made through this router empty.
	KeyCache *KeyCache
	// Signer signs answers to locks and phones.
	Signer *Signer
	// PersonalData opens users' sealed personal data.
	PersonalData PersonalData
	// Ready reports whether the server may take traffic (projections caught
	// up at start).
	Ready func() bool
	// Storage reports what of the storage underneath cannot be reached
	// (nil: all of it answers); /healthz and /readyz name it. /readyz
	// answers 503 only for a NotServing error: with the log alone down,
	// reads still serve and the server stays ready.
	Storage func(ctx context.Context) error
	// PageTokenKey signs page tokens: servers sharing a log must share it
	// (queries.NewPageTokenKey of their common key) to continue each
	// other's lists. Zero: a key of this router alone.
	PageTokenKey queries.PageTokenKey
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	Metrics  *Metrics
	Log      *slog.Logger
}

var errLockKey = domain.NewError(domain.ErrForbidden, "a lock's own key may only sync that lock")

// NewRouter returns the HTTP handler of the whole API.
func NewRouter(o Options) http.Handler {
	api := &API{cmd: o.Commands, entities: o.Entities, events: o.Events, keyMaps: o.KeyMaps, reprocessor: o.Reprocessor,
		waiter: o.Waiter, signer: o.Signer, auth: o.KeyCache.cache(), ready: o.Ready, logHead: o.LogHead, keysModel: o.KeysModel, keyWaits: make(chan struct{}, maxKeyWaits), personal: o.PersonalData, log: o.Log,
		firmware: o.Firmware, firmwareBlobs: newFirmwareBlobs(o.FirmwareDir),
		lockSyncs: o.LockSyncs, accessLogs: o.AccessLogs, activity: o.Activity, calendar: o.Calendar,
		bookings: o.Bookings, audit: o.Audit, webhooks: o.Webhooks}
	if o.Firmware != nil {
		api.requiredFirmware = o.Firmware
	}
	api.pageTokens = o.PageTokenKey
	if api.pageTokens.IsZero() {
		api.pageTokens = queries.RandomPageTokenKey()
	}
	newMux := func() *mux.Router {
		r := newRouteMux()
		r.Use(observe(o.Metrics, o.Log))
		return r
	}

	var doc []byte
	routes := append(api.routes(), serviceRoutes(o)...)
	routes = append(routes, route{method: "GET", path: "/openapi.json", operation: "getOpenAPI", summary: "This OpenAPI document of every route.", public: true,
		handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(doc)
		}})
	doc = openAPI(routes)
	s := segmentRouter{all: newMux(), bySegment: map[string]*mux.Router{}}
	for _, rt := range routes {
		h := queryChecked(rt)
		if !rt.public {
			h = api.requireActor(noLockKeys(h, rt.lockKey), rt.readsDeferred)
		}
		// Named by its operation: a handler's query reads name it (noteQueryRead).
		s.all.HandleFunc(rt.path, h).Methods(rt.method).Name(rt.operation)
		seg := firstSegment(rt.path)
		if s.bySegment[seg] == nil {
			s.bySegment[seg] = newMux()
		}
		s.bySegment[seg].HandleFunc(rt.path, h).Methods(rt.method).Name(rt.operation)
	}
	return s
}

// newRouteMux is a router of routes as the API matches them, the
// what-if's commands included. No cleaning: gorilla/mux would answer an
// unclean path (//locks, /locks/../x) with a bare 301, outside the
// envelope, which clients follow with a GET whatever the method was. Such
// a path names no route: 404.
func newRouteMux() *mux.Router {
	r := mux.NewRouter().SkipClean(true)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeFailure(w, http.StatusNotFound, "no such route")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeFailure(w, http.StatusMethodNotAllowed, "method not allowed on this route")
	})
	return r
}

// queryChecked is rt's handler behind the checks every request to it
// passes, a what-if's commands included: a query that parses, each
// single-valued parameter once, and on a paged operation only the
// declared parameters.
func queryChecked(rt route) http.HandlerFunc {
	declared := declaredQueries[rt.operation]
	h := singleValuedQuery(rt.handler, declared)
	if pagedOperation(rt.operation) {
		h = onlyDeclaredQuery(h, declared.names)
	}
	return wellFormedQuery(h)
}

// escapedSlash reports whether u's path escapes a slash, which names no
// route: the slash is part of a segment, yet routing reads the decoded
// path, where it would split one (/keys%2Fserver). RawPath is set only
// when the path holds an escape it needs.
func escapedSlash(u *url.URL) bool {
	return u.RawPath != "" && strings.Contains(strings.ToLower(u.RawPath), "%2f")
}

// segmentRouter sends a request to the router of its path's first segment
// (every route's first segment is literal), so a request is matched
// against that segment's few routes rather than all of them in turn:
// gorilla/mux tries routes one by one, which was 7% of the server's CPU
// under a load of GET /locks/{lockId}. Only routes with that segment can
// match such a path, so the answer, 405 included, is the same. Any other
// path goes to the router of all routes, which answers 404.
type segmentRouter struct {
	all       *mux.Router
	bySegment map[string]*mux.Router
}

func (s segmentRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if escapedSlash(r.URL) {
		writeFailure(w, http.StatusNotFound, "no such route")
		return
	}
	if m, ok := s.bySegment[firstSegment(r.URL.Path)]; ok {
		m.ServeHTTP(w, r)
		return
	}
	s.all.ServeHTTP(w, r)
}

// Walk visits every route, as mux.Router.Walk does (the tests check the
// routes against the permissions table and the OpenAPI document).
func (s segmentRouter) Walk(fn mux.WalkFunc) error { return s.all.Walk(fn) }

// firstSegment is "locks" of "/locks/{lockId}/keymap"; "" for "/".
func firstSegment(path string) string {
	path = strings.TrimPrefix(path, "/")
	seg, _, _ := strings.Cut(path, "/")
	return seg
}

// noLockKeys refuses a lock's own key on every route not meant for it.
func noLockKeys(next http.HandlerFunc, allowed bool) http.HandlerFunc {
	if allowed {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if actorOf(r).LockID != [16]byte{} {
			writeErr(w, r, errLockKey)
			return
		}
		next(w, r)
	}
}

// NotServing marks a Storage error that leaves no request servable (the
// read models, which every authentication reads, cannot be reached).
func NotServing(err error) error { return notServing{err} }

type notServing struct{ error }

func (e notServing) Unwrap() error { return e.error }

// storageCheckTimeout bounds /readyz and /healthz's check of the storage.
const storageCheckTimeout = 2 * time.Second

// storageErr runs check, if any, within storageCheckTimeout.
func storageErr(ctx context.Context, check func(context.Context) error) error {
	if check == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, storageCheckTimeout)
	defer cancel()
	return check(ctx)
}

// serviceRoutes are the operational endpoints: health, readiness, metrics.
func serviceRoutes(o Options) []route {
	metrics := promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})
	return []route{
		{method: "GET", path: "/healthz", operation: "health", summary: "The process is alive; names the storage it cannot reach.", public: true,
			handler: func(w http.ResponseWriter, r *http.Request) {
				if err := storageErr(r.Context(), o.Storage); err != nil {
					writeData(w, http.StatusOK, map[string]string{"status": "degraded", "unavailable": err.Error()})
					return
				}
				writeData(w, http.StatusOK, map[string]string{"status": "ok"})
			}},
		{method: "GET", path: "/readyz", operation: "ready", summary: "The projections caught up at start and the read models answer; 503 otherwise.", public: true,
			handler: func(w http.ResponseWriter, r *http.Request) {
				if o.Ready != nil && !o.Ready() {
					writeFailure(w, http.StatusServiceUnavailable, "projections are catching up")
					return
				}
				if err := storageErr(r.Context(), o.Storage); err != nil {
					if errors.As(err, new(notServing)) {
						writeFailure(w, http.StatusServiceUnavailable, err.Error())
						return
					}
					writeData(w, http.StatusOK, map[string]string{"status": "degraded", "unavailable": err.Error()})
					return
				}
				writeData(w, http.StatusOK, map[string]string{"status": "ready"})
			}},
		{method: "GET", path: "/metrics", operation: "metrics", summary: "Prometheus metrics.", public: true, handler: metrics.ServeHTTP},
	}
}
