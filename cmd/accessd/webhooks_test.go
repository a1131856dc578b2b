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

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections/bus"
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

// TestReprocessRedeliversToWebhooks: PUT /events/{eventId}/process
// publishes the event on the bus again, and the server's webhook
// delivery, a subscriber of the bus, POSTs it to the webhook again with
// the same event id. On NATS (a namespace of the test's own), JetStream
// stores it again, not dropped as a repeat of the forwarder's message.
func TestReprocessRedeliversToWebhooks(t *testing.T) {
	t.Run("gochannel", func(t *testing.T) { reprocessRedelivers(t, "", "") })
	t.Run("nats", func(t *testing.T) {
		if testing.Short() {
			t.Skip("needs NATS")
		}
		natsURL := servicetest.NATSURL(t)
		ns := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
		t.Cleanup(func() {
			if nc, err := nats.Connect(natsURL); err == nil {
				defer nc.Close()
				if js, err := nc.JetStream(); err == nil {
					_ = js.DeleteStream(bus.DefaultStream + "_" + strings.ToUpper(ns))
					_ = js.DeleteStream(bus.DefaultStream + "_" + strings.ToUpper(ns) + bus.InternalStreamSuffix)
				}
			}
		})
		reprocessRedelivers(t, natsURL, ns)
	})
}

func reprocessRedelivers(t *testing.T, natsURL, namespace string) {
	hooks, hookURL := newEventReceiver(t)
	key := strings.Repeat("r", 40)
	var args []string
	if natsURL != "" {
		args = []string{"--bus", natsURL + "?" + bus.NamespaceParam + "=" + namespace}
	}
	s := startPrivacyServer(t, key, filepath.Join(t.TempDir(), "data"), args...)
	defer s.stop()
	s.ok(t, http.StatusCreated, key, "POST", "/accounts/webhooks", map[string]any{"url": hookURL, "eventTypes": []string{"PropertyCreated"}})
	id := createPropertyEvent(t, s, key)
	require.Eventually(t, func() bool { return hooks.snapshot()[id] == 1 }, 30*time.Second, 10*time.Millisecond, "the event was never delivered")

	s.ok(t, http.StatusOK, key, "PUT", "/events/"+id+"/process", nil)
	require.Eventually(t, func() bool { return hooks.snapshot()[id] == 2 }, 30*time.Second, 10*time.Millisecond, "the re-delivered event was not POSTed again")
	require.Equal(t, 2, hooks.total(), "only the re-delivered event goes out again")

	if natsURL != "" {
		nc, err := nats.Connect(natsURL)
		require.NoError(t, err)
		defer nc.Close()
		js, err := nc.JetStream()
		require.NoError(t, err)
		subject := namespace + "." + bus.TopicPrefix + "property"
		info, err := js.StreamInfo(bus.DefaultStream+"_"+strings.ToUpper(namespace), &nats.StreamInfoRequest{SubjectsFilter: subject})
		require.NoError(t, err)
		require.Equal(t, map[string]uint64{subject: 2}, info.State.Subjects, "the forwarder's message and the re-delivery")
		last, err := js.GetLastMsg(bus.DefaultStream+"_"+strings.ToUpper(namespace), subject)
		require.NoError(t, err)
		require.Equal(t, id, last.Header.Get("_watermill_message_uuid"))
		require.NotEmpty(t, last.Header.Get(bus.MetaRedelivery))
	}
}

// createPropertyEvent creates a property and answers the id of its event.
func createPropertyEvent(t *testing.T, s *privacyServer, key string) string {
	t.Helper()
	s.ok(t, http.StatusCreated, key, "POST", "/properties", map[string]any{"displayName": "Redelivered"})
	events, _ := s.ok(t, http.StatusOK, key, "GET", "/events?eventSource=property", nil)["events"].([]any)
	require.Len(t, events, 1)
	id, _ := events[0].(map[string]any)["eventId"].(string)
	require.NotEmpty(t, id)
	return id
}
