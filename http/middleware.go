package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
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
	// err is what a 5xx answer was for (see writeErr), so the request's one
	// log line names it.
	err error
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

// Unwrap lets http.ResponseController reach the connection's writer
// (a streamed history moves its write deadline on).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

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
			if keys := r.Header.Values("Idempotency-Key"); len(keys) > 1 {
				// Which one the client meant is anyone's guess, as with a
				// query parameter given twice.
				writeFailure(w, http.StatusBadRequest, "Idempotency-Key: give the header once")
				return
			}
			if key := r.Header.Get("Idempotency-Key"); key != "" {
				if len(key) > maxIdempotencyKey || !printableASCII(key) {
					writeFailure(w, http.StatusBadRequest, "Idempotency-Key: 1 to 255 printable ASCII characters")
					return
				}
				ctx = commands.WithIdempotencyKey(ctx, key)
				body, err := fingerprintBody(r)
				if err != nil {
					writeFailure(w, http.StatusBadRequest, "could not read the request body")
					return
				}
				ctx = commands.WithRequestFingerprint(ctx, requestFingerprint(r.Method, r.URL, body))
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
				switch {
				case rec.status >= 500 && rec.err != nil:
					level := slog.LevelWarn
					if rec.status == http.StatusInternalServerError {
						level = slog.LevelError
					}
					log.Log(r.Context(), level, "request", "method", r.Method, "route", route, "path", r.URL.Path, "status", rec.status,
						"ms", elapsed.Milliseconds(), "requestId", requestID, "err", rec.err)
				case rec.status >= 500:
					log.Warn("request", "method", r.Method, "route", route, "status", rec.status, "ms", elapsed.Milliseconds(), "requestId", requestID)
				default:
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

// requestFingerprint names a request for its Idempotency-Key (the IETF
// httpapi Idempotency-Key draft's "request fingerprint"): method, path,
// query (sorted, so parameter order does not matter) and the digest of the
// body. The path holds every id the route names, so the same key on
// another route, or on the same route for another entity, is another
// request. A key repeated with another fingerprint is answered 422
// (commands.ErrIdempotencyKeyReused), never with the first result.
func requestFingerprint(method string, u *url.URL, body string) string {
	return "v1\n" + method + "\n" + u.EscapedPath() + "\n" + u.Query().Encode() + "\n" + body
}

// fingerprintBody returns the digest of a keyed request's body for its
// fingerprint, leaving the body for the handler to read as sent.
//
// A JSON body is canonicalised before it is hashed: decoded (numbers kept
// as written) and encoded again, which drops insignificant whitespace and
// sorts object keys. Handlers decode bodies into structs, so two bodies
// that differ only in spacing or key order ask for the same thing, and a
// client retrying after a timeout may well re-serialise its request (a
// map's key order, a pretty-printer): that retry must be answered, not
// refused. Numbers keep their literal text (1 and 1.0 differ) because
// handlers do not read them alike; strings are compared by value, as
// handlers see them (the escape \u0041 and A are the same request).
// Duplicate keys and invalid UTF-8 need no care: handlers refuse them.
// A body that is not JSON is hashed as its bytes. A body over
// MaxBodyBytes is hashed as far as read: the handler refuses it anyway.
//
// The firmware upload's body (an image, raw or in a multipart form:
// large, and a form's boundary changes with every retry) is not read
// here; its handler adds what identifies it (the image's sha256) with
// withBodyDigest before running its command. Every other route reads
// its body as JSON whatever its Content-Type, so it is digested here
// whatever the Content-Type says.
func fingerprintBody(r *http.Request) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return "empty", nil
	}
	if route := mux.CurrentRoute(r); route != nil && route.GetName() == firmwareUploadOperation {
		return "unread", nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return "", err
	}
	r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
	if len(bytes.TrimSpace(buf)) == 0 {
		return "empty", nil
	}
	sum := func(kind string, b []byte) string {
		h := sha256.Sum256(b)
		return kind + ":sha256:" + hex.EncodeToString(h[:])
	}
	if len(buf) > MaxBodyBytes {
		return sum("prefix", buf), nil
	}
	if canon, ok := canonicalJSON(buf); ok {
		return sum("json", canon), nil
	}
	return sum("raw", buf), nil
}

// canonicalJSON re-encodes one JSON value with sorted keys and no
// insignificant whitespace; ok is false for anything else.
func canonicalJSON(b []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return out.Bytes(), true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// withBodyDigest replaces the body digest of a keyed request's fingerprint
// with one its handler computed from what it read (firmware: the image's
// sha256), for bodies fingerprintBody leaves unread.
func withBodyDigest(r *http.Request, digest string) context.Context {
	return commands.WithRequestFingerprint(r.Context(), requestFingerprint(r.Method, r.URL, digest))
}
