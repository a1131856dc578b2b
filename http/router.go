package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options are the router's dependencies.
type Options struct {
	// Ready reports whether the server may take traffic (projections caught
	// up at start).
	Ready func() bool
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	Metrics  *Metrics
	Log      *slog.Logger
}

// NewRouter returns the HTTP handler of the whole API.
func NewRouter(o Options) http.Handler {
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
	return r
}
