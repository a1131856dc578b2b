package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/accesslogs"
	"github.com/accessd/accessd/projections/auditindex"
	"github.com/accessd/accessd/projections/bookings"
	"github.com/accessd/accessd/projections/calendar"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/eventlist"
	"github.com/accessd/accessd/projections/firmware"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/memberships"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/projections/timeline"
	"github.com/accessd/accessd/projections/webhooks"
	"github.com/accessd/accessd/queries"
)

const rootKey = "test-root-key-0123456789abcdef0123456789"

// harness is the whole server over real SQLite and real HTTP.
type harness struct {
	t      testing.TB
	srv    *httptest.Server
	store  *sqlite.Store
	set    *projections.Set
	client *http.Client

	// personal holds the users' personal-data keys.
	personal *personaldata.Store

	// db is the read-model database the queries read.
	db *projections.DB

	// firmware reads the firmware read model; firmwareDir holds the images.
	firmware    *queries.Firmware
	firmwareDir string

	// clock is the pipeline's clock; service and bookings serve the
	// booking scheduler's tests.
	clock    *testClock
	service  *commands.Service
	bookings *queries.Bookings

	// bus carries webhook deliveries; each publish returns once consumed.
	bus *gochannel.GoChannel
}

// newHarness builds the server; opts change its webhook delivery (internal
// addresses are refused unless webhooks.WithPrivateTargets(true) is given).
func newHarness(t testing.TB, opts ...webhooks.Option) *harness {
	t.Helper()
	return newHarnessOver(t, nil, opts...)
}

// newHarnessOver is newHarness whose commands use wrap(store) as their
// event store (nil: the store itself); the projections, the audit and the
// harness's own reads use the store itself.
func newHarnessOver(t testing.TB, wrap func(*sqlite.Store) eventstore.Store, opts ...webhooks.Option) *harness {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	db := readmodeltest.OpenPooled(ctx, t, filepath.Join(dir, "readmodels.db"), "http-harness")
	registry := commands.NewRegistry()
	clock := &testClock{}
	var commandStore eventstore.Store = store
	if wrap != nil {
		commandStore = wrap(store)
	}
	pipeline, err := commands.NewPipeline(commandStore, registry, clock.Now)
	require.NoError(t, err)
	service, err := commands.NewService(pipeline, bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	service.SetCounts(queries.NewEntities(db))
	log := slog.New(slog.DiscardHandler)
	runner, err := projections.NewRunner(db, store, registry, entities.New(), log)
	require.NoError(t, err)
	listRunner, err := projections.NewRunner(db, store, registry, eventlist.New(registry), log)
	require.NoError(t, err)
	memberRunner, err := projections.NewRunner(db, store, registry, memberships.New(), log)
	require.NoError(t, err)
	keyMapRunner, err := projections.NewRunner(db, store, registry, keymaps.New(), log)
	require.NoError(t, err)
	accessLogRunner, err := projections.NewRunner(db, store, registry, accesslogs.New(), log)
	require.NoError(t, err)
	firmwareRunner, err := projections.NewRunner(db, store, registry, firmware.New(), log)
	require.NoError(t, err)
	activityRunner, err := projections.NewRunner(db, store, registry, timeline.NewActivity(registry), log)
	require.NoError(t, err)
	calendarRunner, err := projections.NewRunner(db, store, registry, calendar.New(), log)
	require.NoError(t, err)
	bookingRunner, err := projections.NewRunner(db, store, registry, bookings.New(), log)
	require.NoError(t, err)
	auditRunner, err := projections.NewRunner(db, store, registry, auditindex.New(registry), log)
	require.NoError(t, err)
	webhookRunner, err := projections.NewRunner(db, store, registry, webhooks.New(), log)
	require.NoError(t, err)
	set := projections.NewSet(store, runner, listRunner, memberRunner, keyMapRunner, accessLogRunner, firmwareRunner, activityRunner, calendarRunner, bookingRunner, auditRunner, webhookRunner)
	service.SetBookingOverlaps(queries.NewBookings(db))
	service.SetMemberships(queries.NewMemberships(db))
	service.SetGuestUserBookings(queries.NewBookings(db))
	service.SetGuestsOfGuestUser(queries.NewBookings(db))
	service.SetInvitationProperties(queries.NewEntities(db))
	// Bookings first: a stay still checked in once the memberships are
	// gone would have the reconciliation give one back. Every step runs
	// before the user's key is erased: the invitations' step reads the
	// user's e-mail addresses with it.
	service.OnUserDeleted(service.EndBookingsOfUser)
	service.OnUserDeleted(service.EraseGuestsOfUser)
	service.OnUserDeleted(service.RemoveUserFromAllGroups)
	service.OnUserDeleted(service.RemoveUserFromAllProperties)
	service.OnUserDeleted(service.WithdrawInvitationsOfUser)
	personal, err := personaldata.Open(filepath.Join(dir, "personal-keys.db"))
	require.NoError(t, err)
	service.SetPersonalData(personal)
	service.SetUserDevices(queries.NewUserDevices(queries.NewEntities(db), set))
	service.SetUserAPIKeys(queries.NewUserAPIKeys(queries.NewEntities(db), set))
	service.SetPropertyScopedUsers(queries.NewPropertyScopedUsers(queries.NewEntities(db), set))
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()

	_, err = service.Bootstrap(ctx, rootKey)
	require.NoError(t, err)
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	require.NoError(t, set.WaitFor(ctx, head))

	lockSyncs, err := commands.NewLockSyncs(service, queries.NewKeyMaps(db))
	require.NoError(t, err)
	audit, err := queries.NewAudit(db, store, registry)
	require.NoError(t, err)
	eventBus := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
	delivery, err := webhooks.NewDelivery(ctx, db, eventBus, eventBus, func(id uuid.UUID) []byte { return []byte(service.WebhookSecret(id)) },
		append([]webhooks.Option{webhooks.WithWaiter(set), webhooks.WithBackoff(time.Millisecond, 2*time.Millisecond), webhooks.WithRetryPoll(2 * time.Millisecond), webhooks.WithLogger(log)}, opts...)...)
	require.NoError(t, err)
	busRouter, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	require.NoError(t, err)
	require.NoError(t, delivery.AddHandlers(busRouter))
	busDone := make(chan struct{})
	go func() { defer close(busDone); _ = busRouter.Run(ctx) }()
	<-busRouter.Running()
	reg := prometheus.NewRegistry()
	lockChanges, err := set.Changes(queries.LockReadModels...)
	require.NoError(t, err)
	router := httpapi.NewRouter(httpapi.Options{
		Signer:   httpapi.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))),
		Commands: service, Entities: queries.NewEntities(db).CacheLocks(lockChanges), Events: queries.NewEvents(db), KeyMaps: queries.NewKeyMaps(db), Reprocessor: set, Waiter: set, Ready: set.Ready,
		Gatherer: reg, Metrics: httpapi.NewMetrics(reg), Log: log, PersonalData: personal,
		Firmware: queries.NewFirmware(db), FirmwareDir: filepath.Join(dir, "firmware"),
		LockSyncs: lockSyncs, AccessLogs: queries.NewAccessLogs(db), Activity: queries.NewActivity(db), Calendar: queries.NewCalendar(db),
		Bookings: queries.NewBookings(db), Audit: audit, Webhooks: delivery,
	})
	srv := httptest.NewServer(router)
	t.Cleanup(func() {
		srv.Close()
		busRouter.Close()
		<-busDone
		eventBus.Close()
		cancel()
		<-done
		db.Close()
		store.Close()
		personal.Close()
	})
	return &harness{t: t, srv: srv, store: store, set: set, personal: personal, db: db, client: srv.Client(),
		firmware: queries.NewFirmware(db), firmwareDir: filepath.Join(dir, "firmware"),
		clock: clock, service: service, bookings: queries.NewBookings(db), bus: eventBus}
}

// reply is a decoded envelope.
type reply struct {
	Status     int
	Success    bool              `json:"success"`
	Data       json.RawMessage   `json:"data"`
	Error      string            `json:"error"`
	Signatures map[string]string `json:"signatures"`
	Header     http.Header       `json:"-"`
}

// field reads a top-level string field of the data.
func (r reply) field(name string) string {
	var m map[string]any
	_ = json.Unmarshal(r.Data, &m)
	s, _ := m[name].(string)
	return s
}

// do sends a request; body is marshalled unless it is a string or []byte.
func (h *harness) do(method, path, key string, body any) reply {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	require.NoError(h.t, err)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	out := reply{Status: resp.StatusCode, Header: resp.Header}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(h.t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	require.Less(h.t, resp.StatusCode, 500, "%s %s answered %d: %s", method, path, resp.StatusCode, raw)
	return out
}

// newKey creates an API key in the root account with the given permissions
// and returns its secret.
func (h *harness) newKey(adminKey string, perms ...map[string]string) string {
	h.t.Helper()
	r := h.do("POST", "/accounts/keys", adminKey, map[string]any{"displayName": "test key", "apiPermissions": perms})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return r.field("apiKey")
}

// newAccount registers a child account and returns its owner key.
func (h *harness) newAccount() string {
	h.t.Helper()
	r := h.do("POST", "/accounts/register", rootKey, map[string]any{"displayName": "tenant"})
	require.Equal(h.t, http.StatusCreated, r.Status, r.Error)
	return r.field("apiKey")
}

func perm(p string) map[string]string { return map[string]string{"permission": p} }
