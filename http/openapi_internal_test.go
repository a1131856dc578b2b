package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOnlyDeclaredQueryKeepsDeclaredNamesAndPrefixes(t *testing.T) {
	declared := []string{"eventSource", "status", "startDateTime[", "pageToken"}
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
