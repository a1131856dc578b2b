package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/webhooks"
)

// forwardEvents publishes every logged event after *after onto the
// harness's bus, as the forwarder does, and advances *after. Each publish
// returns once its webhook deliveries are settled.
func (h *harness) forwardEvents(after *uint64) {
	h.t.Helper()
	events, err := h.store.ReadAll(context.Background(), *after, 10_000, eventstore.Filter{})
	require.NoError(h.t, err)
	for _, ev := range events {
		msg, err := bus.Encode(ev)
		require.NoError(h.t, err)
		require.NoError(h.t, h.bus.Publish(bus.Topic(ev.Stream), msg))
		*after = ev.Position
	}
}

// hookReceiver is a webhook endpoint that accepts only requests signed with
// secret, answering status (settable) to each.
type hookReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	status   int
	received []bus.Event
	refused  int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rcv := &hookReceiver{status: http.StatusOK}
	rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		mac := hmac.New(sha256.New, []byte(rcv.secret))
		mac.Write([]byte(r.Header.Get("x-accessd-timestamp") + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if rcv.secret == "" || !hmac.Equal([]byte(want), []byte(r.Header.Get("x-accessd-signature"))) ||
			r.Header.Get("content-type") != "application/json" {
			rcv.refused++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if rcv.status/100 == 2 {
			var ev bus.Event
			_ = json.Unmarshal(body, &ev)
			if ev.EventID.String() != r.Header.Get("x-accessd-event-id") {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			rcv.received = append(rcv.received, ev)
		}
		w.WriteHeader(rcv.status)
	}))
	t.Cleanup(rcv.srv.Close)
	return rcv
}

func (rcv *hookReceiver) set(secret string, status int) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	rcv.secret, rcv.status = secret, status
}

func (rcv *hookReceiver) events() (received []bus.Event, refused int) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]bus.Event(nil), rcv.received...), rcv.refused
}

type webhookOut struct {
	WebhookID  string   `json:"webhookId"`
	Secret     string   `json:"secret"`
	URL        string   `json:"url"`
	EventTypes []string `json:"eventTypes"`
	CreatedAt  string   `json:"createdAt"`
}

type deliveryOut struct {
	DeliveryID    string  `json:"deliveryId"`
	EventID       string  `json:"eventId"`
	EventType     string  `json:"eventType"`
	Status        string  `json:"status"`
	Attempts      int     `json:"attempts"`
	LastError     *string `json:"lastError"`
	LastAttemptAt *string `json:"lastAttemptAt"`
	DeliveredAt   *string `json:"deliveredAt"`
}

func (h *harness) registerWebhook(key, url string, types ...string) webhookOut {
	h.t.Helper()
	r := h.do("POST", "/accounts/webhooks", key, map[string]any{"url": url, "eventTypes": types})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	var out webhookOut
	require.NoError(h.t, json.Unmarshal(r.Data, &out))
	return out
}

func (h *harness) webhookDeliveries(key, webhookID string) []deliveryOut {
	h.t.Helper()
	r := h.do("GET", "/accounts/webhooks/"+webhookID+"/deliveries", key, nil)
	require.Equal(h.t, http.StatusOK, r.Status, r.Error)
	var out struct {
		Deliveries []deliveryOut `json:"deliveries"`
	}
	require.NoError(h.t, json.Unmarshal(r.Data, &out))
	return out.Deliveries
}

// settledDeliveries waits until none of the webhook's deliveries is
// pending (attempts run on the delivery's retry loop, not within the
// publish) and returns them.
func (h *harness) settledDeliveries(key, webhookID string) []deliveryOut {
	h.t.Helper()
	var d []deliveryOut
	require.Eventually(h.t, func() bool {
		d = h.webhookDeliveries(key, webhookID)
		for _, x := range d {
			if x.Status == "pending" {
				return false
			}
		}
		return len(d) > 0
	}, 30*time.Second, 5*time.Millisecond, "deliveries still pending")
	return d
}

func TestWebhookLifecycle(t *testing.T) {
	h := newHarness(t, webhooks.WithPrivateTargets(true)) // the receiver is on 127.0.0.1
	var forwarded uint64
	h.forwardEvents(&forwarded)
	rcv := newHookReceiver(t)

	hook := h.registerWebhook(rootKey, rcv.srv.URL+"/accessd", "PropertyCreated", "WebhookDeleted")
	require.Equal(t, rcv.srv.URL+"/accessd", hook.URL)
	require.Equal(t, []string{"PropertyCreated", "WebhookDeleted"}, hook.EventTypes)
	require.NotEmpty(t, hook.CreatedAt)
	// The secret is the server key's HMAC of the webhook id (the harness's
	// server key is 32 bytes of 7), hex: it is derived, never stored.
	mac := hmac.New(sha256.New, bytes.Repeat([]byte{7}, 32))
	mac.Write([]byte("webhook:" + hook.WebhookID))
	require.Equal(t, hex.EncodeToString(mac.Sum(nil)), hook.Secret)
	rcv.set(hook.Secret, http.StatusOK)

	list := h.do("GET", "/accounts/webhooks", rootKey, nil)
	require.Equal(t, http.StatusOK, list.Status, list.Error)
	var listed struct {
		Webhooks []webhookOut `json:"webhooks"`
	}
	require.NoError(t, json.Unmarshal(list.Data, &listed))
	require.Len(t, listed.Webhooks, 1)
	require.Equal(t, hook.WebhookID, listed.Webhooks[0].WebhookID)
	require.Equal(t, hook.EventTypes, listed.Webhooks[0].EventTypes)
	require.NotContains(t, string(list.Data), hook.Secret, "the secret is answered once")
	require.NotContains(t, string(list.Data), "secret")

	// A property created after the registration is delivered, signed; the
	// other events (ApiKey..., WebhookRegistered) are not subscribed.
	created := h.do("POST", "/properties", rootKey, map[string]any{"displayName": "Casa Sol"})
	require.Equal(t, http.StatusCreated, created.Status, created.Error)
	h.forwardEvents(&forwarded)
	received, refused := rcv.events()
	require.Zero(t, refused)
	require.Len(t, received, 1)
	require.Equal(t, "PropertyCreated", received[0].Type)
	require.Contains(t, string(received[0].Data), created.field("propertyId"))

	deliveries := h.webhookDeliveries(rootKey, hook.WebhookID)
	require.Len(t, deliveries, 1)
	require.Equal(t, received[0].EventID.String(), deliveries[0].EventID)
	require.Equal(t, "PropertyCreated", deliveries[0].EventType)
	require.Equal(t, "delivered", deliveries[0].Status)
	require.Equal(t, 1, deliveries[0].Attempts)
	require.Nil(t, deliveries[0].LastError)
	require.NotNil(t, deliveries[0].DeliveredAt)
	require.NotNil(t, deliveries[0].LastAttemptAt)

	// Deleted: gone from the list, and its own deletion is not delivered
	// (nothing more is, once it is deleted).
	del := h.do("DELETE", "/accounts/webhooks/"+hook.WebhookID, rootKey, nil)
	require.Equal(t, http.StatusOK, del.Status, del.Error)
	require.Equal(t, hook.WebhookID, del.field("webhookId"))
	h.do("POST", "/properties", rootKey, map[string]any{"displayName": "Casa Luna"})
	h.forwardEvents(&forwarded)
	received, _ = rcv.events()
	require.Len(t, received, 1)
	require.NotContains(t, string(h.do("GET", "/accounts/webhooks", rootKey, nil).Data), hook.WebhookID)
	require.Equal(t, http.StatusNotFound, h.do("DELETE", "/accounts/webhooks/"+hook.WebhookID, rootKey, nil).Status)
	require.Equal(t, http.StatusNotFound, h.do("GET", "/accounts/webhooks/"+hook.WebhookID+"/deliveries", rootKey, nil).Status)
}

func TestWebhookFailedDeliveryReplayed(t *testing.T) {
	h := newHarness(t, webhooks.WithPrivateTargets(true)) // the receiver is on 127.0.0.1
	var forwarded uint64
	rcv := newHookReceiver(t)
	hook := h.registerWebhook(rootKey, rcv.srv.URL, "PropertyCreated")
	rcv.set(hook.Secret, http.StatusServiceUnavailable)
	h.do("POST", "/properties", rootKey, map[string]any{"displayName": "Casa Sol"})
	h.forwardEvents(&forwarded)

	d := h.settledDeliveries(rootKey, hook.WebhookID)
	require.Len(t, d, 1)
	require.Equal(t, "failed", d[0].Status)
	require.Equal(t, 8, d[0].Attempts)
	require.NotNil(t, d[0].LastError)
	require.Contains(t, *d[0].LastError, "503")
	require.Nil(t, d[0].DeliveredAt)
	replay := "/accounts/webhooks/" + hook.WebhookID + "/deliveries/" + d[0].DeliveryID + "/replay"

	support := h.newKey(rootKey, perm("support"))
	require.Equal(t, http.StatusForbidden, h.do("POST", replay, support, nil).Status)
	other := h.newAccount()
	require.Equal(t, http.StatusNotFound, h.do("POST", replay, other, nil).Status)
	require.Equal(t, http.StatusNotFound, h.do("POST", "/accounts/webhooks/"+hook.WebhookID+"/deliveries/"+hook.WebhookID+"/replay", rootKey, nil).Status)
	require.Equal(t, http.StatusBadRequest, h.do("POST", "/accounts/webhooks/"+hook.WebhookID+"/deliveries/nope/replay", rootKey, nil).Status)

	// The body is optional, an empty object: anything else is a 400 that
	// queues nothing.
	for body, want := range map[string]string{"not json": "malformed JSON", `{"bogus":1}`: "bogus: unknown field"} {
		r := h.do("POST", replay, rootKey, body)
		require.Equal(t, http.StatusBadRequest, r.Status, body)
		require.Contains(t, r.Error, want, body)
	}
	require.Equal(t, "failed", h.settledDeliveries(rootKey, hook.WebhookID)[0].Status)

	rcv.set(hook.Secret, http.StatusOK)
	// A replay is no list: paging parameters are nothing to it.
	r := h.do("POST", replay+"?pageSize=x", rootKey, nil)
	require.Equal(t, http.StatusAccepted, r.Status, r.Error)
	require.Equal(t, d[0].DeliveryID, r.field("deliveryId"))
	d = h.settledDeliveries(rootKey, hook.WebhookID)
	require.Equal(t, "delivered", d[0].Status)
	require.Equal(t, 9, d[0].Attempts)
	received, _ := rcv.events()
	require.Len(t, received, 1)

	again := h.do("POST", replay, rootKey, "{}")
	require.Equal(t, http.StatusConflict, again.Status)
	require.Contains(t, again.Error, "failed")
}

func TestWebhookTenancyAndPermissions(t *testing.T) {
	h := newHarness(t)
	hook := h.registerWebhook(rootKey, "https://hooks.example.com/in", "LockInstalled")
	other := h.newAccount()
	support := h.newKey(rootKey, perm("support"))
	id := hook.WebhookID
	deliveries := "/accounts/webhooks/" + id + "/deliveries"
	replay := deliveries + "/" + id + "/replay"
	create := map[string]any{"url": "https://hooks.example.com/in", "eventTypes": []string{"LockInstalled"}}

	for _, rt := range []struct{ method, path string }{
		{"POST", "/accounts/webhooks"}, {"GET", "/accounts/webhooks"}, {"DELETE", "/accounts/webhooks/" + id},
		{"GET", deliveries}, {"POST", replay},
	} {
		var body any
		if rt.path == "/accounts/webhooks" && rt.method == "POST" {
			body = create
		}
		require.Equal(t, http.StatusUnauthorized, h.do(rt.method, rt.path, "", body).Status, rt)
		require.Equal(t, http.StatusForbidden, h.do(rt.method, rt.path, support, body).Status, rt)
	}

	// Another account sees none of it: its list is empty, the id is unknown.
	r := h.do("GET", "/accounts/webhooks", other, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	require.JSONEq(t, `{"webhooks":[]}`, string(r.Data))
	require.Equal(t, http.StatusNotFound, h.do("DELETE", "/accounts/webhooks/"+id, other, nil).Status)
	require.Equal(t, http.StatusNotFound, h.do("GET", deliveries, other, nil).Status)
	require.Equal(t, http.StatusNotFound, h.do("POST", replay, other, nil).Status)
	// ... and the owner's webhook is still there.
	require.Contains(t, string(h.do("GET", "/accounts/webhooks", rootKey, nil).Data), id)
	empty := h.do("GET", deliveries, rootKey, nil)
	require.Equal(t, http.StatusOK, empty.Status, empty.Error)
	require.JSONEq(t, `{"deliveries":[]}`, string(empty.Data))
}

func TestWebhookValidation(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"eventTypes": []string{"LockInstalled"}}, "url"},
		{map[string]any{"url": "hooks.example.com/in", "eventTypes": []string{"LockInstalled"}}, "url"},
		{map[string]any{"url": "/in", "eventTypes": []string{"LockInstalled"}}, "url"},
		{map[string]any{"url": "ftp://hooks.example.com/in", "eventTypes": []string{"LockInstalled"}}, "url"},
		{map[string]any{"url": "https://user:pw@hooks.example.com/in", "eventTypes": []string{"LockInstalled"}}, "url"},
		{map[string]any{"url": "https://hooks.example.com:99999/in", "eventTypes": []string{"LockInstalled"}}, "url"},
		{map[string]any{"url": "https://hooks.example.com:0/in", "eventTypes": []string{"LockInstalled"}}, "url"},
		{map[string]any{"url": "https://hooks.example.com/in"}, "eventTypes"},
		{map[string]any{"url": "https://hooks.example.com/in", "eventTypes": []string{}}, "eventTypes"},
		{map[string]any{"url": "https://hooks.example.com/in", "eventTypes": []string{"LockInstalled", "LockMelted"}}, "eventTypes[1]"},
		{map[string]any{"url": "https://hooks.example.com/in", "eventTypes": []string{"LockInstalled", "LockInstalled"}}, "eventTypes[1]"},
		// A guard is no event GET /events shows.
		{map[string]any{"url": "https://hooks.example.com/in", "eventTypes": []string{"LockInstalled", "AreaTreeChecked"}}, "eventTypes[1]"},
		{map[string]any{"url": "https://hooks.example.com/in", "eventTypes": []string{"LockInstalled"}, "secret": "mine"}, "secret"},
		{map[string]any{"url": 5, "eventTypes": []string{"LockInstalled"}}, "url"},
		{`{`, ""},
	} {
		r := h.do("POST", "/accounts/webhooks", rootKey, tc.body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%v: %s", tc.body, r.Error)
		require.Contains(t, r.Error, tc.field, tc.body)
	}
	require.Equal(t, http.StatusBadRequest, h.do("DELETE", "/accounts/webhooks/not-a-uuid", rootKey, nil).Status)
	require.Equal(t, http.StatusBadRequest, h.do("GET", "/accounts/webhooks/not-a-uuid/deliveries", rootKey, nil).Status)
	require.Equal(t, http.StatusBadRequest, h.do("GET", "/accounts/webhooks?pageSize=0", rootKey, nil).Status)
	require.Equal(t, http.StatusBadRequest, h.do("GET", "/accounts/webhooks?pageToken=bogus", rootKey, nil).Status)
	require.JSONEq(t, `{"webhooks":[]}`, string(h.do("GET", "/accounts/webhooks", rootKey, nil).Data), "nothing was registered")
}

func TestWebhookListPages(t *testing.T) {
	h := newHarness(t)
	var want []string
	for range 5 {
		want = append(want, h.registerWebhook(rootKey, "https://hooks.example.com/in", "LockInstalled").WebhookID)
	}
	var got []string
	path := "/accounts/webhooks?pageSize=2"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3)
		r := h.do("GET", path, rootKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Error)
		var page struct {
			Webhooks  []webhookOut `json:"webhooks"`
			PageToken string       `json:"pageToken"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &page))
		require.LessOrEqual(t, len(page.Webhooks), 2)
		for _, w := range page.Webhooks {
			got = append(got, w.WebhookID)
			require.Empty(t, w.Secret)
		}
		if page.PageToken == "" {
			break
		}
		path = "/accounts/webhooks?pageSize=2&pageToken=" + page.PageToken
	}
	require.Equal(t, want, got)
}

func TestWebhookRefusesInternalURLs(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ url, why string }{
		{"http://127.0.0.1:5432/", "127.0.0.1 is loopback"},
		{"http://127.8.9.10/in", "is loopback"},
		{"http://[::1]:8080/in", "::1 is loopback"},
		{"http://10.0.0.5/", "10.0.0.5 is private"},
		{"http://172.16.0.1/", "is private"},
		{"http://192.168.1.1/", "is private"},
		{"http://[fd00::1]/", "fd00::1 is private"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"},
		{"http://[fe80::1]/", "fe80::1 is link-local"},
		{"http://0.0.0.0:8080/", "0.0.0.0 is unspecified"},
		{"http://[::]/", ":: is unspecified"},
		{"http://224.0.0.1/", "is multicast"},
		{"http://[ff02::1]/", "is multicast"},
		{"http://100.64.0.1/", "100.64.0.1 is shared address space (carrier-grade NAT)"},
		{"http://[::ffff:127.0.0.1]/", "is loopback"},
		{"http://[::ffff:169.254.169.254]/", "is link-local"},
		{"http://[64:ff9b:1::7f00:1]/", "is local-use NAT64"},
		{"http://[64:ff9b:1:a00:0:508:808:808]/", "is local-use NAT64"},
		{"http://[::ffff:0:7f00:1]/", "is loopback (through SIIT)"},
		{"http://[::ffff:0:a9fe:a9fe]/", "is link-local (through SIIT)"},
		{"http://2130706433/", "standard form"},
		{"http://127.1/", "standard form"},
		{"gopher://hooks.example.com/", "http or https"},
		{"https://user:pw@hooks.example.com/in", "credentials"},
		{"https://example.com/a b", "percent-encoded"},
	} {
		r := h.do("POST", "/accounts/webhooks", rootKey, map[string]any{"url": tc.url, "eventTypes": []string{"LockInstalled"}})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", tc.url, r.Error)
		require.False(t, r.Success, tc.url)
		require.Contains(t, r.Error, "url", tc.url)
		require.Contains(t, r.Error, tc.why, tc.url)
	}
	list := h.do("GET", "/accounts/webhooks", rootKey, nil)
	require.JSONEq(t, `{"webhooks":[]}`, string(list.Data), "nothing was registered")

	// A public address, and a name (not resolved at registration), pass.
	h.registerWebhook(rootKey, "https://93.184.215.14/in", "LockInstalled")
	h.registerWebhook(rootKey, "http://localhost:8080/in", "LockInstalled")

	// A server whose receivers are on its private network allows them.
	private := newHarness(t, webhooks.WithPrivateTargets(true))
	hook := private.registerWebhook(rootKey, "http://10.0.0.5/in", "LockInstalled")
	require.Equal(t, "http://10.0.0.5/in", hook.URL)
}

func TestWebhookDeliveryToAnInternalAddress(t *testing.T) {
	rcv := newHookReceiver(t)
	// localhost is a name, so registration accepts it; it resolves to a
	// loopback address, which delivery refuses unless allowed.
	target := "http://localhost:" + rcv.srv.URL[strings.LastIndexByte(rcv.srv.URL, ':')+1:] + "/in"

	refused := newHarness(t)
	var forwarded uint64
	hook := refused.registerWebhook(rootKey, target, "PropertyCreated")
	rcv.set(hook.Secret, http.StatusOK)
	refused.do("POST", "/properties", rootKey, map[string]any{"displayName": "Casa Sol"})
	refused.forwardEvents(&forwarded)

	received, rejected := rcv.events()
	require.Empty(t, received)
	require.Zero(t, rejected, "nothing reached the receiver")
	d := refused.settledDeliveries(rootKey, hook.WebhookID)
	require.Len(t, d, 1)
	require.Equal(t, "failed", d[0].Status)
	require.Equal(t, 8, d[0].Attempts)
	require.NotNil(t, d[0].LastError)
	require.Regexp(t, `^address not allowed: (127\.0\.0\.1|::1) is loopback$`, *d[0].LastError)

	allowed := newHarness(t, webhooks.WithPrivateTargets(true))
	forwarded = 0
	hook = allowed.registerWebhook(rootKey, target, "PropertyCreated")
	rcv.set(hook.Secret, http.StatusOK)
	allowed.do("POST", "/properties", rootKey, map[string]any{"displayName": "Casa Luna"})
	allowed.forwardEvents(&forwarded)

	received, _ = rcv.events()
	require.Len(t, received, 1)
	d = allowed.webhookDeliveries(rootKey, hook.WebhookID)
	require.Len(t, d, 1)
	require.Equal(t, "delivered", d[0].Status)
	require.Nil(t, d[0].LastError)
}

// A child account's events are the child's: its parent's webhooks do not
// receive them (GET /events shows the parent none of them either), and the
// child's own webhooks do.
func TestWebhookChildAccountEventsAreNotTheParents(t *testing.T) {
	h := newHarness(t, webhooks.WithPrivateTargets(true)) // the receivers are on 127.0.0.1
	var forwarded uint64
	h.forwardEvents(&forwarded)
	parentRcv, childRcv := newHookReceiver(t), newHookReceiver(t)
	parentHook := h.registerWebhook(rootKey, parentRcv.srv.URL, "AccountCreated", "ApiKeyCreated")
	parentRcv.set(parentHook.Secret, http.StatusOK)

	reg := h.do("POST", "/accounts/register", rootKey, map[string]any{"displayName": "Child"})
	require.Equal(t, http.StatusCreated, reg.Status, reg.Error)
	childKey := reg.field("apiKey")
	childHook := h.registerWebhook(childKey, childRcv.srv.URL, "ApiKeyCreated")
	childRcv.set(childHook.Secret, http.StatusOK)
	h.forwardEvents(&forwarded)
	received, refused := parentRcv.events()
	require.Zero(t, refused)
	var types []string
	for _, ev := range received {
		types = append(types, ev.Type)
	}
	require.Empty(t, types, "the parent received the child account's events")

	// Each account's own key is delivered to its own webhook only.
	h.newKey(childKey, perm("support"))
	h.newKey(rootKey, perm("support"))
	h.forwardEvents(&forwarded)
	received, _ = parentRcv.events()
	require.Len(t, received, 1)
	require.Equal(t, "ApiKeyCreated", received[0].Type)
	childReceived, _ := childRcv.events()
	require.Len(t, childReceived, 1)
	require.Equal(t, "ApiKeyCreated", childReceived[0].Type)
	require.NotEqual(t, received[0].EventID, childReceived[0].EventID)
}

// Every event type a webhook may name (those of GET /events) reaches it,
// whatever the category of the stream that holds it: a lock's key claim is
// in a stream of its own (`lockkey-...`).
func TestWebhookDeliversEveryCategory(t *testing.T) {
	h := newHarness(t, webhooks.WithPrivateTargets(true)) // the receiver is on 127.0.0.1
	var forwarded uint64
	h.forwardEvents(&forwarded)
	rcv := newHookReceiver(t)
	hook := h.registerWebhook(rootKey, rcv.srv.URL, "LockProvisioned", "LockKeyClaimed")
	rcv.set(hook.Secret, http.StatusOK)

	h.provisionLock(rootKey, "Front door")
	h.forwardEvents(&forwarded)
	received, refused := rcv.events()
	require.Zero(t, refused)
	var types []string
	for _, ev := range received {
		types = append(types, ev.Type)
	}
	require.ElementsMatch(t, []string{"LockKeyClaimed", "LockProvisioned"}, types)
}
