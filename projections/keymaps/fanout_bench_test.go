package keymaps_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/readmodeltest"
)

type world struct {
	store    *sqlite.Store
	db       *projections.DB
	registry *eventstore.Registry
	set      *projections.Set
	account  uuid.UUID
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	dir := tb.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	db := readmodeltest.Open(ctx, tb, filepath.Join(dir, "read.db"))
	reg := eventstore.NewRegistry()
	for _, evs := range [][]domain.Event{property.Events(), area.Events(), group.Events(), device.Events(), lock.Events()} {
		for _, e := range evs {
			reg.Register(e)
		}
	}
	r, err := projections.NewRunner(db, store, reg, keymaps.New(), slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	set := projections.NewSet(store, r)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done; db.Close(); store.Close() })
	return &world{store: store, db: db, registry: reg, set: set, account: uuid.New()}
}

// emit appends events to a stream and returns the last position.
func (w *world) emit(tb testing.TB, stream string, evs ...domain.Event) uint64 {
	tb.Helper()
	var data []eventstore.EventData
	for _, e := range evs {
		d, err := w.registry.Encode(uuid.New(), e, eventstore.Metadata{OccurredAt: time.Now()})
		if err != nil {
			tb.Fatal(err)
		}
		data = append(data, d)
	}
	res, err := w.store.Append(context.Background(), stream, eventstore.Any, data...)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Position
}

func (w *world) wait(tb testing.TB, pos uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.set.WaitFor(ctx, pos); err != nil {
		tb.Fatal(err)
	}
}

// lobbyWorld is a property with one common area and a user with a phone
// who is in no group yet.
type lobbyWorld struct{ prop, area, group, user, device uuid.UUID }

func (w *world) lobby(tb testing.TB) lobbyWorld {
	tb.Helper()
	l := lobbyWorld{prop: uuid.New(), area: uuid.New(), group: uuid.New(), user: uuid.New(), device: uuid.New()}
	w.emit(tb, "property-"+l.prop.String(), property.PropertyCreated{PropertyID: l.prop, AccountID: w.account, DisplayName: "P", Timezone: "UTC"})
	w.emit(tb, "area-"+l.area.String(), area.AreaCreated{AreaID: l.area, AccountID: w.account, PropertyID: l.prop, DisplayName: "Lobby", AreaType: area.TypeCommon, AreaUserGroupID: l.group})
	pub, enc := keys(tb)
	w.emit(tb, "device-"+l.device.String(), device.UserDeviceProvisioned{UserDeviceID: l.device, AccountID: w.account, UserID: l.user, DeviceType: device.IOS, PublicKey: pub, EncryptionPublicKey: enc, AccessKeyID: uuid.New()})
	return l
}

// installLock provisions a lock and installs it into an area of a
// property; it returns the lock and the position of the install.
func (w *world) installLock(tb testing.TB, propertyID, areaID uuid.UUID) (uuid.UUID, uint64) {
	tb.Helper()
	l := uuid.New()
	pub, enc := keys(tb)
	pos := w.emit(tb, "lock-"+l.String(),
		lock.LockProvisioned{LockID: l, AccountID: w.account, DisplayName: "door", PublicKey: pub, EncryptionPublicKey: enc},
		lock.LockInstalled{LockID: l, AccountID: w.account, PropertyID: propertyID, AreaID: areaID})
	return l, pos
}

func keys(tb testing.TB) (string, string) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
}

// BenchmarkFanOut1000Locks: one membership change on an area with 1,000
// locks; each op is the time from the append's acknowledgement until all
// 1,000 key maps are at their new version.
func BenchmarkFanOut1000Locks(b *testing.B) {
	w := newWorld(b)
	lb := w.lobby(b)
	prop, grp, user := lb.prop, lb.group, lb.user
	var last uint64
	for range 1000 {
		_, last = w.installLock(b, prop, lb.area)
	}
	w.wait(b, last)

	var worst time.Duration
	member := false
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		var pos uint64
		if member {
			pos = w.emit(b, "group-"+grp.String(), group.UserRemovedFromGroup{UserGroupID: grp, AccountID: w.account, PropertyID: prop, UserID: user})
		} else {
			pos = w.emit(b, "group-"+grp.String(), group.UserAddedToGroup{UserGroupID: grp, AccountID: w.account, PropertyID: prop, UserID: user})
		}
		member = !member
		w.wait(b, pos)
		worst = max(worst, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")

	var versions, locks int
	if err := w.db.QueryRow(`SELECT COUNT(*), MIN(version) FROM km_locks`).Scan(&locks, &versions); err != nil {
		b.Fatal(err)
	}
	if locks != 1000 || versions < 1 {
		b.Fatalf("%d locks at min version %d", locks, versions)
	}
}
