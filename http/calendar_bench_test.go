package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/calendar"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

// calBench is the part of the server the calendar routes use (property
// documents and the calendar read model) over real SQLite and real HTTP,
// with the store to seed it in bulk.
type calBench struct {
	srv      *httptest.Server
	store    *sqlite.Store
	registry *eventstore.Registry
	set      *projections.Set
	account  uuid.UUID
}

func newCalBench(b *testing.B) *calBench {
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
	log := slog.New(slog.DiscardHandler)
	var runners []*projections.Runner
	for _, p := range []projections.Projection{entities.New(), calendar.New()} {
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
	require.NoError(b, set.WaitFor(ctx, head)) // the root key, for the first request
	reg := prometheus.NewRegistry()
	router := httpapi.NewRouter(httpapi.Options{
		Signer:   httpapi.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))),
		Commands: service, Entities: queries.NewEntities(db), Events: queries.NewEvents(db), KeyMaps: queries.NewKeyMaps(db),
		Reprocessor: set, Waiter: set, Ready: set.Ready, Gatherer: reg, Metrics: httpapi.NewMetrics(reg), Log: log,
		Calendar: queries.NewCalendar(db),
	})
	srv := httptest.NewServer(router)
	b.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		db.Close()
		store.Close()
	})
	c := &calBench{srv: srv, store: store, registry: registry, set: set}
	var acc struct {
		AccountID uuid.UUID `json:"accountId"`
	}
	require.NoError(b, json.Unmarshal(lsBenchCall(b, srv.Client(), "GET", srv.URL+"/account", rootKey, nil, nil, http.StatusOK), &acc))
	c.account = acc.AccountID
	return c
}

// seed appends each event to its own new stream from 32 writers (the
// store commits concurrent appends together) and waits for the read
// models: thousands of HTTP calls would take minutes.
func (c *calBench) seed(b *testing.B, streams map[string]eventstore.TypedEvent) {
	b.Helper()
	type item struct {
		stream string
		data   eventstore.EventData
	}
	work := make(chan item)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last uint64
	var failed error
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				res, err := c.store.Append(context.Background(), it.stream, eventstore.NoStream, it.data)
				mu.Lock()
				if err != nil && failed == nil {
					failed = err
				}
				last = max(last, res.Position)
				mu.Unlock()
			}
		}()
	}
	for stream, e := range streams {
		d, err := c.registry.Encode(uuid.New(), e, eventstore.Metadata{OccurredAt: time.Now()})
		require.NoError(b, err)
		work <- item{stream, d}
	}
	close(work)
	wg.Wait()
	require.NoError(b, failed)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(b, c.set.WaitFor(ctx, last))
}

// latencies runs GET url once per iteration and reports p50 and p99 in
// milliseconds of the time from sending the request to the body's last
// byte (decoding the answer, the client's work, is not counted). Each
// answer must hold at least minItems items.
func (c *calBench) latencies(b *testing.B, url string, minItems int) {
	client := c.srv.Client()
	var took []time.Duration
	var body bytes.Buffer
	b.ResetTimer()
	for b.Loop() {
		req, err := http.NewRequest("GET", url, nil)
		require.NoError(b, err)
		req.Header.Set("x-api-key", rootKey)
		body.Reset()
		t0 := time.Now()
		resp, err := client.Do(req)
		require.NoError(b, err)
		_, err = body.ReadFrom(resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(t0))
		require.NoError(b, err)
		var out struct {
			Data struct {
				Items []json.RawMessage `json:"items"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body.Bytes(), &out); err != nil || resp.StatusCode != http.StatusOK || len(out.Data.Items) < minItems {
			b.Fatalf("status %d, %d items, %v", resp.StatusCode, len(out.Data.Items), err)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkHTTPPropertyCalendarMonth: GET /properties/{id}/calendar for
// one month of a property with 10,000 bookings spread over about three
// and a half years (a new stay every three hours, each three days long).
// Target: p99 under 10 ms.
func BenchmarkHTTPPropertyCalendarMonth(b *testing.B) {
	c := newCalBench(b)
	var p struct {
		PropertyID string `json:"propertyId"`
	}
	body := []byte(`{"displayName":"Bench"}`)
	require.NoError(b, json.Unmarshal(lsBenchCall(b, c.srv.Client(), "POST", c.srv.URL+"/properties", rootKey, nil, body, http.StatusCreated), &p))
	propertyID := uuid.MustParse(p.PropertyID)
	base := time.Date(2025, 1, 1, 15, 0, 0, 0, time.UTC)
	streams := map[string]eventstore.TypedEvent{}
	for i := range 10_000 {
		id := uuid.New()
		start := base.Add(time.Duration(i) * 3 * time.Hour)
		streams["booking-"+id.String()] = booking.BookingCreated{BookingID: id, AccountID: c.account, PropertyID: propertyID,
			AreaID: uuid.New(), AreaUserGroupID: uuid.New(), GuestUserID: uuid.New(),
			StartDateTime: start, EndDateTime: start.Add(3 * 24 * time.Hour), Source: "web"}
	}
	c.seed(b, streams)
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	url := c.srv.URL + "/properties/" + p.PropertyID + "/calendar?from=" + from.Format(time.RFC3339) + "&to=" + from.AddDate(0, 1, 0).Format(time.RFC3339)
	c.latencies(b, url, 600)
}

// BenchmarkHTTPUpcomingCalendar: GET /calendar/upcoming (14 days) for an
// owner of 1,000 properties with ten bookings each, a stay every five
// days (about 4,000 items answered). Target: p99 under 50 ms.
func BenchmarkHTTPUpcomingCalendar(b *testing.B) {
	c := newCalBench(b)
	now := time.Now().UTC()
	streams := map[string]eventstore.TypedEvent{}
	for n := range 1000 {
		propertyID := uuid.New()
		streams["property-"+propertyID.String()] = property.PropertyCreated{PropertyID: propertyID, AccountID: c.account,
			DisplayName: "Bench", Timezone: "UTC", AccessManagerIDs: []uuid.UUID{}}
		for i := range 10 {
			id := uuid.New()
			start := now.Add(time.Duration(n%24)*time.Hour + time.Duration(i)*5*24*time.Hour - 20*24*time.Hour)
			streams["booking-"+id.String()] = booking.BookingCreated{BookingID: id, AccountID: c.account, PropertyID: propertyID,
				AreaID: uuid.New(), AreaUserGroupID: uuid.New(), GuestUserID: uuid.New(),
				StartDateTime: start, EndDateTime: start.Add(3 * 24 * time.Hour), Source: "web"}
		}
	}
	c.seed(b, streams)
	c.latencies(b, c.srv.URL+"/calendar/upcoming?days=14", 1000)
}
