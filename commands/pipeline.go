// Package commands turns requests into events: authorize the actor, load the
// aggregate by folding its stream, decide, and append at the loaded revision.
package commands

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
)

// MaxAttempts bounds the reload-and-decide loop on concurrent writes. A
// lost race is another writer's success, so the last of N commands on one
// stream at once (members added to one group, locks installed into one
// area, by an import) needs up to N attempts: with 5, a third of 24 at
// once answered 409. After 64, waiting up to about 2 s in all, the 409
// says the stream is busier than a retry can help.
const MaxAttempts = 64

// ErrConcurrentChange is the conflict returned once MaxAttempts appends in a
// row lost to other writers.
var ErrConcurrentChange = domain.NewError(domain.ErrConflict, "the entity was changed concurrently; retry")

// Pipeline loads aggregates and appends their decisions. Its dependencies are
// an event store, the event registry and a clock.
type Pipeline struct {
	store    eventstore.Store
	registry *eventstore.Registry
	now      func() time.Time
	cache    *stateCache
	// fingerprintKey keys the request fingerprints kept in event metadata
	// (see sealFingerprint); NewService sets it from the server's key.
	fingerprintKey []byte
}

// NewPipeline returns a pipeline, refusing nil dependencies.
func NewPipeline(store eventstore.Store, registry *eventstore.Registry, now func() time.Time) (*Pipeline, error) {
	if store == nil || registry == nil || now == nil {
		return nil, errors.New("commands: pipeline needs a store, a registry and a clock")
	}
	return &Pipeline{store: store, registry: registry, now: now, cache: newStateCache()}, nil
}

// Store returns the event store the pipeline appends to.
func (p *Pipeline) Store() eventstore.Store { return p.store }

// Registry returns the event registry the pipeline encodes with.
func (p *Pipeline) Registry() *eventstore.Registry { return p.registry }

// Now returns the pipeline's clock reading.
func (p *Pipeline) Now() time.Time { return p.now() }

// Aggregate says how one kind of aggregate is named and rebuilt.
type Aggregate[S any] struct {
	// Category prefixes stream names: `lock` gives `lock-<id>`.
	Category string
	// Evolve applies one event to the state; it must not fail.
	Evolve func(S, domain.Event) S
	// Fold, when set, applies events in order as Evolve would one by one,
	// for a state that copies on change: once per load, not per event.
	Fold func(S, []domain.Event) S
}

// fold applies events to s with Fold, or Evolve one by one.
func (a Aggregate[S]) fold(s S, events []domain.Event) S {
	if a.Fold != nil {
		return a.Fold(s, events)
	}
	for _, e := range events {
		s = a.Evolve(s, e)
	}
	return s
}

// Stream returns the stream name of the aggregate with id.
func (a Aggregate[S]) Stream(id uuid.UUID) string { return a.Category + "-" + id.String() }

// Loaded is an aggregate's state as of a revision.
type Loaded[S any] struct {
	State S
	// Exists is false when the stream has no events.
	Exists   bool
	Revision uint64
	// Hash is the chain hash of the stream's last event.
	Hash string
	// Position is the $all position of the last event.
	Position uint64
	ids      map[uuid.UUID]eventstore.AppendResult
}

// Result is what a command appended.
type Result struct {
	Stream   string
	Revision uint64
	// Position is the $all position of the last event appended; a reader
	// that waits for its projections to reach it sees the command's effect.
	Position uint64
	Events   []domain.Event
	// Replayed is true when an Idempotency-Key matched an earlier request
	// and nothing was appended.
	Replayed bool
}

// Load folds the aggregate's stream into its state.
func Load[S any](ctx context.Context, p *Pipeline, agg Aggregate[S], id uuid.UUID) (Loaded[S], error) {
	return load(ctx, p, agg, agg.Stream(id), false)
}

const readPage = 1024

// load folds a stream into its state. Without keepIDs (which needs every
// event id, for idempotency keys) it starts from the cached state and reads
// only the events after it.
func load[S any](ctx context.Context, p *Pipeline, agg Aggregate[S], stream string, keepIDs bool) (Loaded[S], error) {
	var l Loaded[S]
	from := uint64(0)
	if keepIDs {
		l.ids = map[uuid.UUID]eventstore.AppendResult{}
	} else if c, ok := p.cache.get(stream); ok {
		if cached, ok := c.(Loaded[S]); ok && cached.Exists {
			l, from = cached, cached.Revision+1
		}
	}
	for {
		page, err := p.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: from, Max: readPage})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return l, nil
		}
		if err != nil {
			return l, fmt.Errorf("load %s: %w", stream, err)
		}
		events := make([]domain.Event, 0, len(page))
		for _, rec := range page {
			env, err := p.registry.Decode(rec)
			if err != nil {
				return l, fmt.Errorf("load %s: %w", stream, err)
			}
			l.Exists, l.Revision, l.Position, l.Hash = true, rec.Revision, rec.Position, env.Metadata.Hash
			if keepIDs {
				l.ids[rec.ID] = eventstore.AppendResult{NextExpectedRevision: rec.Revision, Position: rec.Position}
			}
			if ev, ok := env.Event.(domain.Event); ok && env.Known {
				events = append(events, ev)
			}
		}
		l.State = agg.fold(l.State, events)
		if len(page) < readPage {
			if !keepIDs && l.Exists {
				p.cache.put(stream, l)
			}
			return l, nil
		}
		from = page[len(page)-1].Revision + 1
	}
}

// Decision decides a command against the loaded state at the given instant.
// It returns the events to append (none is a valid, idempotent outcome).
type Decision[S any] func(state Loaded[S], now time.Time) ([]domain.Event, error)

// Execute runs one command against one aggregate: load, decide, append at
// the loaded revision; on a concurrent change it reloads and decides again,
// up to MaxAttempts, then returns ErrConcurrentChange. name identifies the
// command for idempotency keys.
func Execute[S any](ctx context.Context, p *Pipeline, agg Aggregate[S], id uuid.UUID, name string, decide Decision[S]) (Result, error) {
	stream := agg.Stream(id)
	key := idempotencyKeyFrom(ctx)
	if key != "" && keyReused(ctx) {
		return Result{}, ErrIdempotencyKeyReused
	}
	meta := p.metadata(ctx)
	for attempt := 1; ; attempt++ {
		loaded, err := load(ctx, p, agg, stream, key != "")
		if err != nil {
			return Result{}, err
		}
		if key != "" {
			if first, ok := loaded.ids[eventID(key, name, stream, 0)]; ok {
				return p.replayed(ctx, stream, key, name, first)
			}
			if legacy := legacyKeyFrom(ctx); legacy != "" {
				if first, ok := loaded.ids[eventID(legacy, name, stream, 0)]; ok {
					done, err := p.writtenByServer(ctx, stream, first)
					if err != nil {
						return Result{}, err
					}
					if done {
						return p.replayed(ctx, stream, legacy, name, first)
					}
				}
			}
		}
		// Claimed only now, after the stream's events under the key were
		// checked: a key an earlier build recorded without a claim must
		// not be claimed by a request those events refuse.
		if err := p.claimKey(ctx); err != nil {
			return Result{}, err
		}
		now := p.now()
		events, err := decide(loaded, now)
		if err != nil {
			return Result{}, err
		}
		res := Result{Stream: stream, Revision: loaded.Revision, Position: loaded.Position, Events: events}
		if len(events) == 0 {
			return res, nil
		}
		meta.OccurredAt = now.UTC()
		data, lastHash, err := p.encode(stream, loaded.Exists, loaded.Revision, loaded.Hash, events, meta, key, name)
		if err != nil {
			return Result{}, err
		}
		expected := eventstore.NoStream
		if loaded.Exists {
			expected = eventstore.Exact(loaded.Revision)
		}
		ar, err := p.store.Append(ctx, stream, expected, data...)
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			if attempt >= MaxAttempts {
				return Result{}, ErrConcurrentChange
			}
			backoff(ctx, attempt)
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		if key != "" {
			// A twin request with the same key (a client or proxy retrying
			// while this one was in flight) may have stored these ids
			// first: the store then reports its idempotent no-op as a
			// success, but holds the twin's events, not these. Answer
			// what is stored, and keep these out of the cache, whose hash
			// the next command would chain from.
			if twin, err := p.storedByTwin(ctx, stream, ar.NextExpectedRevision, lastHash); err != nil || twin {
				if err != nil {
					return Result{}, err
				}
				first := eventstore.AppendResult{NextExpectedRevision: ar.NextExpectedRevision + 1 - uint64(len(data))}
				return p.replayed(ctx, stream, key, name, first)
			}
		}
		res.Revision, res.Position = ar.NextExpectedRevision, ar.Position
		next := Loaded[S]{State: loaded.State, Exists: true, Revision: ar.NextExpectedRevision, Hash: lastHash, Position: ar.Position}
		next.State = agg.fold(next.State, events)
		p.cache.put(stream, next)
		return res, nil
	}
}

// encode gives each event its id (random, or derived from the idempotency
// key), its revision and its link in the stream's hash chain.
func (p *Pipeline) encode(stream string, exists bool, revision uint64, prevHash string, events []domain.Event, meta eventstore.Metadata, key, name string) ([]eventstore.EventData, string, error) {
	next := uint64(0)
	if exists {
		next = revision + 1
	}
	out := make([]eventstore.EventData, len(events))
	for i, ev := range events {
		id := uuid.New()
		if key != "" {
			id = eventID(key, name, stream, i)
		}
		data, hash, err := p.registry.EncodeChained(id, ev, meta, stream, next+uint64(i), prevHash)
		if err != nil {
			return nil, "", err
		}
		out[i], prevHash = data, hash
	}
	return out, prevHash, nil
}

// storedByTwin reports whether the event at revision of stream carries
// another hash than lastHash, the one this attempt built for it.
func (p *Pipeline) storedByTwin(ctx context.Context, stream string, revision uint64, lastHash string) (bool, error) {
	recs, err := p.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: revision, Max: 1})
	if err != nil {
		return false, fmt.Errorf("read back %s: %w", stream, err)
	}
	if len(recs) != 1 {
		return false, fmt.Errorf("read back %s: revision %d is missing", stream, revision)
	}
	env, err := p.registry.Decode(recs[0])
	if err != nil {
		return false, fmt.Errorf("read back %s: %w", stream, err)
	}
	return env.Metadata.Hash != lastHash, nil
}

// ErrIdempotencyKeyReused answers a request whose Idempotency-Key an
// earlier, different request (another method, path or body) already used:
// the IETF httpapi Idempotency-Key draft's 422. Nothing is appended.
var ErrIdempotencyKeyReused = domain.NewError(domain.ErrUnprocessable,
	"this Idempotency-Key was already used for a different request (method, path or body); use a new key for a new request")

// replayed answers a repeated idempotent request with what the first one
// appended: the run of events whose ids derive from the same key. When
// both the stored events and the repeat carry a request fingerprint and
// they differ, the repeat is another request reusing the key: it gets
// ErrIdempotencyKeyReused, not the first request's result; so does a
// client's repeat sent with another API key than the recorded one. Events
// without a fingerprint (older builds, server-side steps) replay as they
// always did, and so does a repeat without one (a caller outside HTTP).
func (p *Pipeline) replayed(ctx context.Context, stream, key, name string, first eventstore.AppendResult) (Result, error) {
	recs, err := p.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: first.NextExpectedRevision, Max: readPage})
	if err != nil {
		return Result{}, fmt.Errorf("replay %s: %w", stream, err)
	}
	want := p.sealFingerprint(fingerprintFrom(ctx))
	res := Result{Stream: stream, Revision: first.NextExpectedRevision, Position: first.Position, Replayed: true}
	for i, rec := range recs {
		if rec.ID != eventID(key, name, stream, i) {
			break
		}
		env, err := p.registry.Decode(rec)
		if err != nil {
			return Result{}, err
		}
		if got := env.Metadata.RequestFingerprint; got != "" && want != "" && !hmac.Equal([]byte(got), []byte(want)) {
			markKeyReused(ctx)
			return Result{}, ErrIdempotencyKeyReused
		}
		// Another API key's retry of the same request is another caller's
		// request: answering it what the first caller was allowed to do
		// would skip the permission checks the decision made.
		if by := env.Metadata.APIKeyID; by != "" && want != "" && by != callerOf(ctx) {
			markKeyReused(ctx)
			return Result{}, ErrIdempotencyKeyReused
		}
		if ev, ok := env.Event.(domain.Event); ok {
			res.Events = append(res.Events, ev)
		}
		res.Revision, res.Position = rec.Revision, rec.Position
	}
	// A true retry of a request recorded before claims claims its key.
	if err := p.claimKey(ctx); err != nil {
		return Result{}, err
	}
	return res, nil
}

// checkKeyedStream refuses, with ErrIdempotencyKeyReused, a client's
// keyed request whose key already created stream for another request: the
// stream's first event was appended under key (its causation) with
// another fingerprint. A stream not there yet, one created otherwise, or
// one whose first event carries no fingerprint (older builds, the
// server's steps), or a request without one, passes, as in replayed.
func (p *Pipeline) checkKeyedStream(ctx context.Context, stream, key string) error {
	want := p.sealFingerprint(fingerprintFrom(ctx))
	if want == "" {
		return nil
	}
	recs, err := p.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Max: 1})
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0) {
		return p.claimKey(ctx)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	env, err := p.registry.Decode(recs[0])
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	m := env.Metadata
	if m.CausationID != "idempotency-key:"+key || m.RequestFingerprint == "" {
		return p.claimKey(ctx)
	}
	if !hmac.Equal([]byte(m.RequestFingerprint), []byte(want)) {
		markKeyReused(ctx)
		return ErrIdempotencyKeyReused
	}
	return p.claimKey(ctx)
}

func (p *Pipeline) metadata(ctx context.Context) eventstore.Metadata {
	var m eventstore.Metadata
	if a, ok := domain.ActorFrom(ctx); ok {
		m.AccountID = idString(a.AccountID)
		m.APIKeyID = idString(a.APIKeyID)
		m.UserID = idString(a.UserID)
	}
	m.CorrelationID = correlationIDFrom(ctx)
	m.CausationID = m.CorrelationID
	if key := idempotencyKeyFrom(ctx); key != "" {
		m.CausationID = "idempotency-key:" + key
		if step, ok := strings.CutPrefix(key, internalKeyPrefix); ok {
			// A server-side step is named without the prefix's control
			// byte, which exports (the history's CSV) would carry, and
			// apart from any client's key.
			m.CausationID = "server-step:" + step
		}
		m.RequestFingerprint = p.sealFingerprint(fingerprintFrom(ctx))
	}
	return m
}

// sealFingerprint turns a request fingerprint into what event metadata
// keeps: an HMAC under the server's key. A plain hash of a request body
// would let anyone holding the log confirm a guess of what the body said
// (a guest's name or e-mail), even after the person's key is erased; the
// HMAC does not, and equal requests still seal equally on every node.
func (p *Pipeline) sealFingerprint(fp string) string {
	if fp == "" {
		return ""
	}
	mac := hmac.New(sha256.New, p.fingerprintKey)
	mac.Write([]byte("request-fingerprint\x00"))
	mac.Write([]byte(fp))
	return "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil))
}

// writtenByServer reports whether the event at first was appended by a
// server-side step rather than a client's request: no API key, no user
// and no request fingerprint in its metadata. Execute trusts an event
// under a legacy internal id (see legacyKeyFrom) only then, since a client
// that sent the internal key's text as its Idempotency-Key made the same
// ids.
func (p *Pipeline) writtenByServer(ctx context.Context, stream string, first eventstore.AppendResult) (bool, error) {
	recs, err := p.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: first.NextExpectedRevision, Max: 1})
	if err != nil {
		return false, fmt.Errorf("read %s: %w", stream, err)
	}
	if len(recs) != 1 {
		return false, fmt.Errorf("read %s: revision %d is missing", stream, first.NextExpectedRevision)
	}
	env, err := p.registry.Decode(recs[0])
	if err != nil {
		return false, fmt.Errorf("read %s: %w", stream, err)
	}
	m := env.Metadata
	return m.APIKeyID == "" && m.UserID == "" && m.RequestFingerprint == "", nil
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// idempotencyNamespace seeds the uuid v5 ids derived from Idempotency-Keys.
var idempotencyNamespace = uuid.MustParse("0b6f6a4e-52c1-4a6e-9a57-3a8f0d6f2c11")

// eventID derives the id of the i-th event a keyed command appends to stream.
func eventID(key, command, stream string, i int) uuid.UUID {
	return uuid.NewSHA1(idempotencyNamespace, fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d", key, command, stream, i))
}

// backoff waits a little, twice as long after each lost race (about 4,
// 8, 16, then 32 ms), with jitter as wide as the wait so the losers do not
// collide again: two commands that each read what the other writes (two
// area moves at once) otherwise kept colliding until both gave up (3
// pairs in 40 with 1 to 2 ms; none in 160 with these).
func backoff(ctx context.Context, attempt int) {
	base := time.Duration(2<<min(attempt, 4)) * time.Millisecond
	d := base/2 + time.Duration(rand.Int64N(int64(base)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Decider is a domain command: it decides against an aggregate's state.
type Decider[S any] interface {
	Decide(state S, now time.Time) ([]domain.Event, error)
}

// Run executes a domain command against the aggregate with id.
func Run[S any](ctx context.Context, p *Pipeline, agg Aggregate[S], id uuid.UUID, name string, cmd Decider[S]) (Result, error) {
	return Execute(ctx, p, agg, id, name, func(l Loaded[S], now time.Time) ([]domain.Event, error) {
		return cmd.Decide(l.State, now)
	})
}
