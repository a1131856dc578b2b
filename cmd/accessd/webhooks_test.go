package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServerDeliversSignedWebhooks: the real binary, embedded (in-process
// bus), forwards a created property to a registered webhook, signed with
// the secret it answered once.
func TestServerDeliversSignedWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	type delivery struct {
		body               string
		eventID, timestamp string
		signature          string
	}
	got := make(chan delivery, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{string(body), r.Header.Get("x-accessd-event-id"), r.Header.Get("x-accessd-timestamp"), r.Header.Get("x-accessd-signature")}
	}))
	defer receiver.Close()

	bin := buildServer(t)
	// The receiver is on 127.0.0.1, an address refused by default; the
	// server inherits the test's environment.
	t.Setenv("ACCESSD_WEBHOOKS_ALLOW_PRIVATE", "true")
	s := &crashServer{bin: bin, dataDir: filepath.Join(t.TempDir(), "data"), key: strings.Repeat("w", 40)}
	s.start(t)
	defer s.kill(t)

	status, data := s.send(t.Context(), &sent{key: "hook", method: "POST", path: "/accounts/webhooks",
		body: map[string]any{"url": receiver.URL, "eventTypes": []string{"PropertyCreated"}}})
	require.Equal(t, http.StatusCreated, status, data)
	secret, _ := data["secret"].(string)
	require.NotEmpty(t, secret)

	status, data = s.send(t.Context(), &sent{key: "p1", method: "POST", path: "/properties", body: map[string]any{"displayName": "Hooked"}})
	require.Equal(t, http.StatusCreated, status, data)

	select {
	case d := <-got:
		require.Contains(t, d.body, `"PropertyCreated"`)
		require.Contains(t, d.body, "Hooked")
		require.NotEmpty(t, d.eventID)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(d.timestamp + "." + d.body))
		require.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), d.signature, "the signature does not verify with the answered secret")
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook delivery arrived")
	}
}

// TestServerRefusesInternalWebhookURLsByDefault: without the setting, the
// real binary answers 400 to a webhook on a loopback address.
func TestServerRefusesInternalWebhookURLsByDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Setenv("ACCESSD_WEBHOOKS_ALLOW_PRIVATE", "")
	s := &crashServer{bin: buildServer(t), dataDir: filepath.Join(t.TempDir(), "data"), key: strings.Repeat("w", 40)}
	s.start(t)
	defer s.kill(t)

	for i, url := range []string{"http://127.0.0.1:5432/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/"} {
		status, data := s.send(t.Context(), &sent{key: "hook-" + strconv.Itoa(i), method: "POST", path: "/accounts/webhooks",
			body: map[string]any{"url": url, "eventTypes": []string{"PropertyCreated"}}})
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", url, data)
		require.Contains(t, data["error"], "internal address", url)
	}
}

func TestWebhooksAllowPrivateSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want bool
	}{
		{nil, "", false},
		{nil, "true", true},
		{nil, "yes", false},
		{[]string{"--webhooks-allow-private"}, "", true},
		{[]string{"--webhooks-allow-private=false"}, "true", false},
	} {
		c, err := parseConfig(tc.args, func(name string) string {
			if name == "ACCESSD_WEBHOOKS_ALLOW_PRIVATE" {
				return tc.env
			}
			return ""
		})
		require.NoError(t, err)
		require.Equal(t, tc.want, c.WebhooksAllowPrivate, "%v %q", tc.args, tc.env)
	}
}
