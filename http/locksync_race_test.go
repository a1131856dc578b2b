package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/accesslogs"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

// secondServer is another accessd process over the harness's event store:
// its own pipeline, command service, lock syncs (and so its own stripe
// locks) and read models, as a second API node of a deployment is.
func (h *harness) secondServer() *httptest.Server {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db := readmodeltest.Open(ctx, h.t, filepath.Join(h.t.TempDir(), "readmodels.db"))
	registry := commands.NewRegistry()
	pipeline, err := commands.NewPipeline(h.store, registry, time.Now)
	require.NoError(h.t, err)
	service, err := commands.NewService(pipeline, bytes.Repeat([]byte{7}, 32))
	require.NoError(h.t, err)
	service.SetCounts(queries.NewEntities(db))
	log := slog.New(slog.DiscardHandler)
	var runners []*projections.Runner
	for _, p := range []projections.Projection{entities.New(), keymaps.New(), accesslogs.New()} {
		r, err := projections.NewRunner(db, h.store, registry, p, log)
		require.NoError(h.t, err)
		runners = append(runners, r)
	}
	set := projections.NewSet(h.store, runners...)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	head, err := h.store.HeadPosition(ctx)
	require.NoError(h.t, err)
	require.NoError(h.t, set.WaitFor(ctx, head))
	lockSyncs, err := commands.NewLockSyncs(service, queries.NewKeyMaps(db))
	require.NoError(h.t, err)
	reg := prometheus.NewRegistry()
	router := httpapi.NewRouter(httpapi.Options{
		Signer:   httpapi.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))),
		Commands: service, Entities: queries.NewEntities(db), Events: queries.NewEvents(db), KeyMaps: queries.NewKeyMaps(db),
		Reprocessor: set, Waiter: set, Ready: set.Ready, Gatherer: reg, Metrics: httpapi.NewMetrics(reg), Log: log,
		LockSyncs: lockSyncs, AccessLogs: queries.NewAccessLogs(db),
	})
	srv := httptest.NewServer(router)
	h.t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		db.Close()
	})
	return srv
}

// syncTo sends a signed sync of the lock to a server; it returns the
// accepted entry ids, or an error (no require: it runs in goroutines).
func syncTo(client *http.Client, url string, l lsLock, logs []map[string]any) ([]string, error) {
	body, err := json.Marshal(map[string]any{"syncDate": time.Now().UTC().Format(time.RFC3339),
		"currentFirmwareVersion": "1.0.0", "currentKeyMapVersion": 1, "accessLogs": logs})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest("PUT", url+"/locks/"+l.ID+"/sync", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", l.APIKey)
	req.Header.Set("x-lock-signature", base64.StdEncoding.EncodeToString(ed25519.Sign(l.sign, body)))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sync answered %d: %s", resp.StatusCode, raw)
	}
	var out struct {
		Data lsSyncOut `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out.Data.AcceptedAccessLogIDs, nil
}

// Two API nodes over one event store take syncs of the same lock at once,
// and the lock sends some entries to both (a retry after a lost answer).
// Every access-log event must chain to the one before it in the stream, as
// `accessctl verify` checks, and every entry must be stored exactly once.
func TestLockSyncAccessLogChainAcrossServers(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	other := h.secondServer()
	servers := []string{h.srv.URL, other.URL}

	const syncers, rounds, perSync = 8, 6, 3
	base := time.Now().UTC().Add(-time.Hour)
	var (
		mu   sync.Mutex
		sent = map[string]bool{}
		wg   sync.WaitGroup
		errs = make(chan error, syncers*rounds*2)
	)
	for g := range syncers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				var logs []map[string]any
				for i := range perSync {
					id := uuid.NewString()
					at := base.Add(time.Duration(g*1000+r*10+i) * time.Millisecond)
					logs = append(logs, lsEntry(s.lock.ID, s.phone, id, at, "granted"))
					mu.Lock()
					sent[id] = true
					mu.Unlock()
				}
				// Each sync goes to one server, and again to the other: the
				// same entries race on both nodes.
				var inner sync.WaitGroup
				for k := range 2 {
					inner.Add(1)
					go func() {
						defer inner.Done()
						accepted, err := syncTo(h.client, servers[(g+k)%2], s.lock, logs)
						if err == nil && len(accepted) != perSync {
							err = fmt.Errorf("accepted %d of %d entries", len(accepted), perSync)
						}
						if err != nil {
							errs <- err
						}
					}()
				}
				inner.Wait()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	ctx := context.Background()
	rep, err := seals.Verify(ctx, h.store, seals.VerifyOptions{Registry: commands.NewRegistry(), DensePositions: true})
	require.NoError(t, err)
	require.Nil(t, rep.Failure, "accessctl verify: %v", rep.Failure)

	lockID := uuid.MustParse(s.lock.ID)
	recs, err := h.store.ReadStream(ctx, lock.AccessLogStream(lockID), eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	stored := map[uuid.UUID]int{}
	for _, rec := range recs {
		stored[rec.ID]++
	}
	require.Len(t, recs, len(sent), "every entry stored once, none lost")
	for id := range sent {
		eid := lock.AccessLogEventID(lockID, uuid.MustParse(id))
		require.Equal(t, 1, stored[eid], "entry %s stored %d times", id, stored[eid])
	}
}
