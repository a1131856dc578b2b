package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
)

// statusOf maps an error to its HTTP status. It is the only place that does.
func statusOf(err error) int {
	switch {
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
	case errors.Is(err, eventstore.ErrUnavailable):
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
	if status == http.StatusInternalServerError {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	if status == http.StatusServiceUnavailable {
		slog.WarnContext(r.Context(), "request unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeFailure(w, status, msg)
}
