package seals_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// noted is a test event type.
type noted struct {
	N int `json:"n"`
}

func (noted) EventType() string { return "Noted" }

func TestMerkleRootDependsOnEveryHeadOnly(t *testing.T) {
	t.Parallel()
	a := seals.Heads{"a-1": {Revision: 0, Hash: "h1"}, "b-2": {Revision: 3, Hash: "h2"}, "c-3": {Revision: 1, Hash: ""}}
	b := seals.Heads{"c-3": {Revision: 1, Hash: ""}, "a-1": {Revision: 0, Hash: "h1"}, "b-2": {Revision: 3, Hash: "h2"}}
	assert.Equal(t, seals.MerkleRoot(a), seals.MerkleRoot(b), "order of insertion does not matter")
	for name, change := range map[string]func(seals.Heads){
		"revision": func(h seals.Heads) { h["b-2"] = seals.Head{Revision: 2, Hash: "h2"} },
		"hash":     func(h seals.Heads) { h["a-1"] = seals.Head{Revision: 0, Hash: "h9"} },
		"removed":  func(h seals.Heads) { delete(h, "c-3") },
		"added":    func(h seals.Heads) { h["d-4"] = seals.Head{} },
	} {
		c := seals.Heads{}
		for k, v := range a {
			c[k] = v
		}
		change(c)
		assert.NotEqual(t, seals.MerkleRoot(a), seals.MerkleRoot(c), name)
	}
	assert.Len(t, seals.MerkleRoot(seals.Heads{}), 64)
}

func TestSealSignature(t *testing.T) {
	t.Parallel()
	pub, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	s := seals.Heads{"a-1": {Revision: 2, Hash: "x"}}.Seal(7).Sign(key)
	require.NoError(t, s.CheckSignature(pub))
	other, _, _ := ed25519.GenerateKey(nil)
	assert.ErrorIs(t, s.CheckSignature(other), seals.ErrBadSignature)
	s.Streams++
	assert.ErrorIs(t, s.CheckSignature(pub), seals.ErrBadSignature)
}

// streamTail answers what the next event of stream chains to: the last
// event's hash, the next revision, and the revision to expect.
func streamTail(t *testing.T, store eventstore.Store, reg *eventstore.Registry, stream string) (prev string, next uint64, expected eventstore.ExpectedRevision) {
	t.Helper()
	recs, err := store.ReadStream(t.Context(), stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.StreamEnd, Max: 1})
	if err != nil {
		return "", 0, eventstore.NoStream
	}
	env, err := reg.Decode(recs[0])
	require.NoError(t, err)
	return env.Metadata.Hash, recs[0].Revision + 1, eventstore.Exact(recs[0].Revision)
}

// appendChained appends n chained events to stream.
func appendChained(t *testing.T, store eventstore.Store, reg *eventstore.Registry, stream string, n int) {
	t.Helper()
	ctx := t.Context()
	prev, next, expected := streamTail(t, store, reg, stream)
	for i := range n {
		ev, hash, err := reg.EncodeChained(uuid.New(), noted{N: i}, eventstore.Metadata{OccurredAt: time.Now().UTC()}, stream, next, prev)
		require.NoError(t, err)
		_, err = store.Append(ctx, stream, expected, ev)
		require.NoError(t, err)
		prev, expected = hash, eventstore.Exact(next)
		next++
	}
}

// notesFixture returns a registry of the test events and seals and a
// server key, after appending three streams of four chained notes.
func notesFixture(t *testing.T, store eventstore.Store) (*eventstore.Registry, ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	reg := eventstore.NewRegistry()
	reg.Register(noted{})
	seals.Register(reg)
	pub, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	for i := range 3 {
		appendChained(t, store, reg, fmt.Sprintf("note-%d", i), 4)
	}
	return reg, pub, key
}

// runSealer runs a sealer over store, sealing every `every` events, until
// the returned stop is called; stop returns Run's error.
func runSealer(t *testing.T, store eventstore.Store, key ed25519.PrivateKey, every int) (stop func() error) {
	t.Helper()
	sealer, err := seals.NewSealer(store, key, time.Now, slog.New(slog.DiscardHandler), every, time.Hour)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sealer.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

func TestSealerSealsEveryNEventsAndVerifies(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	reg, pub, key := notesFixture(t, store)
	stop := runSealer(t, store, key, 5)

	// Catching up seals the 12 events once; then every 5 new events.
	require.Eventually(t, func() bool { return countSeals(t, store) == 1 }, 5*time.Second, 5*time.Millisecond)
	appendChained(t, store, reg, "note-0", 5)
	appendChained(t, store, reg, "note-9", 4)
	require.Eventually(t, func() bool { return countSeals(t, store) == 2 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, 2, countSeals(t, store), "4 pending events wait for the interval")
	require.NoError(t, stop())
	assert.Equal(t, 3, countSeals(t, store), "stopping seals the 4 pending events")

	rep, err := seals.Verify(t.Context(), store, seals.VerifyOptions{PublicKey: pub, Registry: reg})
	require.NoError(t, err)
	require.Nil(t, rep.Failure)
	assert.Equal(t, 3, rep.Seals)
	assert.Equal(t, 5, rep.Streams)
	assert.Equal(t, uint64(12+9+3), rep.Events)
	assert.Empty(t, rep.Unchained)

	// Like every event, a seal carries a correlation id (its own).
	recs, err := store.ReadStream(t.Context(), seals.Stream, eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	for _, r := range recs {
		env, err := reg.Decode(r)
		require.NoError(t, err)
		assert.Equal(t, r.ID.String(), env.Metadata.CorrelationID)
	}
}

func TestVerifyListsUnchainedStreams(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	reg := eventstore.NewRegistry()
	reg.Register(noted{})
	ev, err := reg.Encode(uuid.New(), noted{N: 1}, eventstore.Metadata{OccurredAt: time.Now().UTC()})
	require.NoError(t, err)
	_, err = store.Append(t.Context(), "old-1", eventstore.NoStream, ev)
	require.NoError(t, err)
	appendChained(t, store, reg, "note-1", 2)

	rep, err := seals.Verify(t.Context(), store, seals.VerifyOptions{Registry: reg})
	require.NoError(t, err)
	require.Nil(t, rep.Failure)
	assert.Equal(t, []string{"old-1"}, rep.Unchained)

	rep, err = seals.Verify(t.Context(), store, seals.VerifyOptions{Registry: reg, RequireChain: true})
	require.NoError(t, err)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, "old-1", rep.Failure.Stream)
}

func countSeals(t *testing.T, store eventstore.Store) int {
	t.Helper()
	recs, err := store.ReadStream(t.Context(), seals.Stream, eventstore.ReadStreamOptions{})
	if err != nil {
		return 0
	}
	for _, r := range recs {
		var s seals.Sealed
		require.NoError(t, json.Unmarshal(r.Data, &s))
	}
	return len(recs)
}

// appendV2 appends an event to stream as a build from before the request
// fingerprint was hashed wrote it: a v2-form hash, the fingerprint outside.
func appendV2(t *testing.T, store eventstore.Store, reg *eventstore.Registry, stream string, fingerprint string) {
	t.Helper()
	ctx := t.Context()
	prev, next, expected := streamTail(t, store, reg, stream)
	id := uuid.New()
	ev, err := reg.Encode(id, noted{N: int(next)}, eventstore.Metadata{OccurredAt: time.Now().UTC(), RequestFingerprint: fingerprint})
	require.NoError(t, err)
	var meta eventstore.Metadata
	require.NoError(t, json.Unmarshal(ev.Metadata, &meta))
	meta.Hash = eventstore.V2ChainHash(prev, id, ev.Type, stream, next, ev.Data, meta)
	ev.Metadata, err = json.Marshal(meta)
	require.NoError(t, err)
	_, err = store.Append(ctx, stream, expected, ev)
	require.NoError(t, err)
}

// TestVerifyV2HashLog: a log written before the request fingerprint joined
// the hash still verifies, and so does one this build appended to, even in
// the same stream; a v2-form hash after the log's first current-form one
// does not.
func TestVerifyV2HashLog(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	reg := eventstore.NewRegistry()
	reg.Register(noted{})
	appendV2(t, store, reg, "note-1", "hmac-sha256:00")
	appendV2(t, store, reg, "note-1", "")
	appendChained(t, store, reg, "note-1", 2)
	rep, err := seals.Verify(t.Context(), store, seals.VerifyOptions{Registry: reg, DensePositions: true})
	require.NoError(t, err)
	require.Nil(t, rep.Failure)
	assert.Equal(t, uint64(4), rep.Events)

	appendV2(t, store, reg, "note-2", "hmac-sha256:01")
	rep, err = seals.Verify(t.Context(), store, seals.VerifyOptions{Registry: reg, DensePositions: true})
	require.NoError(t, err)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, "note-2", rep.Failure.Stream)
	assert.Contains(t, rep.Failure.Reason, "v2-form hash")
	assert.Contains(t, rep.Failure.Reason, "current-form hash at position 3 (note-1@2)")
}

// readHookStore runs before once, just before the first ReadAll it forwards.
type readHookStore struct {
	eventstore.Store
	before func()
}

func (h *readHookStore) ReadAll(ctx context.Context, after uint64, max int, filter eventstore.Filter) ([]eventstore.RecordedEvent, error) {
	if f := h.before; f != nil {
		h.before = nil
		f()
	}
	return h.Store.ReadAll(ctx, after, max, filter)
}

// TestVerifyBesideARunningSealer: a server keeps appending and sealing
// while verify walks the log. What came after verify started is not its
// to check, and is no tampering: here a seal appended after verify listed
// the seals but before its walk reached it.
func TestVerifyBesideARunningSealer(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	reg, pub, key := notesFixture(t, mem)
	stop := runSealer(t, mem, key, 5)
	defer stop()
	require.Eventually(t, func() bool { return countSeals(t, mem) == 1 }, 5*time.Second, 5*time.Millisecond)
	head, err := mem.HeadPosition(t.Context())
	require.NoError(t, err)

	hooked := &readHookStore{Store: mem, before: func() {
		appendChained(t, mem, reg, "note-0", 5)
		require.Eventually(t, func() bool { return countSeals(t, mem) == 2 }, 5*time.Second, 5*time.Millisecond)
	}}
	rep, err := seals.Verify(t.Context(), hooked, seals.VerifyOptions{PublicKey: pub, Registry: reg, DensePositions: true})
	require.NoError(t, err)
	require.Nil(t, rep.Failure, "%v", rep.Failure)
	assert.Equal(t, 1, rep.Seals)
	assert.Equal(t, head, rep.LastPosition, "the log as it was when verify started")
}
