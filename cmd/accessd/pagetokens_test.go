package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Page tokens are signed by a key derived from command.key: a token one
// server issued continues its list on the next server of the same data
// directory, after a restart and on the read-only server alike, as it
// does on every server of a shared log behind a load balancer.
func TestPageTokensContinueOnEveryServerOfTheKey(t *testing.T) {
	key := strings.Repeat("t", 40)
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startPrivacyServer(t, key, dataDir)
	for _, name := range []string{"first", "second"} {
		s.ok(t, http.StatusCreated, key, "POST", "/properties", map[string]any{"displayName": name})
	}
	token, _ := s.ok(t, http.StatusOK, key, "GET", "/properties?pageSize=1", nil)["pageToken"].(string)
	require.NotEmpty(t, token)
	second := func(s *privacyServer) string {
		t.Helper()
		var page struct {
			Properties []struct {
				DisplayName string `json:"displayName"`
			} `json:"properties"`
		}
		raw, err := json.Marshal(s.ok(t, http.StatusOK, key, "GET", "/properties?pageSize=1&pageToken="+token, nil))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &page))
		require.Len(t, page.Properties, 1)
		return page.Properties[0].DisplayName
	}
	want := second(s)
	s.stop()

	restarted := startPrivacyServer(t, key, dataDir)
	require.Equal(t, want, second(restarted), "the token after a restart")
	restarted.stop()

	readOnly := startPrivacyServer(t, key, dataDir, "--read-only")
	require.Equal(t, want, second(readOnly), "the token on the read-only server")
	readOnly.stop()
}
