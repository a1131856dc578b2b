package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// A 5xx answer is logged once, on the request's own line, with the error
// it was for: a 503 at WARN, a 500 at ERROR. (Each used to log two lines,
// one without the error, one without the request id.)
func TestServerErrorsAreLoggedOnce(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		level  string
	}{
		{fmt.Errorf("append: %w", eventstore.ErrUnavailable), http.StatusServiceUnavailable, "WARN"},
		{errors.New("something unexpected"), http.StatusInternalServerError, "ERROR"},
	} {
		var own, global bytes.Buffer
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(&global, nil)))
		log := slog.New(slog.NewTextHandler(&own, nil))
		h := observe(NewMetrics(prometheus.NewRegistry()), log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeErr(w, r, tc.err)
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/properties", nil))
		slog.SetDefault(prev)

		require.Equal(t, tc.status, w.Code)
		lines := strings.Split(strings.TrimSpace(own.String()+global.String()), "\n")
		require.Len(t, lines, 1, "one line: %q", lines)
		assert.Contains(t, lines[0], "level="+tc.level)
		assert.Contains(t, lines[0], "requestId=")
		assert.Contains(t, lines[0], tc.err.Error())
	}
}
