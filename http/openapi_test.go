package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenAPIDocumentsEveryRoute fails when the router serves a route that
// /openapi.json does not describe.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	resp, err := h.client.Get(h.srv.URL + "/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	assert.Equal(t, "3.0.3", doc.OpenAPI)

	router := h.srv.Config.Handler.(interface{ Walk(mux.WalkFunc) error })
	count := 0
	err = router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil || path == "/openapi.json" {
			return nil
		}
		methods, _ := route.GetMethods()
		for _, m := range methods {
			count++
			_, ok := doc.Paths[path][strings.ToLower(m)]
			assert.True(t, ok, "%s %s is served but not in /openapi.json", m, path)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, count, 5)
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	h := newHarness(t)
	assert.Equal(t, http.StatusOK, h.do("GET", "/healthz", "", nil).Status)
	assert.Equal(t, http.StatusOK, h.do("GET", "/readyz", "", nil).Status)
	h.do("GET", "/account", rootKey, nil)
	resp, err := h.client.Get(h.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	assert.Contains(t, b.String(), `accessd_http_requests_total{method="GET",route="/account",status="200"} 1`)
}
