package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections/bus"
)

// The privacy audit: a user, the guests of their booking and a guest
// given by name carry unique markers in every personal field; the user is
// deleted (which erases the guest of their stay and withdraws the
// invitation they never accepted) and the guest given by name erased;
// then no byte of any store, answer, log,
// webhook payload or bus message holds a marker, and no file holds the
// erased keys. Before the deletion the markers are nowhere but in the
// answers of the callers allowed to read them: personal data is never
// stored in the clear.

// markers are unique tokens planted in personal fields. Each is found
// case-insensitively.
type markers map[string]string // token → the field it was planted in

// token is a fresh marker: a prefix and 16 random hex digits.
func (m markers) token(field, prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	tok := prefix + hex.EncodeToString(b)
	m[strings.ToLower(tok)] = field
	return tok
}

// digits is a fresh marker of n random digits (a phone number's part).
func (m markers) digits(field string, n int) string {
	var sb strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		sb.WriteByte(byte('0' + d.Int64()))
	}
	m[sb.String()] = field
	return sb.String()
}

// in lists the markers found in b (as "field (token)"), sorted.
func (m markers) in(b []byte) []string {
	lower := bytes.ToLower(b)
	var found []string
	for tok, field := range m {
		if bytes.Contains(lower, []byte(tok)) {
			found = append(found, field+" ("+tok+")")
		}
	}
	slices.Sort(found)
	return found
}

// user is a user's private part with fresh markers.
func (m markers) user(set string) map[string]any {
	return map[string]any{
		"firstName":   m.token(set+" private.firstName", "Fn"),
		"lastName":    m.token(set+" private.lastName", "Ln"),
		"email":       m.token(set+" private.email", "em") + "@example.org",
		"phoneNumber": "+34 " + m.digits(set+" private.phoneNumber", 14),
	}
}

// guest is a registered guest's details with fresh markers.
func (m markers) guest(set string) map[string]any {
	return map[string]any{
		"displayName":    m.token(set+" displayName", "Gn"),
		"email":          m.token(set+" email", "ge") + "@example.org",
		"phoneNumber":    "+1 " + m.digits(set+" phoneNumber", 14),
		"documentType":   m.token(set+" documentType", "dt"),
		"documentNumber": m.token(set+" documentNumber", "dn"),
		"nationality":    "PT",
		"birthDate":      "1987-06-05",
	}
}

// privacyServer is accessd run in the test's process, its log kept at
// debug level.
type privacyServer struct {
	base, key string
	dataDir   string
	logs      *syncBuffer
	stop      func()
}

func startPrivacyServer(t *testing.T, key, dataDir string, args ...string) *privacyServer {
	t.Helper()
	cfg, err := parseConfig(append([]string{"--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "debug",
		"--webhooks-allow-private"}, args...), func(k string) string {
		if k == "ACCESSD_BOOTSTRAP_KEY" {
			return key
		}
		return ""
	})
	require.NoError(t, err)
	s := &privacyServer{key: key, dataDir: dataDir, logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// What logs to the default logger is in the audit too.
	old := slog.Default()
	slog.SetDefault(log)
	t.Cleanup(func() { slog.SetDefault(old) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, log) }()
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(60 * time.Second):
			t.Fatal("server did not stop")
		}
	}
	t.Cleanup(s.stop)
	listening := regexp.MustCompile(`"msg":"accessd listening","addr":"([^"]+)"`)
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("server stopped at start: %v\n%s", err, s.logs)
		default:
		}
		m := listening.FindStringSubmatch(s.logs.String())
		if m == nil {
			return false
		}
		s.base = "http://" + m[1]
		resp, err := http.Get(s.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 10*time.Millisecond, "server did not become ready")
	return s
}

// do sends a request with the key and returns the status and raw body.
func (s *privacyServer) do(t *testing.T, key, method, path string, body any) (int, []byte) {
	t.Helper()
	var header http.Header
	if method != http.MethodGet {
		// Keyed requests put a fingerprint of the body in the events.
		header = http.Header{"Idempotency-Key": {method + " " + path + " " + fmt.Sprint(time.Now().UnixNano())}}
	}
	return request(t, method, s.base+path, key, body, header)
}

// ok sends a request that must answer want, and returns its data.
func (s *privacyServer) ok(t *testing.T, want int, key, method, path string, body any) map[string]any {
	t.Helper()
	status, raw := s.do(t, key, method, path, body)
	require.Equal(t, want, status, "%s %s: %s", method, path, raw)
	var env struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(raw, &env), "%s %s: %s", method, path, raw)
	return env.Data
}

// hookReceiver records every webhook request; it answers 500 until open.
type hookReceiver struct {
	srv    *httptest.Server
	open   atomic.Bool
	mu     sync.Mutex
	bodies [][]byte
	// afterOpen counts the requests answered 2xx (sent once open).
	afterOpen int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var head bytes.Buffer
		_ = r.Header.Write(&head)
		h.mu.Lock()
		h.bodies = append(h.bodies, append(head.Bytes(), body...))
		open := h.open.Load()
		if open {
			h.afterOpen++
		}
		h.mu.Unlock()
		if !open {
			http.Error(w, "not yet", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) all() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Join(h.bodies, []byte("\n"))
}

// natsTap keeps every message published under the server's subjects.
type natsTap struct {
	mu   sync.Mutex
	msgs [][]byte
}

func tapNATS(t *testing.T, u string) *natsTap {
	nc, err := nats.Connect(u)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	tap := &natsTap{}
	for _, subject := range []string{bus.TopicPrefix + ">", bus.InternalTopicPrefix + ">"} {
		_, err := nc.Subscribe(subject, func(m *nats.Msg) {
			var head bytes.Buffer
			_ = http.Header(m.Header).Write(&head)
			tap.mu.Lock()
			tap.msgs = append(tap.msgs, append(append([]byte(m.Subject+"\n"), head.Bytes()...), m.Data...))
			tap.mu.Unlock()
		})
		require.NoError(t, err)
	}
	require.NoError(t, nc.Flush())
	return tap
}

func (n *natsTap) all() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return bytes.Join(n.msgs, []byte("\n"))
}

// privacyFixture is what the audit created.
type privacyFixture struct {
	property, area, area2, lock, user, other string
	device, booking, booking2, guest, guest2 string
	code, webhook, invitation, group         string
	// control is clear text of the user's that is no personal data.
	control string
	// property2 holds pending, an invitation to the user's e-mail.
	property2, pending string
	// keys by name: owner, support, installer, me (the user), otherMe.
	keys map[string]string
}

// fillPersonal creates the user and everything personal around them.
func fillPersonal(t *testing.T, s *privacyServer, m markers, hookURL string) *privacyFixture {
	t.Helper()
	f := &privacyFixture{keys: map[string]string{"owner": s.key}}
	owner := s.key
	f.webhook = s.ok(t, 201, owner, "POST", "/accounts/webhooks", map[string]any{"url": hookURL, "eventTypes": []string{
		"UserCreated", "UserUpdated", "UserDeleted", "BookingCreated", "BookingCheckedIn", "BookingCheckedOut",
		"GuestRegistered", "GuestErased", "AccessCodeCreated", "PropertyInvitationCreated", "PropertyInvitationAccepted",
		"UserDeviceProvisioned"}})["webhookId"].(string)
	f.property = s.ok(t, 201, owner, "POST", "/properties", map[string]any{"displayName": "Hotel Privacy"})["propertyId"].(string)
	area := s.ok(t, 201, owner, "POST", "/properties/"+f.property+"/areas", map[string]any{"displayName": "Room 1", "areaType": "resident"})
	f.area, f.group = area["areaId"].(string), area["areaUserGroupId"].(string)
	f.area2 = s.ok(t, 201, owner, "POST", "/properties/"+f.property+"/areas", map[string]any{"displayName": "Room 2", "areaType": "resident"})["areaId"].(string)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	f.lock = s.ok(t, 201, owner, "POST", "/locks", map[string]any{"displayName": "Room 1 door",
		"publicKey": base64.StdEncoding.EncodeToString(pub), "encryptionPublicKey": base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())})["lockId"].(string)
	s.ok(t, 200, owner, "PUT", "/properties/"+f.property+"/areas/"+f.area+"/install/"+f.lock, nil)

	// The user, created and then updated: two sets of markers, both in the log.
	// The display name is no personal data (README, Users): it is the
	// control, found wherever the log's clear text goes.
	f.control = "Ctl" + hex.EncodeToString(mustRandom(t, 8))
	f.user = s.ok(t, 201, owner, "POST", "/users", map[string]any{"displayName": f.control, "private": m.user("created")})["userId"].(string)
	s.ok(t, 200, owner, "PUT", "/users/"+f.user, map[string]any{"displayName": f.control, "private": m.user("updated")})
	f.other = s.ok(t, 201, owner, "POST", "/users", map[string]any{"displayName": "Other user"})["userId"].(string)
	key := func(name string, perm map[string]any) {
		f.keys[name] = s.ok(t, 201, owner, "POST", "/accounts/keys", map[string]any{"displayName": name,
			"apiPermissions": []map[string]any{perm}})["apiKey"].(string)
	}
	key("support", map[string]any{"permission": "support"})
	key("installer", map[string]any{"permission": "install-lock"})
	key("me", map[string]any{"permission": "me", "userId": f.user})
	key("otherMe", map[string]any{"permission": "me", "userId": f.other})

	devPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	devX, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	f.device = s.ok(t, 201, f.keys["me"], "POST", "/users/"+f.user+"/devices", map[string]any{"deviceType": "iOS", "makeModel": "iPhone",
		"displayName": "Phone", "publicKey": base64.StdEncoding.EncodeToString(devPub),
		"encryptionPublicKey": base64.StdEncoding.EncodeToString(devX.PublicKey().Bytes())})["userDeviceId"].(string)

	// Invited by their e-mail, which they accept.
	var private map[string]any
	require.NoError(t, json.Unmarshal(mustJSON(t, s.ok(t, 200, owner, "GET", "/users/"+f.user, nil)["private"]), &private))
	inv := s.ok(t, 201, owner, "POST", "/properties/"+f.property+"/invitations", map[string]any{"email": private["email"], "role": "user"})
	f.invitation = inv["invitationId"].(string)
	s.ok(t, 200, f.keys["me"], "POST", "/invitations/"+f.invitation+"/accept", map[string]any{"token": inv["token"]})
	// And to another property, an invitation they never accept.
	f.property2 = s.ok(t, 201, owner, "POST", "/properties", map[string]any{"displayName": "Hotel Elsewhere"})["propertyId"].(string)
	f.pending = s.ok(t, 201, owner, "POST", "/properties/"+f.property2+"/invitations", map[string]any{"email": private["email"], "role": "user"})["invitationId"].(string)

	// Their stay: checked in, a registered guest (them, say), a door code.
	now := time.Now().UTC().Truncate(time.Second)
	f.booking = s.ok(t, 201, owner, "POST", "/properties/"+f.property+"/bookings", map[string]any{"areaId": f.area,
		"guest": map[string]any{"userId": f.user}, "startDateTime": now.Add(-time.Minute).Format(time.RFC3339),
		"endDateTime": now.Add(48 * time.Hour).Format(time.RFC3339)})["bookingId"].(string)
	s.ok(t, 200, owner, "POST", "/bookings/"+f.booking+"/check-in", map[string]any{"method": "manual"})
	reg := s.ok(t, 201, owner, "POST", "/bookings/"+f.booking+"/guests", m.guest("registered guest"))
	f.guest = reg["guest"].(map[string]any)["guestId"].(string)
	f.code = s.ok(t, 201, owner, "POST", "/bookings/"+f.booking+"/access-codes", map[string]any{"code": m.digits("access code", 10)})["accessCodeId"].(string)

	// A guest given by name, with a booking of their own.
	byName := m.guest("guest by name")
	f.booking2 = s.ok(t, 201, owner, "POST", "/properties/"+f.property+"/bookings", map[string]any{"areaId": f.area2,
		"guest":         map[string]any{"displayName": byName["displayName"], "email": byName["email"], "phoneNumber": byName["phoneNumber"]},
		"startDateTime": now.Add(30 * 24 * time.Hour).Format(time.RFC3339), "endDateTime": now.Add(32 * 24 * time.Hour).Format(time.RFC3339)})["bookingId"].(string)
	f.guest2 = s.ok(t, 200, owner, "GET", "/bookings/"+f.booking2, nil)["guest"].(map[string]any)["guestId"].(string)
	return f
}

func mustRandom(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// reads are every GET route of the OpenAPI document, their parameters
// filled with the fixture's ids, and the reads with query strings that
// list what the routes without them do not.
func (f *privacyFixture) reads(t *testing.T, s *privacyServer) []string {
	t.Helper()
	status, raw := s.do(t, s.key, "GET", "/openapi.json", nil)
	require.Equal(t, 200, status)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	ids := map[string]string{
		"propertyId": f.property, "areaId": f.area, "lockId": f.lock, "userId": f.user, "userDeviceId": f.device,
		"bookingId": f.booking, "webhookId": f.webhook, "userGroupId": f.group, "accessCodeId": f.code,
		"invitationId": f.invitation, "guestId": f.guest, "version": "1.0.0",
	}
	param := regexp.MustCompile(`\{([A-Za-z]+)\}`)
	var out []string
	for path, ops := range doc.Paths {
		if _, ok := ops["get"]; !ok {
			continue
		}
		filled := param.ReplaceAllStringFunc(path, func(p string) string {
			id, ok := ids[strings.Trim(p, "{}")]
			require.True(t, ok, "GET %s: no id for %s", path, p)
			return id
		})
		out = append(out, filled)
		if strings.Contains(path, "{bookingId}") {
			out = append(out, strings.ReplaceAll(filled, f.booking, f.booking2))
		}
	}
	now := time.Now().UTC()
	out = append(out, []string{
		"/events?eventSource=all&pageSize=100",
		"/events?eventSource=user&userId=" + f.user,
		"/audit/users/" + f.user + "/history?format=json",
		"/audit/users/" + f.user + "/history?format=csv",
		"/audit/properties/" + f.property + "/history?format=json",
		"/audit/properties/" + f.property + "/history?format=csv",
		"/audit/locks/" + f.lock + "/history?format=csv",
		"/audit/locks/" + f.lock + "/access?at=" + now.Format(time.RFC3339),
		"/audit/decisions?lockId=" + f.lock + "&userDeviceId=" + f.device + "&at=" + now.Format(time.RFC3339),
		"/audit/decisions?lockId=" + f.lock + "&accessCodeId=" + f.code + "&at=" + now.Format(time.RFC3339),
		"/timeline/activity?pageSize=100",
		"/timeline/activity?propertyId=" + f.property + "&pageSize=100",
		"/properties/" + f.property + "/calendar?from=" + now.Add(-24*time.Hour).Format(time.RFC3339) + "&to=" + now.Add(60*24*time.Hour).Format(time.RFC3339),
		"/properties/" + f.property + "/timeline/upcoming?days=60",
		"/calendar/upcoming?days=60",
		"/bookings?pageSize=100",
		"/properties/" + f.property + "/bookings?pageSize=100",
		"/properties/" + f.property + "/members",
		"/properties/" + f.property + "/invitations",
		"/properties/" + f.property2 + "/invitations",
		"/properties/" + f.property + "/groups/" + f.group + "/users",
		"/bookings/" + f.booking + "/check-in",
		"/bookings/" + f.booking2 + "/check-in",
		"/accounts/webhooks/" + f.webhook + "/deliveries",
		"/users/" + f.other,
	}...)
	slices.Sort(out)
	return out
}

// readAll answers every read with every key: the bodies, by key and path.
func (f *privacyFixture) readAll(t *testing.T, s *privacyServer) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, path := range f.reads(t, s) {
		for name, key := range f.keys {
			_, body := s.do(t, key, "GET", path, nil)
			out[name+" GET "+path] = body
		}
	}
	return out
}

// requireNoMarkers fails naming every place that holds a marker.
func requireNoMarkers(t *testing.T, m markers, what string, places map[string][]byte) {
	t.Helper()
	var found []string
	for place, b := range places {
		for _, f := range m.in(b) {
			found = append(found, place+": "+f)
		}
	}
	slices.Sort(found)
	require.Empty(t, found, "%s: personal data in the clear", what)
}

// filesOf reads every file under dir.
func filesOf(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = b
		return nil
	}))
	return out
}

// sqliteKeys reads the subjects' keys from the data directory's key file.
func sqliteKeys(t *testing.T, dataDir string, subjects ...string) map[string][]byte {
	t.Helper()
	dsn, err := sqlite.ReadOnlyDSN(filepath.Join(dataDir, "personal-keys.db"))
	require.NoError(t, err)
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer db.Close()
	out := map[string][]byte{}
	for _, id := range subjects {
		var key []byte
		require.NoError(t, db.QueryRow(`SELECT key FROM subject_keys WHERE subject_id = ?`, id).Scan(&key), id)
		require.Len(t, key, 32, id)
		out[id] = key
	}
	return out
}

// requireNoKeys fails if a file holds one of the keys' bytes.
func requireNoKeys(t *testing.T, keys map[string][]byte, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		for subject, key := range keys {
			require.False(t, bytes.Contains(b, key), "%s holds the erased key of %s", name, subject)
		}
	}
}

// pgTables dumps every table of the schema a URL's search_path names:
// one text per table, bytea columns as text (escaped) and as hex.
func pgTables(t *testing.T, u string) map[string][]byte {
	t.Helper()
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	schema := parsed.Query().Get("search_path")
	require.NotEmpty(t, schema)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, u)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position`, schema)
	require.NoError(t, err)
	exprs := map[string][]string{}
	for rows.Next() {
		var table, column, typ string
		require.NoError(t, rows.Scan(&table, &column, &typ))
		col := pgx.Identifier{column}.Sanitize()
		if typ == "bytea" {
			exprs[table] = append(exprs[table], "encode("+col+", 'escape')", "encode("+col+", 'hex')")
		} else {
			exprs[table] = append(exprs[table], col+"::text")
		}
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, exprs, "no tables in schema %s", schema)
	out := map[string][]byte{}
	for table, cols := range exprs {
		var dump bytes.Buffer
		rows, err := conn.Query(ctx, "SELECT concat_ws(' ', "+strings.Join(cols, ", ")+") FROM "+pgx.Identifier{schema, table}.Sanitize())
		require.NoError(t, err)
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			dump.WriteString(line)
			dump.WriteByte('\n')
		}
		require.NoError(t, rows.Err())
		out[schema+"."+table] = dump.Bytes()
	}
	return out
}

// pgKeys reads the subjects' keys from the read models' subject_keys.
func pgKeys(t *testing.T, u string, subjects ...string) map[string][]byte {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), u)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	out := map[string][]byte{}
	for _, id := range subjects {
		var key []byte
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT key FROM subject_keys WHERE subject_id = $1`, id).Scan(&key), id)
		out[id] = key
	}
	return out
}

// hexKeys are the keys as the dumps show bytea: hex.
func hexKeys(keys map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for id, k := range keys {
		out[id] = []byte(hex.EncodeToString(k))
	}
	return out
}

// busMessages are the messages the in-process bus carried: each logged
// event as the forwarder encodes it.
func busMessages(t *testing.T, dataDir string) []byte {
	t.Helper()
	store, err := sqlite.OpenReadOnly(filepath.Join(dataDir, "events.db"))
	require.NoError(t, err)
	defer store.Close()
	var out bytes.Buffer
	for after := uint64(0); ; {
		evs, err := store.ReadAll(t.Context(), after, 500, eventstore.Filter{})
		require.NoError(t, err)
		for _, ev := range evs {
			msg, err := bus.Encode(ev)
			require.NoError(t, err)
			out.Write(msg.Payload)
			for k, v := range msg.Metadata {
				out.WriteString(k + "=" + v + "\n")
			}
			after = ev.Position
		}
		if len(evs) < 500 {
			return out.Bytes()
		}
	}
}

// requireAllowedReads checks who sees the personal data before the
// deletion: the answers that must show it do (the markers are real), the
// others do not.
func requireAllowedReads(t *testing.T, m markers, f *privacyFixture, bodies map[string][]byte) {
	t.Helper()
	shows := func(b []byte) bool { return len(m.in(b)) > 0 }
	for _, read := range []string{"owner GET /users/" + f.user, "me GET /users/" + f.user, "me GET /me",
		"owner GET /bookings/" + f.booking + "/check-in", "owner GET /bookings/" + f.booking2 + "/check-in"} {
		require.True(t, shows(bodies[read]), "%s shows no personal data: %s", read, bodies[read])
	}
	allowed := map[string]bool{}
	for _, who := range []string{"owner", "me"} {
		allowed[who+" GET /users/"+f.user] = true
	}
	allowed["me GET /me"] = true
	allowed["owner GET /properties/"+f.property2+"/invitations"] = true // the e-mail, to those who invite
	for _, who := range []string{"owner"} {
		allowed[who+" GET /bookings/"+f.booking+"/check-in"] = true
		allowed[who+" GET /bookings/"+f.booking2+"/check-in"] = true
	}
	rest := map[string][]byte{}
	for read, b := range bodies {
		if !allowed[read] {
			rest[read] = b
		}
	}
	requireNoMarkers(t, m, "answers to callers that may not read the personal data", rest)
}

// Embedded: the SQLite files' every byte (write-ahead logs too), the
// in-process bus, webhook attempts before and after the deletion, and a
// read-only server on the data directory afterwards.
func TestDeletedUserLeavesNoPersonalData(t *testing.T) {
	privacyAudit(t, false)
}

// Scale-out: the PostgreSQL log and read models, the key table, and every
// message NATS carried.
func TestDeletedUserLeavesNoPersonalDataScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and NATS")
	}
	privacyAudit(t, true)
}

func privacyAudit(t *testing.T, scaleOut bool) {
	m := markers{}
	hooks := newHookReceiver(t)
	var args []string
	var esURL, rmURL string
	var tap *natsTap
	if scaleOut {
		esURL, rmURL = servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
		natsURL := servicetest.NATSURL(t)
		tap = tapNATS(t, natsURL)
		args = []string{"--eventstore", esURL, "--readmodels", rmURL, "--bus", natsURL}
	}
	key := strings.Repeat("p", 40)
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startPrivacyServer(t, key, dataDir, args...)
	f := fillPersonal(t, s, m, hooks.srv.URL)
	subjects := []string{f.user, f.guest, f.guest2}
	if !scaleOut {
		// The user's creation was offered to the webhook, and refused,
		// before the deletion: its retry comes after. (On NATS the
		// deliveries' durable consumer is shared with the other servers
		// on the test server: they are left to the embedded run.)
		require.Eventually(t, func() bool {
			return strings.Contains(string(hooks.all()), f.user)
		}, 60*time.Second, 10*time.Millisecond, "no webhook attempt before the deletion")
	}

	// stores gathers every place the data may rest or pass through;
	// controls names those that must show the user's display name (clear
	// text of theirs that is no personal data), so that a search that
	// finds no marker there proves something.
	gather := func(after bool) (stores map[string][]byte, controls []string) {
		stores = map[string][]byte{"log": []byte(s.logs.String())}
		if scaleOut {
			stores["NATS messages"] = tap.all()
			controls = append(controls, "NATS messages")
			for name, b := range pgTables(t, esURL) {
				stores["event store "+name] = b
			}
			controls = append(controls, "event store ")
			for name, b := range pgTables(t, rmURL) {
				stores["read models "+name] = b
			}
			controls = append(controls, "read models ")
		} else {
			stores["webhook requests"] = hooks.all()
			controls = append(controls, "webhook requests", "data dir ")
			if after {
				stores["bus messages"] = busMessages(t, dataDir)
				controls = append(controls, "bus messages")
			}
		}
		for name, b := range filesOf(t, dataDir) {
			stores["data dir "+name] = b
		}
		return stores, controls
	}
	requireControls := func(stores map[string][]byte, controls []string) {
		t.Helper()
		for _, c := range controls {
			seen := false
			for name, b := range stores {
				seen = seen || (strings.HasPrefix(name, c) && bytes.Contains(b, []byte(f.control)))
			}
			require.True(t, seen, "%s: the user's display name is not found, so the search there proves nothing", c)
		}
	}

	// Before the deletion: shown only to those who may read it, and stored
	// nowhere in the clear.
	requireAllowedReads(t, m, f, f.readAll(t, s))
	stores, controls := gather(false)
	requireControls(stores, controls)
	requireNoMarkers(t, m, "before the deletion", stores)
	var keys map[string][]byte
	if scaleOut {
		keys = pgKeys(t, rmURL, subjects...)
		for id, k := range keys {
			require.Len(t, k, 32, id)
		}
		var dump []byte
		for name, b := range stores {
			if strings.HasPrefix(name, "read models ") && strings.HasSuffix(name, ".subject_keys") {
				dump = b
			}
		}
		require.Contains(t, string(dump), hex.EncodeToString(keys[f.user]), "the dump shows the keys")
	} else {
		keys = sqliteKeys(t, dataDir, subjects...)
		require.True(t, bytes.Contains(append(stores["data dir personal-keys.db"], stores["data dir personal-keys.db-wal"]...), keys[f.user]),
			"the key file holds the key")
	}

	// The deletion, and the erasure of the guest given by name.
	deletions := map[string][]byte{}
	for _, path := range []string{"/users/" + f.user, "/bookings/" + f.booking2 + "/guests/" + f.guest2} {
		status, body := s.do(t, key, "DELETE", path, nil)
		require.Equal(t, http.StatusOK, status, "DELETE %s: %s", path, body)
		deletions["DELETE "+path] = body
	}
	hooks.open.Store(true)
	requireNoMarkers(t, m, "the deletions' answers", deletions)
	// The deletion erased the guest registered on their stay and withdrew
	// the invitation to their address they never accepted, erasing its
	// e-mail (README, Users and devices).
	status, raw := s.do(t, key, "DELETE", "/bookings/"+f.booking+"/guests/"+f.guest, nil)
	require.Equal(t, http.StatusNotFound, status, "the guest on their stay is erased with them: %s", raw)
	status, raw = s.do(t, key, "GET", "/properties/"+f.property2+"/invitations", nil)
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, string(raw), f.pending, "the pending invitation is withdrawn with them")
	status, raw = s.do(t, key, "DELETE", "/invitations/"+f.pending, nil)
	require.Equal(t, http.StatusNotFound, status, "withdrawn already: %s", raw)

	after := f.readAll(t, s)
	requireNoMarkers(t, m, "answers after the deletion", after)
	require.Contains(t, string(after["owner GET /bookings/"+f.booking+"/check-in"]), `"erased":true`)
	require.Contains(t, string(deletions["DELETE /users/"+f.user]), `"typeState":"deleted"`)

	if !scaleOut {
		// Deliveries refused before the deletion are retried after it,
		// with the payload queued before it.
		require.Eventually(t, func() bool {
			_, raw := s.do(t, key, "GET", "/accounts/webhooks/"+f.webhook+"/deliveries?pageSize=100", nil)
			var env struct {
				Data struct {
					Deliveries []struct {
						EventType string `json:"eventType"`
						Status    string `json:"status"`
						Attempts  int    `json:"attempts"`
					} `json:"deliveries"`
				} `json:"data"`
			}
			if json.Unmarshal(raw, &env) != nil || len(env.Data.Deliveries) == 0 {
				return false
			}
			for _, d := range env.Data.Deliveries {
				if d.Status != "delivered" || (d.EventType == "UserCreated" && d.Attempts < 2) {
					return false
				}
			}
			return true
		}, 60*time.Second, 10*time.Millisecond, "the webhook deliveries were not retried after the deletion")
		hooks.mu.Lock()
		require.Positive(t, hooks.afterOpen, "no delivery after the deletion")
		hooks.mu.Unlock()
	}
	s.stop()

	stores, controls = gather(true)
	requireControls(stores, controls)
	requireNoMarkers(t, m, "after the deletion", stores)
	if scaleOut {
		// The erased keys are gone from the table (their old row versions
		// stay in PostgreSQL's files until vacuumed: see README).
		for id, k := range pgKeys(t, rmURL, subjects...) {
			require.Nil(t, k, "the key of %s is not erased", id)
		}
		requireNoKeys(t, hexKeys(keys), stores)
		return
	}
	require.Contains(t, stores, "data dir personal-keys.db")
	requireNoKeys(t, keys, stores)

	// A read-only server on the data directory (as on a replay of it)
	// shows nothing of them either, and writes nothing.
	ro := startPrivacyServer(t, key, dataDir, "--read-only")
	requireNoMarkers(t, m, "a read-only server's answers", f.readAll(t, ro))
	ro.stop()
	requireNoMarkers(t, m, "a read-only server's log", map[string][]byte{"log": []byte(ro.logs.String())})
}
