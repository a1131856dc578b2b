package queries_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/auditindex"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

// auditSeed appends a property with a building of flats, users with
// devices and memberships, and one audited lock, then fills the log up to
// n events with access logs of other locks and membership churn on other
// flats. It returns the audited lock.
func auditSeed(ctx context.Context, tb testing.TB, store eventstore.Store, reg *eventstore.Registry, n int) uuid.UUID {
	account, prop := uuid.New(), uuid.New()
	total := 0
	add := func(stream string, evs ...eventstore.TypedEvent) {
		data := make([]eventstore.EventData, 0, len(evs))
		for _, e := range evs {
			d, err := reg.Encode(uuid.New(), e, eventstore.Metadata{AccountID: account.String(), APIKeyID: account.String(), OccurredAt: time.Now().UTC()})
			if err != nil {
				tb.Fatal(err)
			}
			data = append(data, d)
		}
		if _, err := store.Append(ctx, stream, eventstore.Any, data...); err != nil {
			tb.Fatal(err)
		}
		total += len(evs)
	}
	add("property-"+prop.String(), property.PropertyCreated{PropertyID: prop, AccountID: account, DisplayName: "p", Timezone: "Europe/Madrid"})
	building, buildingGroup := uuid.New(), uuid.New()
	add("area-"+building.String(), area.AreaCreated{AreaID: building, AccountID: account, PropertyID: prop, DisplayName: "b", AreaUserGroupID: buildingGroup})
	const flats = 100
	flatIDs, flatGroups := make([]uuid.UUID, flats), make([]uuid.UUID, flats)
	for i := range flats {
		flatIDs[i], flatGroups[i] = uuid.New(), uuid.New()
		add("area-"+flatIDs[i].String(), area.AreaCreated{AreaID: flatIDs[i], AccountID: account, PropertyID: prop, DisplayName: "f",
			ParentAreaID: building, AreaUserGroupID: flatGroups[i]})
	}
	staff := uuid.New()
	const users = 300
	userIDs := make([]uuid.UUID, users)
	for i := range users {
		userIDs[i] = uuid.New()
		d := uuid.New()
		add("userdevice-"+d.String(), device.UserDeviceProvisioned{UserDeviceID: d, AccountID: account, UserID: userIDs[i], AccessKeyID: uuid.New(), PublicKey: "k"})
		g := flatGroups[i%flats]
		if i%3 == 0 {
			g = staff
		}
		add("usergroup-"+g.String(), group.UserAddedToGroup{UserGroupID: g, AccountID: account, PropertyID: prop, UserID: userIDs[i]})
	}
	// The grant comes last, so the key-map projection computes the
	// building once.
	add("area-"+building.String(), area.AreaAccessListChanged{AreaID: building, AccountID: account, PropertyID: prop,
		AccessList: []area.AccessEntry{{AccessType: area.AccessGroup, UserGroupID: staff}}, AccessListVersion: 1})
	target := uuid.New()
	add("lock-"+target.String(), lock.LockProvisioned{LockID: target, AccountID: account, DisplayName: "door", PublicKey: "k"},
		lock.LockInstalled{LockID: target, AccountID: account, PropertyID: prop, AreaID: flatIDs[0]})
	others := make([]uuid.UUID, 50)
	for i := range others {
		others[i] = uuid.New()
	}
	for i := 0; total < n; i++ {
		l := others[i%len(others)]
		if i%5 == 0 {
			l = target
		}
		batch := make([]eventstore.TypedEvent, 0, 500)
		for range min(500, n-total) {
			batch = append(batch, lock.LockAccessLogged{LockAccessLogID: uuid.New(), LockID: l, AccountID: account, PropertyID: prop,
				UserID: userIDs[i%users], AccessDate: time.Now().UTC(), Result: lock.Granted})
		}
		add("accesslog-"+l.String(), batch...)
		if total < n && i%10 == 0 {
			g := flatGroups[1+i%(flats-1)]
			add("usergroup-"+g.String(), group.UserGroupMembershipChanged{UserGroupID: g, AccountID: account, PropertyID: prop, UserID: userIDs[i%users]})
		}
	}
	return target
}

// BenchmarkAuditLockAccessAt: who could open one lock, over a log of
// 1,000,000 events (20,000 with -short); the target is 200 ms.
func BenchmarkAuditLockAccessAt(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 20_000
	}
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	db := readmodeltest.Open(ctx, b, filepath.Join(dir, "readmodels.db"))
	defer db.Close()
	reg := commands.NewRegistry()
	start := time.Now()
	target := auditSeed(ctx, b, store, reg, n)
	seeded := time.Since(start)
	runner, err := projections.NewRunner(db, store, reg, auditindex.New(reg), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	keyMaps, err := projections.NewRunner(db, store, reg, keymaps.New(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	set := projections.NewSet(store, runner, keyMaps)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = set.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	head, err := store.HeadPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if err := set.WaitFor(ctx, head); err != nil {
		b.Fatal(err)
	}
	indexed := time.Since(start)
	b.Logf("%d events: seeded in %v, indexed in %v (%.0f events/s)", head, seeded, indexed, float64(head)/indexed.Seconds())
	audit, err := queries.NewAudit(db, store, reg)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC()
	got, err := audit.LockAccessAt(ctx, target, at)
	if err != nil {
		b.Fatal(err)
	}
	// 100 staff members granted on the building, 2 members of the flat.
	if len(got.Entries) != 102 {
		b.Fatalf("entries: %d, want 102", len(got.Entries))
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := audit.LockAccessAt(ctx, target, at); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/question")
}

// BenchmarkAuditIndex: how fast the audit index projection alone follows
// the log (reported as events/s).
func BenchmarkAuditIndex(b *testing.B) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	ctx := context.Background()
	for b.Loop() {
		dir := b.TempDir()
		store, err := sqlite.Open(filepath.Join(dir, "events.db"))
		if err != nil {
			b.Fatal(err)
		}
		db := readmodeltest.Open(ctx, b, filepath.Join(dir, "readmodels.db"))
		reg := commands.NewRegistry()
		auditSeed(ctx, b, store, reg, n)
		runner, err := projections.NewRunner(db, store, reg, auditindex.New(reg), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		set := projections.NewSet(store, runner)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		head, _ := store.HeadPosition(ctx)
		start := time.Now()
		go func() { defer close(done); _ = set.Run(runCtx) }()
		if err := set.WaitFor(ctx, head); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(head)/time.Since(start).Seconds(), "events/s")
		cancel()
		<-done
		db.Close()
		store.Close()
	}
}
