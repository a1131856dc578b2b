package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/cmd/internal/replaymark"
	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/eventstore"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/webhooks"
	"github.com/accessd/accessd/queries"
)

// run wires the embedded server and serves until ctx ends, then shuts down
// in order: stop accepting, finish in-flight requests, stop projections at a
// checkpoint, close the stores.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// A data directory that cannot be written (a read-only mount) still
	// serves reads: the server starts as with --read-only, opens the
	// SQLite files without writing and runs nothing that writes.
	// --read-only serves a forensic copy the same way: a server that
	// refuses changes must not change its files, nor republish the log
	// through the forwarder or webhooks, either.
	// A replay that did not finish (accessctl replay killed part-way) may
	// lack read models, or hold partial ones: served, it would answer
	// every request wrongly or with an error. accessctl replay marks the
	// replays it finished.
	if err := replaymark.CheckComplete(cfg.DataDir); err != nil {
		return err
	}
	var readOnlyReason string
	if cfg.ReadOnly {
		readOnlyReason = "read-only server (accessd --read-only): it serves a replayed data directory and accepts no changes"
	} else if storageReadOnly := backends.NotWritable(storageDirs(cfg)...); storageReadOnly != "" {
		readOnlyReason = "read-only: " + storageReadOnly + "; accessd serves reads and refuses every change until the directory is writable again and accessd is restarted"
		log.Warn("data directory is read-only: serving reads, refusing every change", "reason", storageReadOnly)
	}
	readOnlyMode := readOnlyReason != ""
	openEventStore, openReadModels, secret := backends.OpenEventStore, backends.OpenReadModels, loadOrCreateSecret
	if readOnlyMode {
		openEventStore, openReadModels, secret = backends.OpenEventStoreReadOnly, backends.OpenReadModelsReadOnly, loadSecret
	}

	rawStore, err := openEventStore(ctx, cfg.EventStore, log)
	if err != nil {
		return err
	}
	defer rawStore.Close()
	store := newObservedStore(rawStore, reg)

	readDB, err := openReadModels(ctx, cfg.ReadModels)
	if err != nil {
		return err
	}
	defer readDB.Close()
	secretKey, err := secret(cfg.DataDir, "command.key", 32)
	if err != nil {
		return fmt.Errorf("command key: %w", err)
	}
	// Read models built from another log, or kept by servers of another
	// command key, are refused before anything appends or applies: a
	// write through this server would be recorded in its log and never
	// show in the read models (or mix two logs in them).
	seed, err := secret(cfg.DataDir, "server-signing.key", ed25519.SeedSize)
	if err != nil {
		return fmt.Errorf("server signing key: %w", err)
	}
	origin := backends.Origin{EventStore: cfg.EventStore, ReadModels: cfg.ReadModels,
		Key: secretKey, KeyFile: filepath.Join(cfg.DataDir, "command.key"),
		SigningKey:     ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey),
		SigningKeyFile: filepath.Join(cfg.DataDir, "server-signing.key"), ReadOnly: readOnlyMode}
	if _, err := os.Stat(origin.KeyFile); readOnlyMode && err != nil {
		origin.Key = nil // loadSecret made one up: nothing to compare
	}
	if _, err := os.Stat(origin.SigningKeyFile); readOnlyMode && err != nil {
		origin.SigningKey = nil // made up too
	}
	if err := backends.CheckOrigin(ctx, rawStore, readDB, origin); err != nil {
		return err
	}
	var plainLeases projections.Leaser = noLeases{}
	if !readOnlyMode {
		if plainLeases, err = backends.OpenLeases(ctx, cfg.ReadModels, log); err != nil {
			return err
		}
	}
	leases := newObservedLeases(plainLeases, reg)
	// What has left the system (the forwarder's checkpoint, the webhook
	// deliveries) is not rebuildable from the log: with SQLite read
	// models it has a file of its own, which deleting readmodels.db
	// leaves alone.
	var integDB *projections.DB
	if readOnlyMode {
		var closeInteg func()
		if integDB, closeInteg, err = backends.OpenIntegrationReadOnly(ctx, cfg.ReadModels, cfg.DataDir, readDB); err != nil {
			return err
		}
		defer closeInteg()
	} else {
		var (
			closeInteg func()
			moved      int64
		)
		if integDB, moved, closeInteg, err = backends.OpenIntegration(ctx, cfg.ReadModels, cfg.DataDir, readDB); err != nil {
			return err
		}
		defer closeInteg()
		if moved > 0 {
			log.Info("moved the bus checkpoint and webhook deliveries from the read models to their own file", "rows", moved,
				"file", backends.IntegrationPath(cfg.DataDir))
		}
	}
	// Events removed from the end of the log while no server ran (or
	// under one that refused to append over them) leave the read models'
	// and the forwarder's checkpoints past its end: appending would reuse
	// those positions, and the read models and the forwarder would skip
	// what it appends. A server that writes refuses to start; a read-only
	// one serves the evidence and says so.
	if kind, _ := backends.EventStoreKind(cfg.EventStore); kind == backends.SQLite || kind == backends.Postgres {
		behind, err := logEndBehind(ctx, store, readDB, integDB)
		if err != nil {
			return err
		}
		if behind != "" {
			if !readOnlyMode {
				return fmt.Errorf("%s (stop here, keep the data as evidence; a log put back from a copy on purpose needs its read models rebuilt from it)", behind)
			}
			log.Error("event log truncated", "err", behind)
		}
	}
	integration, err := backends.OpenBus(ctx, cfg.Bus, log)
	if err != nil {
		return err
	}
	defer integration.Close()

	registry := commands.NewRegistry()
	pipeline, err := commands.NewPipeline(store, registry, time.Now)
	if err != nil {
		return err
	}
	service, err := commands.NewService(pipeline, secretKey)
	if err != nil {
		return err
	}
	service.SetCounts(queries.NewEntities(readDB))
	service.SetMemberships(queries.NewMemberships(readDB))
	service.SetBookingOverlaps(queries.NewBookings(readDB))
	service.SetGuestUserBookings(queries.NewBookings(readDB))
	service.SetGuestsOfGuestUser(queries.NewBookings(readDB))
	service.SetInvitationProperties(queries.NewEntities(readDB))
	// Bookings first: a stay still checked in once the memberships are
	// gone would have the reconciliation give one back. Every step runs
	// before the user's key is erased: the invitations' step reads the
	// user's e-mail addresses with it.
	service.OnUserDeleted(service.EndBookingsOfUser)
	service.OnUserDeleted(service.EraseGuestsOfUser)
	service.OnUserDeleted(service.RemoveUserFromAllGroups)
	service.OnUserDeleted(service.RemoveUserFromAllProperties)
	service.OnUserDeleted(service.WithdrawInvitationsOfUser)
	if cfg.BootstrapKey != "" && !readOnlyMode {
		created, err := service.Bootstrap(ctx, cfg.BootstrapKey)
		if err != nil {
			return fmt.Errorf("ACCESSD_BOOTSTRAP_KEY: %w", err)
		}
		log.Info("bootstrap", "accountCreated", created)
	}

	var runners []*projections.Runner
	for _, p := range projectionsFor(registry) {
		r, err := projections.NewRunner(readDB, store, registry, p, log)
		if err != nil {
			return err
		}
		runners = append(runners, r)
	}
	set := projections.NewSet(store, runners...)
	// On a read-only data directory the SQLite keys are read as stored,
	// without writing; sealing and erasing fail with
	// personaldata.ErrReadOnly (503).
	openPersonal := backends.OpenPersonalData
	if kind, _ := backends.ReadModelsKind(cfg.ReadModels); readOnlyMode && kind != backends.Postgres {
		openPersonal = func(_ context.Context, _, path string) (*personaldata.Store, error) {
			return personaldata.OpenReadOnly(path)
		}
	}
	personal, err := openPersonal(ctx, cfg.ReadModels, filepath.Join(cfg.DataDir, "personal-keys.db"))
	if err != nil {
		return err
	}
	defer personal.Close()
	service.SetPersonalData(personal)
	var personalReader httpapi.PersonalData = personal
	service.SetUserDevices(queries.NewUserDevices(queries.NewEntities(readDB), set))
	service.SetUserAPIKeys(queries.NewUserAPIKeys(queries.NewEntities(readDB), set))
	service.SetPropertyScopedUsers(queries.NewPropertyScopedUsers(queries.NewEntities(readDB), set))
	reg.MustRegister(newLagCollector(set))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", cfg.Addr, err)
	}
	sealer, err := seals.NewSealer(store, ed25519.NewKeyFromSeed(seed), time.Now, log, cfg.SealEvery, cfg.SealInterval)
	if err != nil {
		return err
	}
	lockSyncs, err := commands.NewLockSyncs(service, queries.NewKeyMaps(readDB))
	if err != nil {
		return err
	}
	audit, err := queries.NewAudit(readDB, store, registry)
	if err != nil {
		return err
	}
	// Workers outlive ctx's end by a little: they stop after the last
	// request is answered.
	projCtx, stopProjections := context.WithCancel(context.WithoutCancel(ctx))
	defer stopProjections()
	var webhookReader httpapi.Webhooks
	closeHooks := func() {}
	if !readOnlyMode {
		// Deliveries read only the webhooks read model: waiting for every
		// read model would also make them wait for, and hurry, the
		// deferred lane.
		var hookWaiter webhooks.Waiter = set
		if r := set.Runner(webhooks.New().Name()); r != nil {
			hookWaiter = r
		}
		hooks, err := startWebhooks(projCtx, readDB, integDB, integration, cfg.Bus, service, hookWaiter, cfg.WebhooksAllowPrivate, log)
		if err != nil {
			return err
		}
		defer hooks.Close()
		closeHooks, webhookReader = hooks.Close, hooks.delivery
	} else if hooks := readOnlyWebhooks(projCtx, readDB, integDB, integration, log); hooks != nil {
		webhookReader = hooks
	}
	ready := set.Ready
	if readOnlyMode {
		// No projection runs here: the runners start at the checkpoints
		// the read models hold, so that Lag, /metrics and WaitFor show
		// where they are. The SQLite files of a read-only directory cannot
		// move (the store watches nothing): read once. Read models or a
		// log shared with writable servers (PostgreSQL, KurrentDB) do:
		// their checkpoints are followed, as a server without the
		// projections lease does (RunLeased under noLeases, below).
		if err := set.LoadCheckpoints(ctx); err != nil {
			log.Warn("read-model checkpoints cannot be read on this read-only data directory", "err", err)
		}
		// Read models cannot catch up on a read-only directory: they are
		// as ready as they will get, and serve what they hold.
		ready = func() bool { return true }
		go warnIfBehind(projCtx, set, log)
	}
	// Revocations are followed from the head as it is before the server
	// serves and before the read models read the head they catch up to.
	keys := httpapi.NewKeyCache()
	revocationsAfter, err := store.HeadPosition(ctx)
	if err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	lockChanges, err := set.Changes(queries.LockReadModels...)
	if err != nil {
		return err
	}
	// A key the read model misses while the log is ahead of it (minted by
	// accessctl beside this server) is looked up again once the read model
	// reached the head, read at once: the SQLite store would notice
	// another process's appends only at its next poll. A read-only
	// server's read models do not move: a miss is a miss.
	var (
		logHead   func(context.Context) (uint64, error)
		keysModel httpapi.KeysModel
	)
	if r := set.Runner(entities.New().Name()); r != nil && !readOnlyMode {
		logHead, keysModel = store.HeadPosition, r
		if h, ok := rawStore.(interface {
			RefreshHead(context.Context) (uint64, error)
		}); ok {
			logHead = h.RefreshHead
		}
	}
	// PUT /events/{eventId}/process re-delivers the event to the read
	// models, then publishes it on the bus again for its consumers
	// (webhook delivery among them). A read-only server refuses the
	// route (readOnly) and publishes nothing.
	var reprocessor httpapi.Reprocessor = set
	if !readOnlyMode {
		redelivery, err := bus.NewRedelivery(store, integration.Publisher())
		if err != nil {
			return err
		}
		reprocessor = reprocessEach{set, redelivery}
	}
	// A read-only server writes nothing: the free space of its
	// directories (read-only media report none) says nothing of it.
	var writtenDirs []string
	if !readOnlyMode {
		writtenDirs = storageDirs(cfg)
	}
	handler := httpapi.NewRouter(httpapi.Options{
		Audit:    audit,
		Signer:   httpapi.NewSigner(ed25519.NewKeyFromSeed(seed)),
		Commands: service, Entities: queries.NewEntities(readDB).CacheLocks(lockChanges), Events: queries.NewEvents(readDB), KeyMaps: queries.NewKeyMaps(readDB),
		Reprocessor: reprocessor, Waiter: set, KeyCache: keys, LogHead: logHead, KeysModel: keysModel,
		Ready: ready, Storage: storageCheck(rawStore, readDB, integDB, writtenDirs), Gatherer: reg, Metrics: httpapi.NewMetrics(reg), Log: log,
		PersonalData: personalReader,
		Firmware:     queries.NewFirmware(readDB), FirmwareDir: filepath.Join(cfg.DataDir, "firmware"),
		LockSyncs: lockSyncs, AccessLogs: queries.NewAccessLogs(readDB), Activity: queries.NewActivity(readDB), Calendar: queries.NewCalendar(readDB),
		Bookings: queries.NewBookings(readDB),
		Webhooks: webhookReader,
		// From command.key, which every server of the log shares (a
		// read-only one loads it too): each continues the others' lists.
		PageTokenKey: queries.NewPageTokenKey(secretKey),
	})
	if readOnlyMode {
		handler = readOnly(handler, readOnlyReason)
	}
	srv := newHTTPServer(handler, log, serverTimeouts)

	var wg sync.WaitGroup
	if readOnlyMode && !staticReadModels(cfg) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := set.RunLeased(projCtx, leases); err != nil {
				log.Error("projections stopped", "err", err)
			}
		}()
	}
	if !readOnlyMode {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := set.RunLeased(projCtx, leases); err != nil {
				log.Error("projections stopped", "err", err)
			}
		}()
		forwarder, err := bus.NewForwarder(store, integDB, integration.Publisher(), log)
		if err != nil {
			stopProjections()
			wg.Wait()
			return err
		}
		reg.MustRegister(newForwarderLagCollector(forwarder), newForwarderSkippedCollector(forwarder), newForwarderFailuresCollector(forwarder))
		wg.Add(1)
		go func() {
			defer wg.Done()
			runLeased(projCtx, leases, "forwarder", log, forwarder.Run)
		}()
		// Every server that serves writes follows, lease or not: a key
		// deleted through another server must stop working here too (a
		// read-only server's read models never move, so it has nothing
		// to follow). Key lookups read only the entities read model: the
		// cache waits for it alone, not for every read model of the
		// commands' lane.
		var keyLookups httpapi.ReadModel = commandsWaiter{set}
		if r := set.Runner(entities.New().Name()); r != nil {
			keyLookups = r
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys.FollowRevocations(projCtx, store, revocationsAfter, keyLookups, log)
		}()
	}
	// The workers that append to the log run under their leases, and not
	// at all on a read-only server. They stop before the projections, so
	// what they append last (the stop-time seal) is projected too.
	appendCtx, stopAppenders := context.WithCancel(projCtx)
	defer stopAppenders()
	var appenders sync.WaitGroup
	runAppender := func(lease string, fn func(context.Context) error) {
		if readOnlyMode {
			return
		}
		appenders.Add(1)
		go func() {
			defer appenders.Done()
			runLeased(appendCtx, leases, lease, log, fn)
		}()
	}
	stopWorkers := func() {
		stopAppenders()
		appenders.Wait()
		stopProjections()
		wg.Wait()
	}
	scheduler, err := commands.NewBookingScheduler(service, queries.NewBookings(readDB), log)
	if err != nil {
		stopWorkers()
		return err
	}
	runAppender("booking-scheduler", func(ctx context.Context) error {
		scheduler.Run(ctx, 10*time.Second, set.Ready)
		return nil
	})
	// Deletes the group a CreateArea killed between its two appends left
	// without its area; at start, then as often as bookings reconcile.
	areaRepair, err := commands.NewAreaRepair(service, queries.NewEntities(readDB), log)
	if err != nil {
		stopWorkers()
		return err
	}
	runAppender("area-repair", func(ctx context.Context) error {
		areaRepair.Run(ctx, 5*time.Minute, set.Ready)
		return nil
	})
	// Claims the public keys of the locks provisioned before keys were
	// claimed, once per data set, in the background.
	if !readOnlyMode {
		appenders.Add(1)
		go func() { defer appenders.Done(); runLockKeyBackfill(appendCtx, leases, service, readDB, log) }()
	}
	runAppender("sealer", sealer.Run)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("accessd listening", "addr", ln.Addr().String(), "dataDir", cfg.DataDir,
		"eventstore", backends.Redact(cfg.EventStore), "readmodels", backends.Redact(cfg.ReadModels), "bus", backends.Redact(cfg.Bus), "readOnly", readOnlyMode)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		stopWorkers()
		return fmt.Errorf("serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopAppenders()
	appenders.Wait()
	if !readOnlyMode {
		settleReadModels(shutdownCtx, store, set, log)
	}
	closeHooks()
	stopWorkers()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("accessd stopped cleanly")
	return nil
}

// reprocessEach re-delivers an event to each consumer in turn, stopping at
// the first that fails. A consumer after the first (the bus) failing is a
// service unavailable (503), not the client's doing nor a bug: what came
// before is done, and a retry, idempotent, delivers the rest.
type reprocessEach []httpapi.Reprocessor

func (each reprocessEach) Reprocess(ctx context.Context, position uint64) error {
	for i, r := range each {
		if err := r.Reprocess(ctx, position); err != nil {
			if i > 0 && ctx.Err() == nil {
				return fmt.Errorf("%w: the read models have the event again, publishing it failed (%v); retry", eventstore.ErrUnavailable, err)
			}
			return err
		}
	}
	return nil
}

// settleReadModels lets the read models apply what the log holds at a
// clean stop (the stop-time seal among it), so a stopped server leaves
// them at the head and `accessctl export` finds nothing missing. A stop
// that must be quick (the shutdown timeout, or a read model stuck on a
// bad event) leaves them behind; the next start catches up.
func settleReadModels(ctx context.Context, store eventstore.Store, set *projections.Set, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, settleAtStop)
	defer cancel()
	head, err := store.HeadPosition(ctx)
	if err == nil {
		err = set.WaitFor(ctx, head)
	}
	if err != nil {
		log.Warn("read models not at the head of the log at stop; they catch up at the next start", "err", err)
	}
}

// settleAtStop bounds settleReadModels.
const settleAtStop = 5 * time.Second

// projectionsFor lists the read models the server keeps.
func projectionsFor(registry *eventstore.Registry) []projections.Projection {
	return all.Projections(registry)
}

// readOnly refuses every request that could change something with 503 and
// reason, so a replayed or read-only data directory answers the API's reads
// and nothing else. /healthz says why in its readOnly field.
func readOnly(next http.Handler, reason string) http.Handler {
	refusal, _ := json.Marshal(struct {
		Success bool   `json:"success"`
		Error   string `json:"error"`
	}{false, reason})
	type health struct {
		Status   string `json:"status"`
		ReadOnly string `json:"readOnly"`
	}
	healthy, _ := json.Marshal(struct {
		Success bool   `json:"success"`
		Data    health `json:"data"`
	}{true, health{"ok", reason}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write(append(healthy, '\n'))
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(append(refusal, '\n'))
	})
}

// storageCheck asks the event log, the read-model database and the
// integration database (when it is not the read models) for a trifle each
// and says which does not answer, or which of dirs (storageDirs) has no
// room left to write, for /readyz and /healthz.
func storageCheck(store eventstore.Store, readDB, integDB *projections.DB, dirs []string) func(context.Context) error {
	oneLine := func(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
	return func(ctx context.Context) error {
		var down []string
		if _, err := store.ReadAll(ctx, 0, 1, eventstore.Filter{}); err != nil {
			down = append(down, "event store (--eventstore) unavailable: "+oneLine(err))
		} else if t, ok := store.(interface{ Truncated() error }); ok && t.Truncated() != nil {
			// Events removed from the log's end under the server: it
			// refuses every append until an operator looks.
			down = append(down, "event store (--eventstore) refuses appends: "+oneLine(t.Truncated()))
		}
		readModelsErr := readDB.PingContext(ctx)
		if readModelsErr != nil {
			down = append(down, "read models (--readmodels) unavailable: "+oneLine(readModelsErr))
		}
		if integDB != readDB {
			// The forwarder and the webhook deliveries stop; requests
			// still serve.
			if err := integDB.PingContext(ctx); err != nil {
				down = append(down, "integration database unavailable: "+oneLine(err))
			}
		}
		if full := diskFull(dirs); full != "" {
			down = append(down, full)
		}
		switch {
		case len(down) == 0:
			return nil
		case readModelsErr != nil:
			// Every request authenticates against the read models.
			return httpapi.NotServing(errors.New(strings.Join(down, "; ")))
		default:
			// Reads still serve; commands answer 503.
			return errors.New(strings.Join(down, "; "))
		}
	}
}

// storageDirs are the directories the server writes files to: the data
// directory and those of SQLite stores placed elsewhere.
func storageDirs(cfg config) []string {
	dirs := []string{cfg.DataDir}
	addSQLite := func(kind, setting string) {
		if kind != backends.SQLite {
			return
		}
		if dir := filepath.Dir(backends.SQLitePath(setting)); !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	if kind, err := backends.EventStoreKind(cfg.EventStore); err == nil {
		addSQLite(kind, cfg.EventStore)
	}
	if kind, err := backends.ReadModelsKind(cfg.ReadModels); err == nil {
		addSQLite(kind, cfg.ReadModels)
	}
	return dirs
}

// noLeases is the Leaser of a server on a read-only data directory: it
// never grants a lease, so no worker (projections, forwarder) runs. The
// projections set loads the stored checkpoints at start
// (Set.LoadCheckpoints) and, where another server may move them
// (staticReadModels false), follows them under noLeases (RunLeased),
// which keeps WaitFor, Lag and /metrics working.
type noLeases struct{}

// staticReadModels reports whether the event store and the read models
// are both SQLite files, which on a read-only server nothing else
// writes: their checkpoints are read once, not followed.
func staticReadModels(cfg config) bool {
	es, err1 := backends.EventStoreKind(cfg.EventStore)
	rm, err2 := backends.ReadModelsKind(cfg.ReadModels)
	return err1 == nil && err2 == nil && es == backends.SQLite && rm == backends.SQLite
}

func (noLeases) Acquire(ctx context.Context, _ string) (projections.Lease, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// readOnlyWebhooks reads webhooks and their deliveries without delivering
// anything: delivering would post again what a writable server posts
// after the restart, and record nothing. The deliveries are read from
// deliveriesDB (integration.db, or the read models of an earlier version
// or on PostgreSQL). Nil when the deliveries table is missing (it cannot
// be created here): webhook routes then answer 404.
func readOnlyWebhooks(ctx context.Context, db, deliveriesDB *projections.DB, integration *bus.Bus, log *slog.Logger) *webhooks.Delivery {
	sub, err := integration.Subscriber("webhooks")
	if err == nil {
		noSecret := func(uuid.UUID) []byte { return nil } // nothing is signed: nothing is sent
		var d *webhooks.Delivery
		if d, err = webhooks.NewDelivery(ctx, db, integration.Publisher(), sub, noSecret, webhooks.WithLogger(log),
			webhooks.WithDeliveriesDB(deliveriesDB)); err == nil {
			return d
		}
	}
	log.Warn("webhooks cannot be read on this read-only data directory", "err", err)
	return nil
}

// warnIfBehind logs when the read models lag the log on a read-only data
// directory (after a crash, say): they cannot catch up until it is
// writable, and reads answer from what they hold.
func warnIfBehind(ctx context.Context, set *projections.Set, log *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(2 * time.Second):
	}
	if set.Ready() {
		return
	}
	lag, head, err := set.Lag(ctx)
	log.Warn("read models are behind the event log and cannot catch up while the data directory is read-only; reads answer from what they hold",
		"head", head, "lag", lag, "err", err)
}

// timeouts bound how long a client may take over each part of a request,
// so slow clients cannot hold connections open forever.
type timeouts struct {
	readHeader, read, write, idle time.Duration
}

// serverTimeouts are the server's: a request's headers within 10 s, its
// body within 2 min (a 64 MiB firmware image on a slow link), its answer
// within 5 min (an audit export), and 2 min idle between requests.
var serverTimeouts = timeouts{readHeader: 10 * time.Second, read: 2 * time.Minute, write: 5 * time.Minute, idle: 2 * time.Minute}

// newHTTPServer is the HTTP server of handler with the timeouts t.
func newHTTPServer(handler http.Handler, log *slog.Logger, t timeouts) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// commandsWaiter waits for the read models of the commands' lane.
type commandsWaiter struct{ set *projections.Set }

func (w commandsWaiter) WaitFor(ctx context.Context, position uint64) error {
	return w.set.WaitForCommands(ctx, position)
}
