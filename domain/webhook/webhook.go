// Package webhook is the webhook aggregate: an account's request that the
// events of some types be POSTed to a URL of its own.
package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Category names the aggregate's streams: `webhook-<id>`.
const Category = "webhook"

// Limits on what a webhook may name.
const (
	MaxURLLength  = 2048
	MaxEventTypes = 100
)

// Errors of the aggregate's decisions.
var (
	ErrNotFound = domain.NewError(domain.ErrNotFound, "webhook not found")
	ErrExists   = domain.NewError(domain.ErrConflict, "webhook already exists")
)

// State is a webhook as its events left it.
type State struct {
	id         uuid.UUID
	accountID  uuid.UUID
	url        string
	eventTypes []string
	createdAt  time.Time
	created    bool
	deleted    bool
}

// Exists reports whether the webhook was registered and not deleted.
func (s State) Exists() bool { return s.created && !s.deleted }

// Deleted reports whether the webhook was deleted.
func (s State) Deleted() bool { return s.deleted }

// ID is the webhook's id.
func (s State) ID() uuid.UUID { return s.id }

// AccountID is the account the webhook belongs to.
func (s State) AccountID() uuid.UUID { return s.accountID }

// URL is where deliveries are POSTed.
func (s State) URL() string { return s.url }

// EventTypes are the event type names delivered (a copy).
func (s State) EventTypes() []string { return slices.Clone(s.eventTypes) }

// CreatedAt is when the webhook was registered.
func (s State) CreatedAt() time.Time { return s.createdAt }

// Register records a new webhook.
type Register struct {
	WebhookID  uuid.UUID
	AccountID  uuid.UUID
	URL        string
	EventTypes []string
	// KnownEventTypes are the event type names the server registers (as
	// GET /events shows them); EventTypes must be among them.
	KnownEventTypes []string
	// AllowPrivateTargets accepts a URL whose host is a loopback, private,
	// link-local or other internal IP address (see CheckAddress): the
	// server's setting, off unless its receivers are on a private network.
	AllowPrivateTargets bool
}

// Decide checks the webhook and records WebhookRegistered.
func (c Register) Decide(s State, now time.Time) ([]domain.Event, error) {
	if s.created {
		return nil, ErrExists
	}
	if err := domain.RequireID("webhookId", c.WebhookID); err != nil {
		return nil, err
	}
	if err := domain.RequireID("accountId", c.AccountID); err != nil {
		return nil, err
	}
	if err := ValidateURL("url", c.URL); err != nil {
		return nil, err
	}
	if !c.AllowPrivateTargets {
		if err := validateTarget("url", c.URL); err != nil {
			return nil, err
		}
	}
	if err := validateEventTypes("eventTypes", c.EventTypes, c.KnownEventTypes); err != nil {
		return nil, err
	}
	return []domain.Event{WebhookRegistered{
		WebhookID:  c.WebhookID,
		AccountID:  c.AccountID,
		URL:        c.URL,
		EventTypes: slices.Clone(c.EventTypes),
		CreatedAt:  now.UTC(),
	}}, nil
}

// ValidateURL accepts an absolute http or https URL with a host. Credentials
// in the URL are refused: the URL is stored in the event log.
func ValidateURL(field, raw string) error {
	if raw == "" {
		return domain.InvalidField(field, "is required")
	}
	if len(raw) > MaxURLLength {
		return domain.InvalidField(field, fmt.Sprintf("must be at most %d characters", MaxURLLength))
	}
	if i := firstNonURIByte(raw); i >= 0 {
		return domain.InvalidField(field, nonURIByteMessage(raw, i))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return domain.InvalidField(field, "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return domain.InvalidField(field, "must be an absolute http or https URL")
	case u.Host == "" || u.Hostname() == "":
		return domain.InvalidField(field, "must name a host")
	case !validPort(u.Port()):
		return domain.InvalidField(field, "port must be a number from 1 to 65535")
	case u.User != nil:
		return domain.InvalidField(field, "must not carry credentials")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return domain.InvalidField(field, "must not carry a fragment")
	case isLegacyIPv4(u.Hostname()):
		return domain.InvalidField(field, "host must be a name or an IP address in standard form")
	}
	return nil
}

// firstNonURIByte is the index of the first byte of raw that RFC 3986
// allows nowhere in a URI (a space, a quote, a non-ASCII byte...), -1 when
// there is none. url.Parse takes a raw space in the path and sends it
// encoded: the URL stored would not be the one delivered to.
func firstNonURIByte(raw string) int {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0 {
			continue
		}
		return i
	}
	return -1
}

// nonURIByteMessage says what to do about the byte at i of raw that no
// URI holds, showing the whole character it starts (a byte printed alone
// would be half of an é) with its percent-encoding. A non-ASCII character
// in the host is not percent-encoded but spelt in ASCII (punycode).
func nonURIByteMessage(raw string, i int) string {
	r, size := utf8.DecodeRuneInString(raw[i:])
	char := raw[i : i+size]
	var encoded strings.Builder
	for _, b := range []byte(char) {
		fmt.Fprintf(&encoded, "%%%02X", b)
	}
	shown := fmt.Sprintf("%q (%s)", char, encoded.String())
	if r == utf8.RuneError && size == 1 {
		shown = encoded.String() // not UTF-8: the byte alone
	}
	if start, end := hostSpan(raw); r >= utf8.RuneSelf && start <= i && i < end {
		return fmt.Sprintf("must be as sent on the wire: %s at byte %d is in the host: give the host's ASCII (punycode, xn--) form instead", shown, i)
	}
	return fmt.Sprintf("must be as sent on the wire: %s at byte %d must be percent-encoded", shown, i)
}

// hostSpan is where the host of raw lies (its authority after any
// userinfo, port included), as byte offsets; 0, 0 when raw has no
// authority.
func hostSpan(raw string) (start, end int) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return 0, 0
	}
	start = i + len("://")
	end = len(raw)
	if j := strings.IndexAny(raw[start:], "/?#"); j >= 0 {
		end = start + j
	}
	if at := strings.LastIndexByte(raw[start:end], '@'); at >= 0 {
		start += at + 1
	}
	return start, end
}

// validPort reports whether port (as url.URL.Port gives it: digits or
// empty) can be dialled; empty is the scheme's default. url.Parse accepts
// any digits, and a webhook on port 0 or 99999 could never be delivered to.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// validateTarget refuses a URL (already valid) whose host is an IP literal
// the server must not deliver to. A name is accepted as it is: delivery
// checks the address it resolves to then.
func validateTarget(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return domain.InvalidField(field, "is not a URL")
	}
	var refused *AddressError
	if errors.As(checkHost(u.Hostname()), &refused) {
		return domain.InvalidField(field, fmt.Sprintf("must not target an internal address: %s is %s", refused.Addr, refused.Reason))
	}
	return nil
}

// validateEventTypes wants a non-empty list of known, distinct names; an
// error names the exact entry: `eventTypes[2]`.
func validateEventTypes(field string, types, known []string) error {
	if len(types) == 0 {
		return domain.InvalidField(field, "at least one event type is required")
	}
	if len(types) > MaxEventTypes {
		return domain.InvalidField(field, fmt.Sprintf("at most %d entries", MaxEventTypes))
	}
	for i, t := range types {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case t == "":
			return domain.InvalidField(at, "is required")
		case !slices.Contains(known, t):
			return domain.InvalidField(at, fmt.Sprintf("unknown event type %q", t))
		case slices.Contains(types[:i], t):
			return domain.InvalidField(at, "is listed twice")
		}
	}
	return nil
}

// Delete removes the webhook.
type Delete struct{}

// Decide records WebhookDeleted.
func (Delete) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	return []domain.Event{WebhookDeleted{WebhookID: s.id, AccountID: s.accountID}}, nil
}

// Evolve applies one event to the state.
func Evolve(s State, e domain.Event) State {
	switch e := e.(type) {
	case WebhookRegistered:
		s = State{
			id:         e.WebhookID,
			accountID:  e.AccountID,
			url:        e.URL,
			eventTypes: slices.Clone(e.EventTypes),
			createdAt:  e.CreatedAt,
			created:    true,
		}
	case WebhookDeleted:
		s.deleted = true
	}
	return s
}
