package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Each operation with declared query parameters is a route: a misspelt
// name would leave a paged route taking every parameter into its tokens.
func TestQueryParamsNameRoutes(t *testing.T) {
	operations := map[string]bool{}
	for _, rt := range (&API{}).routes() {
		operations[rt.operation] = true
	}
	for operation := range queryParams {
		assert.True(t, operations[operation], "queryParams names %s, which no route is", operation)
	}
}

func TestOnlyDeclaredQueryKeepsDeclaredNamesAndPrefixes(t *testing.T) {
	declared := []string{"eventSource!", "status", "startDateTime[", "pageToken"}
	for query, want := range map[string]string{
		"eventSource=all&_=17":                          "eventSource=all",
		"status=booked&Status=x&startDateTime[after]=t": "startDateTime%5Bafter%5D=t&status=booked",
		"startDateTime=t&pageToken=abc":                 "pageToken=abc",
		"status=&status=booked&eventSource=":            "status=booked",
		"":                                              "",
	} {
		var got string
		h := onlyDeclaredQuery(func(_ http.ResponseWriter, r *http.Request) { got = r.URL.RawQuery }, declared)
		h(httptest.NewRecorder(), httptest.NewRequest("GET", "/x?"+query, nil))
		assert.Equal(t, want, got, "?%s", query)
	}
}
