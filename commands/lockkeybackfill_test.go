package commands_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// backfillKeys returns a fresh Ed25519 public key and X25519 public key,
// base64 as POST /locks takes them.
func backfillKeys(t *testing.T) (signing, encryption string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
}

var (
	oldLockAgg  = commands.Aggregate[lock.State]{Category: lock.Category, Evolve: lock.Evolve}
	keyClaimAgg = commands.Aggregate[lock.KeyClaim]{Category: lock.KeyClaimCategory, Evolve: lock.EvolveKeyClaim}
)

// provisionOldLock provisions a lock as the code before key claims did:
// LockProvisioned appended to the lock's stream, no claim of its key.
func provisionOldLock(t *testing.T, ctx context.Context, s *commands.Service, publicKey string) uuid.UUID {
	t.Helper()
	a, ok := domain.ActorFrom(ctx)
	require.True(t, ok)
	_, enc := backfillKeys(t)
	id := uuid.New()
	_, err := commands.Run(ctx, s.Pipeline(), oldLockAgg, id, "ProvisionLock", lock.Provision{
		LockID: id, AccountID: a.AccountID, DisplayName: "old " + id.String()[:8],
		PublicKey: publicKey, EncryptionPublicKey: enc, APIKeyID: uuid.New(),
	})
	require.NoError(t, err)
	return id
}

// memMarkers are BackfillMarkers in memory.
type memMarkers struct {
	mu   sync.Mutex
	done map[string]time.Time
}

func (m *memMarkers) Completed(_ context.Context, name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.done[name]
	return ok, nil
}

func (m *memMarkers) MarkCompleted(_ context.Context, name string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done == nil {
		m.done = map[string]time.Time{}
	}
	m.done[name] = at
	return nil
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records decodes the JSON log lines.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(s.b.Bytes()))
	for dec.More() {
		var m map[string]any
		require.NoError(t, dec.Decode(&m))
		out = append(out, m)
	}
	return out
}

type oldLog struct {
	s      *commands.Service
	store  eventstore.Store
	ctx    context.Context
	logs   *syncBuffer
	log    *slog.Logger
	shared string // the key of first and twin
	// first and twin share a key (first provisioned first); solo has a
	// key of its own; gone was deprovisioned, released was released from
	// its account.
	first, twin, solo, gone, released uuid.UUID
	soloKey, goneKey, releasedKey     string
}

// newOldLog builds a log as the code before key claims left it.
func newOldLog(t *testing.T) *oldLog {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	p, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	s, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	ctx := domain.WithActor(context.Background(), domain.Actor{
		AccountID: uuid.New(), APIKeyID: uuid.New(), Grants: []domain.Grant{{Permission: domain.PermOwner}},
	})
	logs := &syncBuffer{}
	o := &oldLog{s: s, store: store, ctx: ctx, logs: logs, log: slog.New(slog.NewJSONHandler(logs, nil))}
	o.shared, _ = backfillKeys(t)
	o.soloKey, _ = backfillKeys(t)
	o.goneKey, _ = backfillKeys(t)
	o.releasedKey, _ = backfillKeys(t)
	o.first = provisionOldLock(t, ctx, s, o.shared)
	o.solo = provisionOldLock(t, ctx, s, o.soloKey)
	o.twin = provisionOldLock(t, ctx, s, o.shared)
	o.gone = provisionOldLock(t, ctx, s, o.goneKey)
	o.released = provisionOldLock(t, ctx, s, o.releasedKey)
	_, err = s.DeprovisionLock(ctx, o.gone)
	require.NoError(t, err)
	_, err = s.UninstallLock(ctx, o.released, lock.UninstallOwner)
	require.NoError(t, err)
	return o
}

func (o *oldLog) backfill(t *testing.T) commands.LockKeyBackfillStats {
	t.Helper()
	b, err := commands.NewLockKeyBackfill(o.s, o.log)
	require.NoError(t, err)
	st, err := b.Backfill(o.ctx)
	require.NoError(t, err)
	return st
}

func (o *oldLog) provision(publicKey string) error {
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
	_, err = o.s.ProvisionLock(o.ctx, commands.ProvisionLock{DisplayName: "new", PublicKey: publicKey, EncryptionPublicKey: enc})
	return err
}

func (o *oldLog) holder(t *testing.T, publicKey string) uuid.UUID {
	t.Helper()
	c, err := commands.Load(o.ctx, o.s.Pipeline(), keyClaimAgg, lock.KeyClaimID(publicKey))
	require.NoError(t, err)
	return c.State.LockID()
}

func (o *oldLog) head(t *testing.T) uint64 {
	t.Helper()
	h, err := o.store.HeadPosition(context.Background())
	require.NoError(t, err)
	return h
}

// Without the backfill, the gap: a new lock takes the key of a lock
// provisioned before keys were claimed.
func TestOldLockKeysAreFreeWithoutTheBackfill(t *testing.T) {
	o := newOldLog(t)
	assert.NoError(t, o.provision(o.soloKey), "an old lock's key is taken by a new lock")
}

// The backfill claims every live old lock's key for it: a new lock with
// one is refused (ErrKeyInUse); of two live locks sharing a key the first
// provisioned keeps it and the pair is logged as a warning; the keys of
// deprovisioned or released locks stay free; a second run appends nothing;
// deprovisioning an old lock frees its key.
func TestLockKeyBackfillClaimsOldLocksKeys(t *testing.T) {
	o := newOldLog(t)
	st := o.backfill(t)
	assert.Equal(t, commands.LockKeyBackfillStats{Scanned: 5, Live: 3, Claimed: 2, Shared: 1}, st)

	require.ErrorIs(t, o.provision(o.soloKey), lock.ErrKeyInUse)
	require.ErrorIs(t, o.provision(o.shared), lock.ErrKeyInUse)
	assert.Equal(t, o.first, o.holder(t, o.shared), "the first provisioned keeps the shared key")
	assert.Equal(t, o.solo, o.holder(t, o.soloKey))
	assert.Equal(t, uuid.Nil, o.holder(t, o.goneKey))
	assert.Equal(t, uuid.Nil, o.holder(t, o.releasedKey))

	var warned []map[string]any
	for _, r := range o.logs.records(t) {
		if r["level"] == "WARN" {
			warned = append(warned, r)
		}
	}
	require.Len(t, warned, 1)
	assert.Equal(t, o.first.String(), warned[0]["lockId"])
	assert.Equal(t, o.twin.String(), warned[0]["otherLockId"])

	// Again: nothing appended.
	head := o.head(t)
	again := o.backfill(t)
	assert.Equal(t, head, o.head(t), "a second run appends nothing")
	assert.Equal(t, commands.LockKeyBackfillStats{Scanned: 5, Live: 3, AlreadyClaimed: 2, Shared: 1}, again)

	// The keys of locks that are gone were left free.
	require.NoError(t, o.provision(o.goneKey))
	require.NoError(t, o.provision(o.releasedKey))

	// Deprovisioning an old lock frees its key.
	_, err := o.s.DeprovisionLock(o.ctx, o.solo)
	require.NoError(t, err)
	assert.Equal(t, uuid.Nil, o.holder(t, o.soloKey))
	require.NoError(t, o.provision(o.soloKey))
}

// Backfills on several servers at once append one claim per key and keep
// the shared key with the first provisioned lock.
func TestLockKeyBackfillConcurrent(t *testing.T) {
	o := newOldLog(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := commands.NewLockKeyBackfill(o.s, o.log)
			if !assert.NoError(t, err) {
				return
			}
			_, err = b.Backfill(o.ctx)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	for key, holder := range map[string]uuid.UUID{o.shared: o.first, o.soloKey: o.solo} {
		assert.Equal(t, holder, o.holder(t, key))
		assert.Equal(t, 1, streamLength(t, o.store, lock.KeyClaimCategory+"-"+lock.KeyClaimID(key).String()))
	}
	require.ErrorIs(t, o.provision(o.soloKey), lock.ErrKeyInUse)
}

// Run backfills once per data set: it records completion, and a later
// run finds the record and does nothing.
func TestLockKeyBackfillRunsOnce(t *testing.T) {
	o := newOldLog(t)
	markers := &memMarkers{}
	b, err := commands.NewLockKeyBackfill(o.s, o.log)
	require.NoError(t, err)
	ran, err := b.Run(o.ctx, markers)
	require.NoError(t, err)
	assert.True(t, ran)
	done, _ := markers.Completed(o.ctx, commands.LockKeyBackfillName)
	assert.True(t, done)
	require.ErrorIs(t, o.provision(o.soloKey), lock.ErrKeyInUse)

	head := o.head(t)
	ran, err = b.Run(o.ctx, markers)
	require.NoError(t, err)
	assert.False(t, ran)
	assert.Equal(t, head, o.head(t))
}

// A lock deprovisioned while the backfill claims its key does not keep
// the key claimed: the backfill looks at the lock again after claiming.
func TestLockKeyBackfillReleasesTheKeyOfALockGoneMeanwhile(t *testing.T) {
	o := newOldLog(t)
	racing := &deprovisionBeforeClaim{Store: o.store, stream: lock.KeyClaimCategory + "-" + lock.KeyClaimID(o.soloKey).String()}
	p, err := commands.NewPipeline(racing, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	s, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	racing.before = func() {
		_, err := o.s.DeprovisionLock(o.ctx, o.solo)
		require.NoError(t, err)
	}
	b, err := commands.NewLockKeyBackfill(s, o.log)
	require.NoError(t, err)
	st, err := b.Backfill(o.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Released)
	assert.Equal(t, uuid.Nil, o.holder(t, o.soloKey))
	require.NoError(t, o.provision(o.soloKey))
}

// deprovisionBeforeClaim runs before once, just before the first append
// to the claim stream: after the backfill read the lock live.
type deprovisionBeforeClaim struct {
	eventstore.Store
	stream string
	once   sync.Once
	before func()
}

func (d *deprovisionBeforeClaim) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if stream == d.stream && len(events) > 0 && events[0].Type == (lock.LockKeyClaimed{}).EventType() {
		d.once.Do(d.before)
	}
	return d.Store.Append(ctx, stream, expected, events...)
}

// A lock whose key it held already, deprovisioned while the backfill looks
// at it and before the deprovisioning released the key: the backfill
// releases the key, and the release belongs to the lock's account, so
// that account's webhooks see it, though the backfill runs (at server
// start) with no API key of its own.
func TestLockKeyBackfillReleaseBelongsToTheLocksAccount(t *testing.T) {
	o := newOldLog(t)
	o.backfill(t)
	owner, _ := domain.ActorFrom(o.ctx)
	claimStream := lock.KeyClaimCategory + "-" + lock.KeyClaimID(o.soloKey).String()
	racing := &deprovisionOnRead{Store: o.store, stream: claimStream}
	racing.during = func() {
		// The lock's stream only: its deprovisioning has not released the
		// key yet.
		_, err := commands.Run(o.ctx, o.s.Pipeline(), oldLockAgg, o.solo, "DeprovisionLock", lock.Deprovision{})
		require.NoError(t, err)
	}
	p, err := commands.NewPipeline(racing, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	s, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	b, err := commands.NewLockKeyBackfill(s, o.log)
	require.NoError(t, err)
	st, err := b.Backfill(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, st.Released)

	recs, err := o.store.ReadStream(context.Background(), claimStream, eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	released := recs[len(recs)-1]
	require.Equal(t, lock.LockKeyReleased{}.EventType(), released.Type)
	var meta eventstore.Metadata
	require.NoError(t, json.Unmarshal(released.Metadata, &meta))
	assert.Equal(t, owner.AccountID.String(), meta.AccountID)
}

// deprovisionOnRead runs during once, when stream is first read.
type deprovisionOnRead struct {
	eventstore.Store
	stream string
	once   sync.Once
	during func()
}

func (d *deprovisionOnRead) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.RecordedEvent, error) {
	if stream == d.stream {
		d.once.Do(d.during)
	}
	return d.Store.ReadStream(ctx, stream, opts)
}
