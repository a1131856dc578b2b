package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/box"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore/sqlite"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/accesslogs"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

// lsBenchServer is the part of the server a lock sync uses, over real
// SQLite and real HTTP, for benchmarks (the harness takes a *testing.T).
func lsBenchServer(b *testing.B) (*httptest.Server, *sqlite.Store) {
	b.Helper()
	dir := b.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	db := readmodeltest.Open(ctx, b, filepath.Join(dir, "readmodels.db"))
	registry := commands.NewRegistry()
	pipeline, err := commands.NewPipeline(store, registry, time.Now)
	require.NoError(b, err)
	service, err := commands.NewService(pipeline, bytes.Repeat([]byte{7}, 32))
	require.NoError(b, err)
	service.SetCounts(queries.NewEntities(db))
	log := slog.New(slog.DiscardHandler)
	var runners []*projections.Runner
	for _, p := range []projections.Projection{entities.New(), keymaps.New(), accesslogs.New()} {
		r, err := projections.NewRunner(db, store, registry, p, log)
		require.NoError(b, err)
		runners = append(runners, r)
	}
	set := projections.NewSet(store, runners...)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	_, err = service.Bootstrap(ctx, rootKey)
	require.NoError(b, err)
	head, err := store.HeadPosition(ctx)
	require.NoError(b, err)
	require.NoError(b, set.WaitFor(ctx, head))
	lockSyncs, err := commands.NewLockSyncs(service, queries.NewKeyMaps(db))
	require.NoError(b, err)
	reg := prometheus.NewRegistry()
	router := httpapi.NewRouter(httpapi.Options{
		Signer:   httpapi.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))),
		Commands: service, Entities: queries.NewEntities(db), Events: queries.NewEvents(db), KeyMaps: queries.NewKeyMaps(db),
		Reprocessor: set, Waiter: set, Ready: set.Ready, Gatherer: reg, Metrics: httpapi.NewMetrics(reg), Log: log,
		LockSyncs: lockSyncs, AccessLogs: queries.NewAccessLogs(db),
	})
	srv := httptest.NewServer(router)
	b.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		db.Close()
		store.Close()
	})
	return srv, store
}

// lsBenchCall sends one request and decodes the envelope's data.
func lsBenchCall(b *testing.B, c *http.Client, method, url, key string, headers map[string]string, body []byte, want int) json.RawMessage {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("x-api-key", key)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		b.Fatal(err)
	}
	return env.Data
}

// BenchmarkLockSyncUnchanged measures lock syncs per second when nothing
// changed: 100 locks installed in an area whose key map has an entry, each
// already holding the current version, sync again and again with
// signed bodies (signed beforehand, as the locks would). Each sync checks
// the lock's signature, loads the lock, reads its key map and signs the
// answer. The target is at least 2,000 syncs/s.
func BenchmarkLockSyncUnchanged(b *testing.B) {
	srv, _ := lsBenchServer(b)
	c := srv.Client()
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	call := func(method, path, key string, body any, want int) map[string]any {
		raw, err := json.Marshal(body)
		if err != nil {
			b.Fatal(err)
		}
		if body == nil {
			raw = nil
		}
		var out map[string]any
		_ = json.Unmarshal(lsBenchCall(b, c, method, srv.URL+path, key, nil, raw, want), &out)
		return out
	}
	property := call("POST", "/properties", rootKey, map[string]any{"displayName": "Bench"}, http.StatusCreated)["propertyId"].(string)
	area := call("POST", "/properties/"+property+"/areas", rootKey, map[string]any{"displayName": "Hall", "areaType": "common"}, http.StatusCreated)
	areaID, group := area["areaId"].(string), area["areaUserGroupId"].(string)
	user := call("POST", "/users", rootKey, map[string]any{"displayName": "Guest", "userPermissions": []any{}}, http.StatusCreated)["userId"].(string)
	devPub, _, _ := ed25519.GenerateKey(rand.Reader)
	devEnc, _, _ := box.GenerateKey(rand.Reader)
	call("POST", "/users/"+user+"/devices", rootKey, deviceBody("phone", base64.StdEncoding.EncodeToString(devPub), base64.StdEncoding.EncodeToString(devEnc[:])), http.StatusCreated)
	call("POST", "/properties/"+property+"/groups/"+group+"/users/"+user, rootKey, nil, http.StatusOK)

	type benchLock struct {
		url, key string
		headers  map[string]string
		body     []byte
	}
	locks := make([]benchLock, 100)
	for i := range locks {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		enc, _, _ := box.GenerateKey(rand.Reader)
		l := call("POST", "/locks", rootKey, map[string]any{"displayName": fmt.Sprintf("door %d", i),
			"publicKey": base64.StdEncoding.EncodeToString(pub), "encryptionPublicKey": base64.StdEncoding.EncodeToString(enc[:])}, http.StatusCreated)
		id := l["lockId"].(string)
		call("PUT", installPath(property, areaID, id), rootKey, nil, http.StatusOK)
		body := []byte(`{"syncDate":"` + time.Now().UTC().Format(time.RFC3339) + `","currentFirmwareVersion":"1.0.0","currentKeyMapVersion":1,"accessLogs":[]}`)
		locks[i] = benchLock{url: srv.URL + "/locks/" + id + "/sync", key: l["private"].(map[string]any)["apiKey"].(string),
			headers: map[string]string{"x-lock-signature": base64.StdEncoding.EncodeToString(ed25519.Sign(priv, body))}, body: body}
		// The first sync is recorded; the following ones change nothing.
		out := lsBenchCall(b, c, "PUT", locks[i].url, locks[i].key, locks[i].headers, body, http.StatusOK)
		if bytes.Contains(out, []byte("encryptedKeyMapEntries")) {
			b.Fatalf("lock %d does not hold the current key map: %s", i, out)
		}
	}

	b.SetParallelism(8)
	next := make(chan int, 1)
	next <- 0
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := <-next
		next <- i + 1
		for pb.Next() {
			l := locks[i%len(locks)]
			i += 7
			lsBenchCall(b, c, "PUT", l.url, l.key, l.headers, l.body, http.StatusOK)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "syncs/s")
}
