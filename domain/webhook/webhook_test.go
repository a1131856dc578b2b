package webhook

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/domaintest"
)

var (
	now       = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	hookID    = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	accountID = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	known     = []string{"LockInstalled", "PropertyCreated", "WebhookRegistered"}
)

var registered = WebhookRegistered{
	WebhookID: hookID, AccountID: accountID, URL: "https://hooks.example.com/accessd",
	EventTypes: []string{"LockInstalled", "PropertyCreated"}, CreatedAt: now,
}

var deleted = WebhookDeleted{WebhookID: hookID, AccountID: accountID}

func register(mod func(*Register)) Register {
	c := Register{WebhookID: hookID, AccountID: accountID, URL: "https://hooks.example.com/accessd",
		EventTypes: []string{"LockInstalled", "PropertyCreated"}, KnownEventTypes: known}
	if mod != nil {
		mod(&c)
	}
	return c
}

func TestDecide(t *testing.T) {
	t.Parallel()
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "register", When: register(nil), Then: []domain.Event{registered}},
		{Name: "register http with port and query",
			When: register(func(c *Register) {
				c.URL, c.EventTypes = "http://hooks.example.com:8080/in?x=1", []string{"WebhookRegistered"}
			}),
			Then: []domain.Event{WebhookRegistered{WebhookID: hookID, AccountID: accountID, URL: "http://hooks.example.com:8080/in?x=1",
				EventTypes: []string{"WebhookRegistered"}, CreatedAt: now}}},
		{Name: "register a private address when the server allows it",
			When: register(func(c *Register) {
				c.URL, c.EventTypes, c.AllowPrivateTargets = "http://10.0.0.5:8080/in?x=1", []string{"WebhookRegistered"}, true
			}),
			Then: []domain.Event{WebhookRegistered{WebhookID: hookID, AccountID: accountID, URL: "http://10.0.0.5:8080/in?x=1",
				EventTypes: []string{"WebhookRegistered"}, CreatedAt: now}}},
		{Name: "register twice", Given: []domain.Event{registered}, When: register(nil), Err: ErrExists},
		{Name: "register after delete", Given: []domain.Event{registered, deleted}, When: register(nil), Err: domain.ErrConflict},
		{Name: "without id", When: register(func(c *Register) { c.WebhookID = uuid.Nil }), Err: domain.ErrInvalid, Field: "webhookId"},
		{Name: "without account", When: register(func(c *Register) { c.AccountID = uuid.Nil }), Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "without url", When: register(func(c *Register) { c.URL = "" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "relative url", When: register(func(c *Register) { c.URL = "/hooks" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "ftp url", When: register(func(c *Register) { c.URL = "ftp://example.com/x" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "url without host", When: register(func(c *Register) { c.URL = "https:///path" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "url with port only", When: register(func(c *Register) { c.URL = "https://:443/x" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "url with credentials", When: register(func(c *Register) { c.URL = "https://u:p@example.com/" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "url with fragment", When: register(func(c *Register) { c.URL = "https://example.com/#x" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "unparsable url", When: register(func(c *Register) { c.URL = "https://exa mple.com/%zz" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "url with a raw space", When: register(func(c *Register) { c.URL = "https://example.com/a b" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "url with a raw quote", When: register(func(c *Register) { c.URL = "https://example.com/a\"b" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "url with a raw non-ASCII byte", When: register(func(c *Register) { c.URL = "https://example.com/caf\u00e9" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "url percent-encoded", When: register(func(c *Register) { c.URL = "https://example.com/a%20b?q=1&r=[x]" }),
			Then: []domain.Event{WebhookRegistered{WebhookID: hookID, AccountID: accountID, URL: "https://example.com/a%20b?q=1&r=[x]",
				EventTypes: registered.EventTypes, CreatedAt: now}}},
		{Name: "url too long", When: register(func(c *Register) { c.URL = "https://example.com/" + strings.Repeat("a", MaxURLLength) }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "loopback literal", When: register(func(c *Register) { c.URL = "http://127.0.0.1:5432/" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "loopback IPv6 literal", When: register(func(c *Register) { c.URL = "http://[::1]/" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "private literal", When: register(func(c *Register) { c.URL = "http://10.0.0.5/" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "cloud metadata", When: register(func(c *Register) { c.URL = "http://169.254.169.254/latest/meta-data/" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "IPv4-mapped loopback", When: register(func(c *Register) { c.URL = "http://[::ffff:127.0.0.1]/" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "unspecified with trailing dot", When: register(func(c *Register) { c.URL = "http://0.0.0.0./" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "link-local IPv6 with zone", When: register(func(c *Register) { c.URL = "http://[fe80::1%25eth0]/" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "legacy IPv4 form", When: register(func(c *Register) { c.URL = "http://2130706433/" }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "legacy IPv4 form even when private targets are allowed",
			When: register(func(c *Register) { c.URL, c.AllowPrivateTargets = "http://127.1/", true }), Err: domain.ErrInvalid, Field: "url"},
		{Name: "public literal",
			When: register(func(c *Register) { c.URL = "https://93.184.215.14/in" }),
			Then: []domain.Event{WebhookRegistered{WebhookID: hookID, AccountID: accountID, URL: "https://93.184.215.14/in",
				EventTypes: registered.EventTypes, CreatedAt: now}}},
		{Name: "a name is not resolved",
			When: register(func(c *Register) { c.URL = "http://localhost:8080/in" }),
			Then: []domain.Event{WebhookRegistered{WebhookID: hookID, AccountID: accountID, URL: "http://localhost:8080/in",
				EventTypes: registered.EventTypes, CreatedAt: now}}},
		{Name: "no event types", When: register(func(c *Register) { c.EventTypes = nil }), Err: domain.ErrInvalid, Field: "eventTypes"},
		{Name: "unknown event type", When: register(func(c *Register) { c.EventTypes = []string{"LockInstalled", "LockExploded"} }), Err: domain.ErrInvalid, Field: "eventTypes[1]"},
		{Name: "blank event type", When: register(func(c *Register) { c.EventTypes = []string{""} }), Err: domain.ErrInvalid, Field: "eventTypes[0]"},
		{Name: "event type twice", When: register(func(c *Register) { c.EventTypes = []string{"LockInstalled", "LockInstalled"} }), Err: domain.ErrInvalid, Field: "eventTypes[1]"},
		{Name: "too many event types", When: register(func(c *Register) { c.EventTypes = make([]string, MaxEventTypes+1) }), Err: domain.ErrInvalid, Field: "eventTypes"},
		{Name: "nothing is known", When: register(func(c *Register) { c.KnownEventTypes = nil }), Err: domain.ErrInvalid, Field: "eventTypes[0]"},
		{Name: "delete", Given: []domain.Event{registered}, When: Delete{}, Then: []domain.Event{deleted}},
		{Name: "delete missing", When: Delete{}, Err: ErrNotFound},
		{Name: "delete twice", Given: []domain.Event{registered, deleted}, When: Delete{}, Err: domain.ErrNotFound},
	})
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := Evolve(State{}, registered)
	require.True(t, s.Exists())
	require.Equal(t, hookID, s.ID())
	require.Equal(t, accountID, s.AccountID())
	require.Equal(t, registered.URL, s.URL())
	require.Equal(t, registered.EventTypes, s.EventTypes())
	require.Equal(t, now, s.CreatedAt())

	// The state keeps its own copy: changing what it hands out changes nothing.
	s.EventTypes()[0] = "changed"
	require.Equal(t, "LockInstalled", s.EventTypes()[0])

	s = Evolve(s, deleted)
	require.False(t, s.Exists())
	require.True(t, s.Deleted())
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(registered)
	require.NoError(t, err)
	require.JSONEq(t, `{"webhookId":"`+hookID.String()+`","accountId":"`+accountID.String()+`",`+
		`"url":"https://hooks.example.com/accessd","eventTypes":["LockInstalled","PropertyCreated"],"createdAt":"2024-03-01T12:00:00Z"}`, string(b))
	var back WebhookRegistered
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, registered, back)
	require.NotContains(t, strings.ToLower(string(b)), "secret", "the secret never enters the log")
	for _, ev := range Events() {
		require.NotEmpty(t, ev.EventType(), "%T", ev)
	}
}

// A byte no URI holds is named as the character it starts, with its
// percent-encoding (a byte alone would show half of an é); in the host, a
// non-ASCII name is spelt in ASCII, not percent-encoded.
func TestValidateURLNamesTheCharacterToEncode(t *testing.T) {
	for raw, want := range map[string]string{
		"https://example.com/café":       `url: must be as sent on the wire: "é" (%C3%A9) at byte 23 must be percent-encoded`,
		"https://example.com/a b":        `url: must be as sent on the wire: " " (%20) at byte 21 must be percent-encoded`,
		"https://example.com/a{b}":       `url: must be as sent on the wire: "{" (%7B) at byte 21 must be percent-encoded`,
		"https://example.com/a\x01":      `url: must be as sent on the wire: "\x01" (%01) at byte 21 must be percent-encoded`,
		"https://example.com/a\xff":      `url: must be as sent on the wire: %FF at byte 21 must be percent-encoded`,
		"https://café.example/in":        `url: must be as sent on the wire: "é" (%C3%A9) at byte 11 is in the host: give the host's ASCII (punycode, xn--) form instead`,
		"https://u@bücher.example:8443/": `url: must be as sent on the wire: "ü" (%C3%BC) at byte 11 is in the host: give the host's ASCII (punycode, xn--) form instead`,
		"https://example.com/?q=bücher":  `url: must be as sent on the wire: "ü" (%C3%BC) at byte 24 must be percent-encoded`,
	} {
		err := ValidateURL("url", raw)
		if assert.ErrorIs(t, err, domain.ErrInvalid, raw) {
			assert.Equal(t, want, err.Error(), raw)
		}
	}
}
