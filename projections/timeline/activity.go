// Package timeline holds the per-property timelines. The activity feed
// (this file) is one readable entry per event of every registered type,
// newest first: who did what to which entity, in which property.
package timeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// Table is the logical name of the activity feed.
const Table = "timeline_activity"

// subjectsTable remembers the property of each stream, for the events
// that do not name theirs (a lock's sync names no property; its
// installation did).
const subjectsTable = "timeline_stream_property"

// Activity is the activity feed over every type the registry knows.
type Activity struct {
	types []string
}

// NewActivity returns the feed over the registry's event types.
func NewActivity(registry *eventstore.Registry) *Activity {
	return &Activity{types: registry.RecordTypes()}
}

// Name implements projections.Projection.
func (p *Activity) Name() string { return "timeline-activity" }

// Lane implements projections.Laned: commands do not wait for this read
// model before answering; the caller's next request does.
func (*Activity) Lane() string { return projections.LaneDeferred }

// Version implements projections.Projection. Version 2: a guest's
// sealed details (GuestRegistered.personal) leave the entries' details.
func (p *Activity) Version() int { return 2 }

// EventTypes implements projections.Projection.
func (p *Activity) EventTypes() []string { return p.types }

// Tables implements projections.Projection.
func (p *Activity) Tables() []string { return []string{Table, subjectsTable} }

// Setup implements projections.Projection.
func (p *Activity) Setup(ctx context.Context, tx projections.Tx) error {
	t, s := tx.Table(Table), tx.Table(subjectsTable)
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			position BIGINT PRIMARY KEY,
			account_id TEXT NOT NULL,
			property_id TEXT NOT NULL DEFAULT '',
			at TEXT NOT NULL,
			actor TEXT NOT NULL,
			action TEXT NOT NULL,
			subject TEXT NOT NULL,
			details TEXT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS ` + s + ` (stream TEXT PRIMARY KEY, property_id TEXT NOT NULL)`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("timeline activity setup: %w", err)
		}
	}
	return nil
}

// Indexes implements projections.Indexed: the feed of an account, and of
// one of its properties, newest first.
func (p *Activity) Indexes(tx projections.Tx) []string {
	t := tx.Table(Table)
	return []string{
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_account ON ` + t + ` (account_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_by_property ON ` + t + ` (account_id, property_id, position)`,
	}
}

// Entry is one line of the feed, as stored and answered.
type Entry struct {
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Subject    string          `json:"subject"`
	PropertyID string          `json:"propertyId,omitempty"`
	Details    json.RawMessage `json:"details"`
}

const zeroID = "00000000-0000-0000-0000-000000000000"

// Apply implements projections.Projection. Replaying an event already in
// the feed changes nothing.
func (p *Activity) Apply(ctx context.Context, tx projections.Tx, env eventstore.Envelope) error {
	data := env.Fields()
	if data == nil {
		return nil // not an object: nothing readable to show
	}
	account := str(data, "accountId")
	if account == "" {
		account = env.Metadata.AccountID
	}
	property, err := subjectProperty(ctx, tx, env.Stream, str(data, "propertyId"))
	if err != nil {
		return fmt.Errorf("timeline activity: %w", err)
	}
	e := Describe(env, data)
	details, err := json.Marshal(e.Details)
	if err != nil {
		return err
	}
	err = tx.Write(ctx, `INSERT INTO `+tx.Table(Table)+` (position, account_id, property_id, at, actor, action, subject, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING`,
		int64(env.Position), account, property, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Subject, string(details))
	return err
}

// subjectProperty records the property an event of stream names, or, when
// it names none, returns the one an earlier event of the stream named.
// What the batch's transaction already wrote or read is kept in its memo:
// most events of a batch are a lock's openings, all naming its property.
func subjectProperty(ctx context.Context, tx projections.Tx, stream, property string) (string, error) {
	memo := tx.Memo("timeline-subjects")
	if known, ok := memo[stream].(string); ok && (property == "" || property == known) {
		return known, nil
	}
	if property != "" {
		err := tx.Write(ctx, `INSERT INTO `+tx.Table(subjectsTable)+` (stream, property_id) VALUES (?, ?)
			ON CONFLICT (stream) DO UPDATE SET property_id = excluded.property_id
			WHERE `+tx.Table(subjectsTable)+`.property_id <> excluded.property_id`, stream, property)
		if err != nil {
			return "", err
		}
	} else {
		err := tx.QueryRow(ctx, `SELECT property_id FROM `+tx.Table(subjectsTable)+` WHERE stream = ?`, stream).Scan(&property)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	if memo != nil {
		memo[stream] = property
	}
	return property, nil
}

// Description is the readable part of an entry.
type Description struct {
	At      time.Time
	Actor   string
	Action  string
	Subject string
	Details map[string]json.RawMessage
}

// Describe turns an event into a readable entry: the action from its type
// (`LockInstalled` → `lock.installed`), the subject the entity it happened
// to (the noun's id in the data, else its stream's id), the actor from its metadata (the API key), or
// the lock or device that reported it; the details are its data without
// ids already shown, hashes, sealed data and signatures.
func Describe(env eventstore.Envelope, data map[string]json.RawMessage) Description {
	category, streamID, _ := strings.Cut(env.Stream, "-")
	d := Description{At: env.Metadata.OccurredAt, Actor: env.Metadata.APIKeyID, Details: map[string]json.RawMessage{}}
	noun, verb := splitType(env.Type, category)
	d.Action = noun + "." + verb
	d.Subject = noun + " " + streamID
	if id := str(data, idField(noun)); id != "" {
		d.Subject = noun + " " + id // an access code in its booking's stream
	}
	switch env.Type {
	case "LockAccessLogged":
		d.Action, d.Subject, d.Actor = "lock.access-granted", "lock "+str(data, "lockId"), "lock "+str(data, "lockId")
		if str(data, "result") == string(lock.Denied) {
			d.Action = "lock.access-denied"
		}
		if at, err := time.Parse(time.RFC3339Nano, str(data, "accessDate")); err == nil {
			d.At = at
		}
	case "LockSynced":
		d.Actor = "lock " + str(data, "lockId")
	case "UserDeviceSynced":
		d.Actor = "device " + str(data, "userDeviceId")
	}
	switch {
	case str(data, "invitationId") != "" && strings.HasPrefix(env.Type, "PropertyInvitation"):
		d.Subject = "property-invitation " + str(data, "invitationId")
	case strings.HasPrefix(env.Type, "PropertyMember"):
		d.Subject = "property-member " + str(data, "userId")
	}
	if d.Actor == "" {
		d.Actor = "system"
	}
	for k, v := range data {
		if hidden(k) || empty(v) {
			continue
		}
		d.Details[k] = v
	}
	return d
}

// hidden names the fields an entry never shows: the account (implied),
// secrets' hashes and salts, sealed personal data, signatures and keys.
func hidden(field string) bool {
	f := strings.ToLower(field)
	if f == "accountid" {
		return true
	}
	// "personal": a guest's sealed details (GuestRegistered.personal).
	for _, s := range []string{"hash", "salt", "sealed", "personal", "signature", "secret", "token", "publickey"} {
		if strings.Contains(f, s) {
			return true
		}
	}
	return false
}

// irregular are the nouns and verbs of event types whose noun is not
// their stream's category: membership of a group, an area's access list,
// firmware versions.
var irregular = map[string][2]string{
	"UserAddedToGroup":           {"user-group", "member-added"},
	"UserRemovedFromGroup":       {"user-group", "member-removed"},
	"UserGroupMembershipChanged": {"user-group", "membership-changed"},
	"AreaAccessListChanged":      {"area", "access-list-changed"},
	"FirmwareVersionUploaded":    {"firmware-version", "uploaded"},
	"FirmwareVersionAssigned":    {"firmware-version", "assigned"},
	"FirmwareVersionUnassigned":  {"firmware-version", "unassigned"},
}

// splitType splits an event type into its noun and its verb, kebab-case:
// the noun is the longest run of leading words that ends with the
// stream's category (`UserGroupCreated` in `group-…` → user-group,
// created; `BookingCheckedIn` in `booking-…` → booking, checked-in), else
// every word but the last.
func splitType(eventType, category string) (string, string) {
	if nv, ok := irregular[eventType]; ok {
		return nv[0], nv[1]
	}
	words := camelWords(eventType)
	if len(words) < 2 {
		return category, kebab(words)
	}
	cut := len(words) - 1
	for i := len(words) - 1; i >= 1; i-- {
		prefix := strings.ToLower(strings.Join(words[:i], ""))
		if category != "" && strings.HasSuffix(prefix, category) {
			cut = i
			break
		}
	}
	return kebab(words[:cut]), kebab(words[cut:])
}

// idField is the data field of a noun's id: user-group → userGroupId.
func idField(noun string) string {
	words := strings.Split(noun, "-")
	for i := 1; i < len(words); i++ {
		if words[i] != "" {
			words[i] = strings.ToUpper(words[i][:1]) + words[i][1:]
		}
	}
	return strings.Join(words, "") + "Id"
}

func camelWords(s string) []string {
	var words []string
	start := 0
	for i, r := range s {
		if i > 0 && unicode.IsUpper(r) {
			words = append(words, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		words = append(words, s[start:])
	}
	return words
}

func kebab(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = strings.ToLower(w)
	}
	return strings.Join(out, "-")
}

func str(data map[string]json.RawMessage, key string) string {
	s := eventstore.FieldString(data, key)
	if s == zeroID {
		return ""
	}
	return s
}

// empty reports a value an entry leaves out: null, "" and the nil id.
func empty(v json.RawMessage) bool {
	switch string(v) {
	case "null", `""`, `"` + zeroID + `"`:
		return true
	}
	return false
}
