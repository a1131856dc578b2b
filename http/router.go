package httpapi

import (
	"log/slog"
	"net/http"

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
	// Waiter gives read-your-writes: a command's answer waits for it.
	Waiter Waiter
	// Ready reports whether the server may take traffic (projections caught
	// up at start).
	Ready func() bool
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	Metrics  *Metrics
	Log      *slog.Logger
}

var errLockKey = domain.NewError(domain.ErrForbidden, "a lock's own key may only sync that lock")

// NewRouter returns the HTTP handler of the whole API.
func NewRouter(o Options) http.Handler {
	api := &API{cmd: o.Commands, entities: o.Entities, waiter: o.Waiter, log: o.Log}
	r := mux.NewRouter()
	r.Use(observe(o.Metrics, o.Log))
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeFailure(w, http.StatusNotFound, "no such route")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeFailure(w, http.StatusMethodNotAllowed, "method not allowed on this route")
	})

	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeData(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	r.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil && !o.Ready() {
			writeFailure(w, http.StatusServiceUnavailable, "projections are catching up")
			return
		}
		writeData(w, http.StatusOK, map[string]string{"status": "ready"})
	}).Methods(http.MethodGet)
	r.Handle("/metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})).Methods(http.MethodGet)

	routes := api.routes()
	doc := openAPI(routes)
	r.HandleFunc("/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}).Methods(http.MethodGet)
	for _, rt := range routes {
		h := rt.handler
		if !rt.public {
			h = api.requireActor(noLockKeys(h, rt.lockKey))
		}
		r.HandleFunc(rt.path, h).Methods(rt.method)
	}
	return r
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
