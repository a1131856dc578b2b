package seals

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
)

// Defaults of the server's sealing.
const (
	DefaultEvery    = 1000
	DefaultInterval = 10 * time.Minute
)

const readPage = 1024

// Sealer is the server's background worker that seals the log: after every
// Every events, and after Interval when any event came since the last
// seal. It follows $all itself and keeps every stream's head in memory, so
// a seal states what the server saw appended, even if the file was changed
// under it since.
type Sealer struct {
	store    eventstore.Store
	registry *eventstore.Registry
	key      ed25519.PrivateKey
	now      func() time.Time
	log      *slog.Logger
	every    int
	interval time.Duration

	heads     Heads
	recorded  RecordedDigest // of $all up to position
	position  uint64         // last $all position folded into heads
	pending   int            // events (not seals) after the last seal
	lastSeal  time.Time
	sealRev   uint64 // the seal stream's last revision, when sealed
	sealHash  string
	sealExist bool
}

// NewSealer returns a sealer, refusing nil dependencies. every <= 0 and
// interval <= 0 take the defaults.
func NewSealer(store eventstore.Store, key ed25519.PrivateKey, now func() time.Time, log *slog.Logger, every int, interval time.Duration) (*Sealer, error) {
	if store == nil || len(key) != ed25519.PrivateKeySize || now == nil || log == nil {
		return nil, errors.New("seals: the sealer needs a store, the server key, a clock and a logger")
	}
	// The sealer reads and writes seals only: a registry of its own.
	registry := eventstore.NewRegistry()
	Register(registry)
	if every <= 0 {
		every = DefaultEvery
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Sealer{store: store, registry: registry, key: key, now: now, log: log, every: every, interval: interval, heads: Heads{}}, nil
}

// Run catches up with the log, seals what came after the last seal, then
// follows new events until ctx ends. A failed read or seal is logged and
// tried again later; only a failure while catching up ends Run.
func (s *Sealer) Run(ctx context.Context) error {
	last, err := s.loadSealHead(ctx)
	if err != nil {
		return err
	}
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return fmt.Errorf("seals: %w", err)
	}
	// Catching up seals once at the end, not every `every` events of a
	// history that was written before sealing began.
	for s.position < head {
		n, err := s.step(ctx, last, false)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	s.lastSeal = s.now()
	if s.pending > 0 {
		s.seal(ctx)
	}
	poll := min(max(s.interval/2, 10*time.Millisecond), time.Second)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.sealAtStop(ctx, last)
			return nil
		case <-t.C:
		}
		for {
			n, err := s.step(ctx, last, true)
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			if err != nil {
				// A busy or briefly unavailable store: try again next tick.
				s.log.Warn("sealer could not read the log", "err", err)
				break
			}
			if n < readPage {
				break
			}
		}
		if s.pending > 0 && s.now().Sub(s.lastSeal) >= s.interval {
			s.seal(ctx)
		}
	}
}

// stopSealTimeout bounds the last seal of a stopping server.
const stopSealTimeout = 5 * time.Second

// sealAtStop seals what came since the last seal when the sealer stops, so
// a log left by a clean stop is sealed to its last event: deleting any
// event of it afterwards is caught. (A crash leaves at most the interval's
// events unsealed.) The server stops the sealer after its last request is
// answered, so nothing it acknowledged comes after this seal.
func (s *Sealer) sealAtStop(ctx context.Context, lastSealed uint64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopSealTimeout)
	defer cancel()
	for {
		n, err := s.step(ctx, lastSealed, false)
		if err != nil {
			s.log.Warn("sealer could not read the log at stop", "err", err)
			return
		}
		if n < readPage {
			break
		}
	}
	if s.pending > 0 {
		s.seal(ctx)
	}
}

// loadSealHead reads the last seal: the seal stream's head, and the
// position it sealed up to (events after it are pending).
func (s *Sealer) loadSealHead(ctx context.Context) (uint64, error) {
	recs, err := s.store.ReadStream(ctx, Stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 1})
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("seals: last seal: %w", err)
	}
	env, err := s.registry.Decode(recs[0])
	if err != nil {
		return 0, fmt.Errorf("seals: last seal: %w", err)
	}
	s.sealExist, s.sealRev, s.sealHash = true, recs[0].Revision, env.Metadata.Hash
	if seal, ok := env.Event.(Sealed); ok {
		return seal.UpToPosition, nil
	}
	return 0, nil
}

// step folds the next page of $all into the heads, sealing after every
// `every` pending events when live. It returns how many events it read.
func (s *Sealer) step(ctx context.Context, lastSealed uint64, live bool) (int, error) {
	recs, err := s.store.ReadAll(ctx, s.position, readPage, eventstore.Filter{})
	if err != nil {
		return 0, fmt.Errorf("seals: read $all after %d: %w", s.position, err)
	}
	for _, rec := range recs {
		s.heads.Observe(rec.Stream, rec.Revision, chainHash(rec.Metadata))
		s.recorded.Observe(rec)
		s.position = rec.Position
		if rec.Stream == Stream || rec.Position <= lastSealed {
			continue
		}
		s.pending++
		if live && s.pending >= s.every {
			s.seal(ctx)
		}
	}
	return len(recs), nil
}

// chainHash is the hash an event's metadata carries ("" for none).
func chainHash(metadata []byte) string {
	var m struct {
		Hash string `json:"hash"`
	}
	if len(metadata) == 0 || json.Unmarshal(metadata, &m) != nil {
		return ""
	}
	return m.Hash
}

// sealNamespace seeds the ids of seals: one seal per position, so a seal
// appended again after a lost reply is stored once.
var sealNamespace = uuid.MustParse("5d1d0a8e-3a7c-4f0e-9f44-6c1b2b7e0a51")

// seal appends the signed seal of the heads at the current position.
func (s *Sealer) seal(ctx context.Context) {
	seal := s.heads.Seal(s.position)
	seal.RecordedDigest = s.recorded.String()
	seal = seal.Sign(s.key)
	id := uuid.NewSHA1(sealNamespace, fmt.Appendf(nil, "%d", seal.UpToPosition))
	for attempt := 0; attempt < 2; attempt++ {
		next, expected := uint64(0), eventstore.NoStream
		if s.sealExist {
			next, expected = s.sealRev+1, eventstore.Exact(s.sealRev)
		}
		now := s.now()
		// A seal is its own cause: its id correlates it, as a command's
		// correlation id does its events.
		meta := eventstore.Metadata{OccurredAt: now.UTC(), CorrelationID: id.String(), CausationID: id.String()}
		ev, hash, err := s.registry.EncodeChained(id, seal, meta, Stream, next, s.sealHash)
		if err != nil {
			s.log.Error("seal not encoded", "err", err)
			return
		}
		ar, err := s.store.Append(ctx, Stream, expected, ev)
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			// Another writer sealed: chain after its seal.
			if _, err := s.loadSealHead(ctx); err != nil {
				s.log.Error("seal not appended", "err", err)
				return
			}
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("seal not appended", "err", err, "upToPosition", seal.UpToPosition)
			}
			return
		}
		s.sealExist, s.sealRev, s.sealHash = true, ar.NextExpectedRevision, hash
		// The same seal (same id) may have been stored before: after a
		// lost reply, or by another sealer sealing the same position at
		// this very revision (a lease changing hands), with its own time
		// and so its own hash. The append is then a no-op that succeeds
		// whatever the place, so the stored seal, not this one, is the
		// head to chain from.
		if _, err := s.loadSealHead(ctx); err != nil {
			s.log.Error("seal head not read", "err", err)
		}
		s.pending, s.lastSeal = 0, now
		s.log.Debug("log sealed", "upToPosition", seal.UpToPosition, "streams", seal.Streams, "merkleRoot", seal.MerkleRoot)
		return
	}
}
