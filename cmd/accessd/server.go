package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/eventstore"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/queries"
)

// run wires the embedded server and serves until ctx ends, then shuts down
// in order: stop accepting, finish in-flight requests, stop projections at a
// checkpoint, close the stores.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	rawStore, err := backends.OpenEventStore(ctx, cfg.EventStore, log)
	if err != nil {
		return err
	}
	defer rawStore.Close()
	store := newObservedStore(rawStore, reg)

	readDB, err := backends.OpenReadModels(ctx, cfg.ReadModels)
	if err != nil {
		return err
	}
	defer readDB.Close()
	plainLeases, err := backends.OpenLeases(ctx, cfg.ReadModels, log)
	if err != nil {
		return err
	}
	leases := newObservedLeases(plainLeases, reg)
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
	secretKey, err := loadOrCreateSecret(cfg.DataDir, "command.key", 32)
	if err != nil {
		return fmt.Errorf("command key: %w", err)
	}
	service, err := commands.NewService(pipeline, secretKey)
	if err != nil {
		return err
	}
	service.SetCounts(queries.NewEntities(readDB))
	service.SetMemberships(queries.NewMemberships(readDB))
	service.SetBookingOverlaps(queries.NewBookings(readDB))
	service.OnUserDeleted(service.RemoveUserFromAllGroups)
	service.OnUserDeleted(service.RemoveUserFromAllProperties)
	if cfg.BootstrapKey != "" && !cfg.ReadOnly {
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
	personal, err := backends.OpenPersonalData(ctx, cfg.ReadModels, filepath.Join(cfg.DataDir, "personal-keys.db"))
	if err != nil {
		return err
	}
	defer personal.Close()
	service.SetPersonalData(personal)
	service.SetUserDevices(queries.NewUserDevices(queries.NewEntities(readDB), set))
	reg.MustRegister(newLagCollector(set))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", cfg.Addr, err)
	}
	seed, err := loadOrCreateSecret(cfg.DataDir, "server-signing.key", ed25519.SeedSize)
	if err != nil {
		return fmt.Errorf("server signing key: %w", err)
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
	hooks, err := startWebhooks(projCtx, readDB, integration, cfg.Bus, service, set, log)
	if err != nil {
		return err
	}
	defer hooks.Close()
	handler := httpapi.NewRouter(httpapi.Options{
		Audit:    audit,
		Signer:   httpapi.NewSigner(ed25519.NewKeyFromSeed(seed)),
		Commands: service, Entities: queries.NewEntities(readDB), Events: queries.NewEvents(readDB), KeyMaps: queries.NewKeyMaps(readDB),
		Reprocessor: set, Waiter: set,
		Ready: set.Ready, Gatherer: reg, Metrics: httpapi.NewMetrics(reg), Log: log,
		PersonalData: personal,
		Firmware:     queries.NewFirmware(readDB), FirmwareDir: filepath.Join(cfg.DataDir, "firmware"),
		LockSyncs: lockSyncs, AccessLogs: queries.NewAccessLogs(readDB), Activity: queries.NewActivity(readDB), Calendar: queries.NewCalendar(readDB),
		Bookings: queries.NewBookings(readDB),
		Webhooks: hooks.delivery,
	})
	if cfg.ReadOnly {
		handler = readOnly(handler)
	}
	srv := newHTTPServer(handler, log, serverTimeouts)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := set.RunLeased(projCtx, leases); err != nil {
			log.Error("projections stopped", "err", err)
		}
	}()
	forwarder, err := bus.NewForwarder(store, readDB, integration.Publisher(), log)
	if err != nil {
		stopProjections()
		wg.Wait()
		return err
	}
	reg.MustRegister(newForwarderLagCollector(forwarder))
	wg.Add(1)
	go func() {
		defer wg.Done()
		runLeased(projCtx, leases, "forwarder", log, forwarder.Run)
	}()
	scheduler, err := commands.NewBookingScheduler(service, queries.NewBookings(readDB), log)
	if err != nil {
		stopProjections()
		wg.Wait()
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if !cfg.ReadOnly { // the scheduler appends to the log
			runLeased(projCtx, leases, "booking-scheduler", log, func(ctx context.Context) error {
				scheduler.Run(ctx, 10*time.Second, set.Ready)
				return nil
			})
		}
	}()

	wg.Add(1)
	go func() {
		defer wg.Done()
		if cfg.ReadOnly { // the sealer appends to the log
			return
		}
		runLeased(projCtx, leases, "sealer", log, sealer.Run)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("accessd listening", "addr", ln.Addr().String(), "dataDir", cfg.DataDir,
		"eventstore", backends.Redact(cfg.EventStore), "readmodels", backends.Redact(cfg.ReadModels), "bus", backends.Redact(cfg.Bus), "readOnly", cfg.ReadOnly)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		stopProjections()
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	hooks.Close()
	stopProjections()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("accessd stopped cleanly")
	return nil
}

// projectionsFor lists the read models the server keeps.
func projectionsFor(registry *eventstore.Registry) []projections.Projection {
	return all.Projections(registry)
}

// readOnly refuses every request that could change something with 503, so
// a replayed data directory answers the API's reads and nothing else.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"success":false,"error":"read-only server (accessd --read-only): it serves a replayed data directory and accepts no changes"}` + "\n"))
	})
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
