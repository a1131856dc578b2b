package main

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
)

func seedCommand() command {
	return command{name: "seed", synopsis: "--events N [--workers W] [--data-dir DIR]",
		summary: "append a realistic data set (properties, areas, locks, users, devices, memberships, openings) through the command service",
		flags:   seedFlags}
}

// The shape of one seeded property: a building (common area) with units
// (resident areas) under it, a lock per area, users with a phone each, a
// membership of every user in the building's group and one unit's group.
const (
	seedUnits        = 4
	seedUsers        = 12
	seedOpeningsPer  = 200 // access attempts per lock sync
	seedStructureOne = 10  // one property's structure per this many events of N
)

func seedFlags(fs *flag.FlagSet, e env) action {
	dir := dataDirFlag(fs, e)
	n := fs.Int("events", 10000, "how many events to append (about)")
	workers := fs.Int("workers", 32, "concurrent appenders")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments: %s", strings.Join(args, " "))
		}
		if *n <= 0 || *workers <= 0 {
			return usagef("--events and --workers must be positive")
		}
		s, err := newSeeder(ctx, *dir)
		if err != nil {
			return err
		}
		defer s.close()
		start := time.Now()
		appended, err := s.run(ctx, uint64(*n), *workers, func(done uint64) {
			el := time.Since(start)
			fmt.Fprintf(e.stderr, "seed: %d events, %.0f events/s\n", done, float64(done)/el.Seconds())
		})
		el := time.Since(start)
		fmt.Fprintf(e.stdout, "seeded %d events in %s (%.0f events/s) into %s\n", appended, el.Round(time.Millisecond), float64(appended)/el.Seconds(), *dir)
		return err
	}
}

// seeder appends a data set as the account's owner.
type seeder struct {
	store   *sqlite.Store
	service *commands.Service
	syncs   *commands.LockSyncs
	history *seedHistory
	actor   domain.Actor
	start   uint64
}

// newSeeder opens (creating) the data directory's event store and acts as
// the owner of its first account (bootstrapped here if there is none).
func newSeeder(ctx context.Context, dir string) (*seeder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	store, err := sqlite.Open(filepath.Join(dir, eventsFile))
	if err != nil {
		return nil, err
	}
	d := &dataDir{path: dir, store: store}
	if d.pipeline, err = commands.NewPipeline(store, commands.NewRegistry(), time.Now); err != nil {
		store.Close()
		return nil, err
	}
	svc, err := d.service()
	if err != nil {
		store.Close()
		return nil, err
	}
	secret := make([]byte, 24)
	rand.Read(secret)
	if _, err := svc.Bootstrap(ctx, hex.EncodeToString(secret)); err != nil {
		store.Close()
		return nil, err
	}
	accountID, err := firstAccount(ctx, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	hist := &seedHistory{keys: map[uuid.UUID]access.Device{}}
	syncs, err := commands.NewLockSyncs(svc, hist)
	if err != nil {
		store.Close()
		return nil, err
	}
	head, err := store.HeadPosition(ctx)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &seeder{store: store, service: svc, syncs: syncs, history: hist, start: head,
		actor: domain.Actor{AccountID: accountID, Grants: []domain.Grant{{Permission: domain.PermOwner}}}}, nil
}

func (s *seeder) close() { s.store.Close() }

// firstAccount finds the first account created in the log.
func firstAccount(ctx context.Context, store eventstore.Store) (uuid.UUID, error) {
	var after uint64
	for {
		recs, err := store.ReadAll(ctx, after, 500, eventstore.Filter{})
		if err != nil {
			return uuid.Nil, err
		}
		if len(recs) == 0 {
			return uuid.Nil, errors.New("seed: the log has no account")
		}
		for _, r := range recs {
			if id, ok := strings.CutPrefix(r.Stream, "account-"); ok {
				return uuid.Parse(id)
			}
		}
		after = recs[len(recs)-1].Position
	}
}

// seedLock is a lock the seeder holds the private key of.
type seedLock struct {
	id   uuid.UUID
	priv ed25519.PrivateKey
	keys []uuid.UUID // access keys of devices that may open it
}

// run appends properties (each with its structure), then openings on their
// locks, from workers goroutines, until about n events were appended.
func (s *seeder) run(ctx context.Context, n uint64, workers int, progress func(uint64)) (uint64, error) {
	ctx = domain.WithActor(ctx, s.actor)
	properties := max(1, int(n/seedStructureOne)/(10*seedUsers))
	var (
		mu    sync.Mutex
		locks []seedLock
		errs  = make(chan error, workers)
	)
	done := func() uint64 {
		h, _ := s.store.HeadPosition(ctx)
		return h - s.start
	}
	stopProgress := s.every(ctx, 2*time.Second, func() { progress(done()) })
	defer stopProgress()

	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < properties; i = int(next.Add(1)) - 1 {
				ls, err := s.property(ctx, i)
				if err != nil {
					errs <- fmt.Errorf("seed property %d: %w", i, err)
					return
				}
				mu.Lock()
				locks = append(locks, ls...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return done(), err
	default:
	}

	// Openings: each worker syncs its own locks, so one lock's access log
	// has one writer.
	var remaining atomic.Int64
	remaining.Store(int64(n) - int64(done()))
	for w := 0; w < workers && w < len(locks); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), 42))
			for j := w; remaining.Load() > 0; j += workers {
				if j >= len(locks) {
					j = w
				}
				left := remaining.Add(-seedOpeningsPer) + seedOpeningsPer
				if left <= 0 {
					return
				}
				if err := s.openings(ctx, rng, locks[j], int(min(left, seedOpeningsPer))); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	select {
	case err := <-errs:
		return done(), err
	default:
	}
	return done(), nil
}

// every calls fn every d until the returned stop is called.
func (s *seeder) every(ctx context.Context, d time.Duration, fn func()) func() {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return cancel
}

// property creates one property and its structure through the commands.
func (s *seeder) property(ctx context.Context, i int) ([]seedLock, error) {
	p, err := s.service.CreateProperty(ctx, commands.CreateProperty{DisplayName: fmt.Sprintf("Property %d", i+1), Timezone: "Europe/Madrid"})
	if err != nil {
		return nil, err
	}
	building, err := s.service.CreateArea(ctx, commands.CreateArea{PropertyID: p.PropertyID, DisplayName: "Building", AreaType: area.TypeCommon})
	if err != nil {
		return nil, err
	}
	areas := []commands.NewArea{building}
	for u := 0; u < seedUnits; u++ {
		a, err := s.service.CreateArea(ctx, commands.CreateArea{PropertyID: p.PropertyID, DisplayName: fmt.Sprintf("Unit %d", u+1),
			AreaType: area.TypeResident, ParentAreaID: building.AreaID})
		if err != nil {
			return nil, err
		}
		areas = append(areas, a)
	}
	var locks []seedLock
	for j, a := range areas {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		l, err := s.service.ProvisionLock(ctx, commands.ProvisionLock{DisplayName: fmt.Sprintf("Door %d", j+1),
			PublicKey: base64.StdEncoding.EncodeToString(pub), EncryptionPublicKey: x25519Public()})
		if err != nil {
			return nil, err
		}
		if _, err := s.service.InstallLock(ctx, p.PropertyID, a.AreaID, l.LockID); err != nil {
			return nil, err
		}
		locks = append(locks, seedLock{id: l.LockID, priv: priv})
	}
	for u := 0; u < seedUsers; u++ {
		usr, err := s.service.CreateUser(ctx, commands.CreateUser{DisplayName: fmt.Sprintf("Resident %d.%d", i+1, u+1)})
		if err != nil {
			return nil, err
		}
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		dev, err := s.service.ProvisionDevice(ctx, usr.UserID, commands.ProvisionDevice{DeviceType: device.IOS, MakeModel: "iPhone 15",
			DisplayName: "Phone", PublicKey: base64.StdEncoding.EncodeToString(pub), EncryptionPublicKey: x25519Public()})
		if err != nil {
			return nil, err
		}
		unit := 1 + u%seedUnits
		for _, a := range []commands.NewArea{building, areas[unit]} {
			if _, err := s.service.AddMember(ctx, commands.AddMember{PropertyID: p.PropertyID, UserGroupID: a.AreaUserGroupID, UserID: usr.UserID}); err != nil {
				return nil, err
			}
		}
		s.history.add(s.actor.AccountID, access.Device{DeviceID: dev.UserDeviceID, UserID: usr.UserID, AccessKeyID: dev.AccessKeyID,
			PublicKey: base64.StdEncoding.EncodeToString(pub)})
		locks[0].keys = append(locks[0].keys, dev.AccessKeyID)
		locks[unit].keys = append(locks[unit].keys, dev.AccessKeyID)
	}
	if err := s.bookings(ctx, p.PropertyID, i, areas[1:]); err != nil {
		return nil, err
	}
	return locks, nil
}

// bookings books every unit for a guest: a stay under way, checked in
// (a membership until check-out) and with an access code, and one next
// month.
func (s *seeder) bookings(ctx context.Context, propertyID uuid.UUID, i int, units []commands.NewArea) error {
	guest, err := s.service.CreateUser(ctx, commands.CreateUser{DisplayName: fmt.Sprintf("Guest %d", i+1)})
	if err != nil {
		return err
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for k, u := range units {
		for _, start := range []time.Time{day.Add(-24 * time.Hour), day.Add(time.Duration(30+k) * 24 * time.Hour)} {
			b, err := s.service.CreateBooking(ctx, commands.CreateBooking{PropertyID: propertyID, AreaID: u.AreaID, GuestUserID: guest.UserID,
				StartDateTime: start.Add(15 * time.Hour), EndDateTime: start.Add(72*time.Hour + 11*time.Hour), Source: "web"})
			if err != nil {
				return fmt.Errorf("booking: %w", err)
			}
			if start.After(day) {
				continue
			}
			if _, err := s.service.CheckInBooking(ctx, b.BookingID, booking.MethodDoorAccess, guest.UserID); err != nil {
				return fmt.Errorf("check-in: %w", err)
			}
			if _, err := s.service.CreateAccessCode(ctx, b.BookingID, fmt.Sprintf("%06d", (i*10+k)%1000000)); err != nil {
				return fmt.Errorf("access code: %w", err)
			}
		}
	}
	return nil
}

// openings syncs one lock with count access attempts, as the lock would.
func (s *seeder) openings(ctx context.Context, rng *mrand.Rand, l seedLock, count int) error {
	if len(l.keys) == 0 {
		return nil
	}
	now := time.Now().UTC().Truncate(time.Second)
	in := commands.LockSync{Report: lock.Sync{SyncDate: now}}
	for k := 0; k < count; k++ {
		at := now.Add(-time.Duration(rng.IntN(90*24*3600)) * time.Second)
		a := lock.AccessAttempt{LockAccessLogID: uuid.New(), AccessDate: at, AccessDateAsSent: at.Format(time.RFC3339),
			AccessKeyID: l.keys[rng.IntN(len(l.keys))], Result: lock.Granted}
		if rng.IntN(20) == 0 {
			a.Result, a.DenyReason = lock.Denied, "outsideSchedule"
		}
		in.AccessLogs = append(in.AccessLogs, a)
	}
	body := []byte(uuid.NewString()) // what the lock signs; decoded below
	actor := domain.Actor{AccountID: s.actor.AccountID, LockID: l.id}
	_, err := s.syncs.SyncLock(domain.WithActor(ctx, actor), commands.SignedLockSync{LockID: l.id, Body: body,
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(l.priv, body))},
		func([]byte) (commands.LockSync, error) { return in, nil })
	if err != nil {
		return fmt.Errorf("seed openings on lock %s: %w", l.id, err)
	}
	return nil
}

func x25519Public() string {
	k, _ := ecdh.X25519().GenerateKey(rand.Reader)
	return base64.StdEncoding.EncodeToString(k.PublicKey().Bytes())
}

// seedHistory answers a lock sync's questions about credentials from what
// the seeder created: every device key is known; no key map is in force,
// so an opening is logged with the device it names.
type seedHistory struct {
	mu   sync.Mutex
	keys map[uuid.UUID]access.Device
}

func (h *seedHistory) add(accountID uuid.UUID, d access.Device) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keys[d.AccessKeyID] = d
}

func (h *seedHistory) KeyMapAt(context.Context, uuid.UUID, time.Time) (uint64, string, error) {
	return 0, "", nil
}

func (h *seedHistory) KeyMapEntries(context.Context, string) ([]access.Entry, error) { return nil, nil }

func (h *seedHistory) AccessKey(_ context.Context, _ uuid.UUID, id uuid.UUID) (access.Device, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d, ok := h.keys[id]
	return d, ok, nil
}
