package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/accessd/accessd/commands"
)

// Metrics counts requests by route template and status.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accessd_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "accessd_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets streaming handlers (exports) push what they wrote.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// validRequestID accepts a client's X-Request-Id only as 1 to 128 printable
// ASCII characters: it becomes every event's correlation id, which the hash
// chain covers, and JSON would rewrite other bytes after hashing.
func validRequestID(id string) bool {
	return id != "" && len(id) <= 128 && printableASCII(id)
}

// printableASCII reports whether s holds only printable ASCII characters.
// Header values end up in event metadata, which the hash chain covers.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// observe wraps every request: a request id for correlation, recovery so no
// panic reaches a client, one structured log line, and metrics by route.
func observe(m *Metrics, log *slog.Logger) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			requestID := r.Header.Get("X-Request-Id")
			if !validRequestID(requestID) {
				requestID = uuid.NewString()
			}
			w.Header().Set("X-Request-Id", requestID)
			ctx := commands.WithCorrelationID(r.Context(), requestID)
			if key := r.Header.Get("Idempotency-Key"); key != "" {
				if len(key) > maxIdempotencyKey || !printableASCII(key) {
					writeFailure(w, http.StatusBadRequest, "Idempotency-Key: 1 to 255 printable ASCII characters")
					return
				}
				ctx = commands.WithIdempotencyKey(ctx, key)
			}
			rec := &statusRecorder{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					log.Error("panic in handler", "panic", fmt.Sprint(p), "path", r.URL.Path, "stack", string(debug.Stack()))
					if rec.status == 0 {
						writeFailure(rec, http.StatusInternalServerError, "internal error")
					}
				}
				route := routeOf(r)
				elapsed := time.Since(start)
				m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
				m.latency.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
				if rec.status >= 500 {
					log.Warn("request", "method", r.Method, "route", route, "status", rec.status, "ms", elapsed.Milliseconds(), "requestId", requestID)
				} else {
					log.Debug("request", "method", r.Method, "route", route, "status", rec.status, "ms", elapsed.Milliseconds(), "requestId", requestID)
				}
			}()
			next.ServeHTTP(rec, r.WithContext(ctx))
		})
	}
}

// routeOf names a request by its route template, so metrics do not grow a
// series per id.
func routeOf(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return "unmatched"
}
