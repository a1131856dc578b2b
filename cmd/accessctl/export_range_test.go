package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getAny answers the API's status and body for path, whatever the status.
func (s exportServer) getAny(t *testing.T, path string) (int, string) {
	req, err := http.NewRequestWithContext(t.Context(), "GET", s.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("x-api-key", s.key)
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// --from and --to are read as the API reads from and to: what the API
// answers 400 to exits 2 naming the flag with the API's message (not an
// empty or a cut export), and what it answers 200 to is exported.
func TestExportReadsItsRangeAsTheAPI(t *testing.T) {
	s := newExportServer(t)
	lock := s.lock.String()
	path := "/audit/locks/" + lock + "/history"
	for _, tc := range []struct {
		field, raw, message string
	}{
		{"to", "9999-12-31T19:00:00-05:00", "is out of range"}, // year 10000 in UTC
		{"to", "0001-01-01T00:00:00+01:00", "is out of range"}, // year 0 in UTC
		{"from", "0001-01-01T00:00:00+01:00", "is out of range"},
		{"from", "9999-12-31T19:00:00-05:00", "is out of range"},
		{"from", "2026-11-25T12:25:10,5Z", "must be an RFC 3339 instant"}, // Go takes the comma, RFC 3339 does not
		{"from", "2026-11-25T12:25:10.1888888889Z", "has more than 9 fractional digits"},
	} {
		name := tc.field + "=" + tc.raw
		status, body := s.getAny(t, path+"?"+tc.field+"="+url.QueryEscape(tc.raw))
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", name, body)
		assert.Contains(t, body, tc.field+": "+tc.message, name)

		out := filepath.Join(t.TempDir(), "export.json")
		code, _, stderr := accessctl(t, "export", "--data-dir", s.dir, "--lock", lock, "--out", out, "--"+tc.field, tc.raw)
		assert.Equal(t, exitUsage, code, "%s: %s", name, stderr)
		assert.Contains(t, stderr, "--"+tc.field+": "+tc.message, name)
		_, err := os.Stat(out)
		assert.ErrorIs(t, err, os.ErrNotExist, name)
	}

	// A lower-case t and z, as RFC 3339 allows: the same history as the API's.
	from := strings.ToLower(s.mid.UTC().Format(time.RFC3339Nano))
	want := s.get(t, path+"?from="+url.QueryEscape(from))
	require.NotEmpty(t, want)
	out := filepath.Join(t.TempDir(), "export.json")
	code, _, stderr := accessctl(t, "export", "--data-dir", s.dir, "--lock", lock, "--out", out, "--from", from)
	require.Equal(t, exitOK, code, "%s", stderr)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}
