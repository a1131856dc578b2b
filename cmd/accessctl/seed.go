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
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/queries"
)

func seedCommand() command {
	return command{name: "seed", synopsis: "--events N [--workers W] [--data-dir DIR] [--eventstore URL]",
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
	eventStore := eventStoreFlag(fs, e)
	n := fs.Int("events", 10000, "how many events to append (about)")
	workers := fs.Int("workers", 32, "concurrent appenders")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments: %s", strings.Join(args, " "))
		}
		if *n <= 0 || *workers <= 0 {
			return usagef("--events and --workers must be positive")
		}
		s, err := newSeeder(ctx, *dir, *eventStore)
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
		into := *dir
		if *eventStore != "" {
			into = backends.Redact(*eventStore)
		}
		fmt.Fprintf(e.stdout, "seeded %d events in %s (%.0f events/s) into %s\n", appended, el.Round(time.Millisecond), float64(appended)/el.Seconds(), into)
		// The seeded events name this key as their actor; the secret is
		// not kept anywhere, so this is the one chance to use it.
		fmt.Fprintf(e.stdout, "owner API key of account %s, shown this once (more: accessctl keys create --account %s --permission owner):\napiKeyId=%s\napiKey=%s\n",
			s.actor.AccountID, s.actor.AccountID, s.key.APIKeyID, s.key.Secret)
		return err
	}
}

// seeder appends a data set as the account's owner, through an owner API
// key it mints, as a client of the API would.
type seeder struct {
	store   eventstore.Store
	service *commands.Service
	syncs   *commands.LockSyncs
	// keyMaps is the keymaps projection, in a scratch database of the
	// seeder's own, that the syncs judge the openings against, as the
	// server's do: run caught up once the locks and memberships are in.
	keyMaps   *projections.Runner
	history   *seedKeyMaps
	scratch   *projections.DB
	scratchAt string
	actor     domain.Actor
	// key is the owner key the seeder acts with (its secret shown once).
	key   commands.NewAPIKey
	start uint64
}

// newSeeder opens the event store eventStore names (with none, the data
// directory's, created if need be) and acts as the owner of its first
// account (bootstrapped here if there is none).
func newSeeder(ctx context.Context, dir, eventStore string) (*seeder, error) {
	if err := refuseReplayCopy(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil { // as the server makes it
		return nil, err
	}
	if eventStore == "" {
		// A seed may start a data directory: its log is created here.
		eventStore = "sqlite:" + filepath.Join(dir, eventsFile)
	}
	d, err := openEventStoreAt(ctx, dir, eventStore)
	if err != nil {
		return nil, err
	}
	svc, err := d.service()
	if err != nil {
		d.Close()
		return nil, err
	}
	s := &seeder{store: d.store, service: svc}
	if err := s.open(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// open bootstraps the account if need be, mints the seeder's owner key and
// prepares the key-map history its syncs ask.
func (s *seeder) open(ctx context.Context) error {
	secret := make([]byte, 24)
	rand.Read(secret)
	if _, err := s.service.Bootstrap(s.request(ctx), hex.EncodeToString(secret)); err != nil {
		return err
	}
	accountID, err := firstAccount(ctx, s.store)
	if err != nil {
		return err
	}
	owner := domain.Actor{AccountID: accountID, Grants: []domain.Grant{{Permission: domain.PermOwner}}}
	if s.key, err = s.service.CreateAPIKey(s.request(domain.WithActor(ctx, owner)), commands.CreateAPIKey{
		DisplayName: "accessctl seed", Permissions: owner.Grants}); err != nil {
		return fmt.Errorf("seed: owner key: %w", err)
	}
	owner.APIKeyID = s.key.APIKeyID
	s.actor = owner
	if s.scratchAt, err = os.MkdirTemp("", "accessctl-seed-"); err != nil {
		return err
	}
	if s.scratch, err = projections.OpenSQLite(ctx, filepath.Join(s.scratchAt, readModelsFile)); err != nil {
		return err
	}
	registry := s.service.Pipeline().Registry()
	if s.keyMaps, err = projections.NewRunner(s.scratch, s.store, registry, keymaps.New(), slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	if err := s.keyMaps.Prepare(ctx); err != nil {
		return err
	}
	s.history = &seedKeyMaps{KeyMaps: queries.NewKeyMaps(s.scratch)}
	s.history.reset(time.Now())
	if s.syncs, err = commands.NewLockSyncs(s.service, s.history); err != nil {
		return err
	}
	s.start, err = s.store.HeadPosition(ctx)
	return err
}

func (s *seeder) close() {
	if s.scratch != nil {
		s.scratch.Close()
	}
	if s.scratchAt != "" {
		os.RemoveAll(s.scratchAt)
	}
	s.store.Close()
}

// request is ctx as one request of a client: its own correlation id, so
// the audit trail shows each command's cause.
func (s *seeder) request(ctx context.Context) context.Context {
	return commands.WithCorrelationID(ctx, "accessctl-seed-"+uuid.NewString())
}

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

// catchUpKeyMaps brings the key-map projection up to the log's head.
func (s *seeder) catchUpKeyMaps(ctx context.Context) error {
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); s.keyMaps.Run(ctx) }()
	err = s.keyMaps.WaitFor(ctx, head)
	stop()
	<-done
	if err != nil {
		return fmt.Errorf("seed: key maps: %w", err)
	}
	return nil
}

// seedKeyMaps is the key-map history the syncs ask, remembering its
// answers: the openings change no key map, so the version in force from
// the start of the openings on is the one then, and an entry set (named by
// its hash) never changes. It saves a read-model query per attempt.
type seedKeyMaps struct {
	*queries.KeyMaps
	since time.Time
	mu    sync.Mutex
	at    map[uuid.UUID]seedKeyMapVersion
	sets  map[string][]access.Entry
}

type seedKeyMapVersion struct {
	version uint64
	hash    string
}

// reset forgets the answers: the key maps as of since are in force.
func (h *seedKeyMaps) reset(since time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.since, h.at, h.sets = since, map[uuid.UUID]seedKeyMapVersion{}, map[string][]access.Entry{}
}

func (h *seedKeyMaps) KeyMapAt(ctx context.Context, lockID uuid.UUID, at time.Time) (uint64, string, error) {
	if at.Before(h.since) {
		return h.KeyMaps.KeyMapAt(ctx, lockID, at)
	}
	h.mu.Lock()
	v, ok := h.at[lockID]
	h.mu.Unlock()
	if ok {
		return v.version, v.hash, nil
	}
	version, hash, err := h.KeyMaps.KeyMapAt(ctx, lockID, h.since)
	if err != nil {
		return 0, "", err
	}
	h.mu.Lock()
	h.at[lockID] = seedKeyMapVersion{version, hash}
	h.mu.Unlock()
	return version, hash, nil
}

func (h *seedKeyMaps) KeyMapEntries(ctx context.Context, hash string) ([]access.Entry, error) {
	h.mu.Lock()
	set, ok := h.sets[hash]
	h.mu.Unlock()
	if ok {
		return set, nil
	}
	set, err := h.KeyMaps.KeyMapEntries(ctx, hash)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.sets[hash] = set
	h.mu.Unlock()
	return set, nil
}

// seedLock is a lock the seeder holds the private key of.
type seedLock struct {
	id     uuid.UUID
	apiKey uuid.UUID // the lock's own API key, that its syncs come with
	priv   ed25519.PrivateKey
	keys   []seedKey // devices that may open it
}

// seedKey is a device the seeder holds the private key of, as its phone
// would, to sign credentials.
type seedKey struct {
	accessKeyID, deviceID uuid.UUID
	priv                  ed25519.PrivateKey
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
	// The key maps are computed once the structure is in: in a few large
	// batches rather than again at every membership.
	if err := s.catchUpKeyMaps(ctx); err != nil {
		return done(), err
	}
	// The openings are judged against the key maps the locks and
	// memberships above made, as the server judges them: they happen from
	// now on, once those are in force.
	since := time.Now()
	s.history.reset(since)

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
				if err := s.openings(ctx, rng, locks[j], since, int(min(left, seedOpeningsPer))); err != nil {
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

// every calls fn every d until the returned stop is called; stop returns
// once fn has returned for good, so nothing fn writes (a progress line)
// comes after it.
func (s *seeder) every(ctx context.Context, d time.Duration, fn func()) func() {
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
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
	return func() {
		cancel()
		<-stopped
	}
}

// property creates one property and its structure through the commands.
func (s *seeder) property(ctx context.Context, i int) ([]seedLock, error) {
	p, err := s.service.CreateProperty(s.request(ctx), commands.CreateProperty{DisplayName: fmt.Sprintf("Property %d", i+1), Timezone: "Europe/Madrid"})
	if err != nil {
		return nil, err
	}
	building, err := s.service.CreateArea(s.request(ctx), commands.CreateArea{PropertyID: p.PropertyID, DisplayName: "Building", AreaType: area.TypeCommon})
	if err != nil {
		return nil, err
	}
	areas := []commands.NewArea{building}
	for u := 0; u < seedUnits; u++ {
		a, err := s.service.CreateArea(s.request(ctx), commands.CreateArea{PropertyID: p.PropertyID, DisplayName: fmt.Sprintf("Unit %d", u+1),
			AreaType: area.TypeResident, ParentAreaID: building.AreaID})
		if err != nil {
			return nil, err
		}
		areas = append(areas, a)
	}
	var locks []seedLock
	for j, a := range areas {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		l, err := s.service.ProvisionLock(s.request(ctx), commands.ProvisionLock{DisplayName: fmt.Sprintf("Door %d", j+1),
			PublicKey: base64.StdEncoding.EncodeToString(pub), EncryptionPublicKey: x25519Public()})
		if err != nil {
			return nil, err
		}
		if _, err := s.service.InstallLock(s.request(ctx), p.PropertyID, a.AreaID, l.LockID); err != nil {
			return nil, err
		}
		locks = append(locks, seedLock{id: l.LockID, apiKey: l.Key.APIKeyID, priv: priv})
	}
	for u := 0; u < seedUsers; u++ {
		usr, err := s.service.CreateUser(s.request(ctx), commands.CreateUser{DisplayName: fmt.Sprintf("Resident %d.%d", i+1, u+1)})
		if err != nil {
			return nil, err
		}
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		dev, err := s.service.ProvisionDevice(s.request(ctx), usr.UserID, commands.ProvisionDevice{DeviceType: device.IOS, MakeModel: "iPhone 15",
			DisplayName: "Phone", PublicKey: base64.StdEncoding.EncodeToString(pub), EncryptionPublicKey: x25519Public()})
		if err != nil {
			return nil, err
		}
		unit := 1 + u%seedUnits
		for _, a := range []commands.NewArea{building, areas[unit]} {
			if _, err := s.service.AddMember(s.request(ctx), commands.AddMember{PropertyID: p.PropertyID, UserGroupID: a.AreaUserGroupID, UserID: usr.UserID}); err != nil {
				return nil, err
			}
		}
		key := seedKey{accessKeyID: dev.AccessKeyID, deviceID: dev.UserDeviceID, priv: priv}
		locks[0].keys = append(locks[0].keys, key)
		locks[unit].keys = append(locks[unit].keys, key)
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
	guest, err := s.service.CreateUser(s.request(ctx), commands.CreateUser{DisplayName: fmt.Sprintf("Guest %d", i+1)})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	// The stay under way began within the last two hours: check-in closes
	// at start plus the grace period (two hours by default), and the
	// seeder checks in now.
	current := now.Add(-time.Hour).Truncate(time.Hour)
	for k, u := range units {
		for _, start := range []time.Time{current, day.Add(time.Duration(30+k)*24*time.Hour + 15*time.Hour)} {
			b, err := s.service.CreateBooking(s.request(ctx), commands.CreateBooking{PropertyID: propertyID, AreaID: u.AreaID, GuestUserID: guest.UserID,
				StartDateTime: start, EndDateTime: start.Add(68 * time.Hour), Source: "web"})
			if err != nil {
				return fmt.Errorf("booking: %w", err)
			}
			if start.After(now) {
				continue
			}
			if _, err := s.service.CheckInBooking(s.request(ctx), b.BookingID, booking.MethodDoorAccess, guest.UserID); err != nil {
				return fmt.Errorf("check-in: %w", err)
			}
			if _, err := s.service.CreateAccessCode(s.request(ctx), b.BookingID, fmt.Sprintf("%06d", (i*10+k)%1000000)); err != nil {
				return fmt.Errorf("access code: %w", err)
			}
		}
	}
	return nil
}

// openings syncs one lock with count access attempts, as the lock would:
// each presented by a phone with a credential its device signed, at an
// instant since the key maps were in force.
func (s *seeder) openings(ctx context.Context, rng *mrand.Rand, l seedLock, since time.Time, count int) error {
	if len(l.keys) == 0 {
		return nil
	}
	now := time.Now().UTC()
	version, _, err := s.history.KeyMapAt(ctx, l.id, now)
	if err != nil {
		return err
	}
	in := commands.LockSync{Report: lock.Sync{SyncDate: now, CurrentKeyMapVersion: version}}
	window := max(int64(now.Sub(since)), 1)
	for k := 0; k < count; k++ {
		at := since.Add(time.Duration(rng.Int64N(window))).UTC()
		sent := at.Format(time.RFC3339Nano)
		key := l.keys[rng.IntN(len(l.keys))]
		a := lock.AccessAttempt{LockAccessLogID: uuid.New(), AccessDate: at, AccessDateAsSent: sent,
			AccessKeyID: key.accessKeyID, UserDeviceID: key.deviceID, Result: lock.Granted}
		a.DeviceSignature = base64.StdEncoding.EncodeToString(ed25519.Sign(key.priv, lock.DeviceSignedText(l.id, a.LockAccessLogID, sent)))
		if rng.IntN(20) == 0 {
			a.Result, a.DenyReason = lock.Denied, "outsideSchedule"
		}
		in.AccessLogs = append(in.AccessLogs, a)
	}
	body := []byte(uuid.NewString()) // what the lock signs; decoded below
	actor := domain.Actor{AccountID: s.actor.AccountID, APIKeyID: l.apiKey, LockID: l.id}
	_, err = s.syncs.SyncLock(s.request(domain.WithActor(ctx, actor)), commands.SignedLockSync{LockID: l.id, Body: body,
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
