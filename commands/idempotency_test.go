package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// A keyed request with another fingerprint than the stored one is refused
// (422), appends nothing, and every later keyed command of the same
// request refuses too; the same fingerprint replays.
func TestIdempotencyKeyWithAnotherFingerprintIsRefused(t *testing.T) {
	t.Parallel()
	p, store := newPipeline(t)
	ctx, _ := actorCtx()
	id := uuid.New()
	keyedA := commands.WithRequestFingerprint(commands.WithIdempotencyKey(ctx, "order-7"), "POST /x body-a")
	first, err := commands.Execute(keyedA, p, counterAgg, id, "add", add(5))
	require.NoError(t, err)

	again, err := commands.Execute(commands.WithRequestFingerprint(commands.WithIdempotencyKey(ctx, "order-7"), "POST /x body-a"), p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Position, again.Position)

	keyedB := commands.WithRequestFingerprint(commands.WithIdempotencyKey(ctx, "order-7"), "POST /x body-b")
	_, err = commands.Execute(keyedB, p, counterAgg, id, "add", add(9))
	require.ErrorIs(t, err, commands.ErrIdempotencyKeyReused)
	assert.ErrorIs(t, err, domain.ErrUnprocessable)
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	// The same request goes on to another stream (a composed command's
	// next step, or its undo): refused, not run.
	_, err = commands.Execute(keyedB, p, counterAgg, uuid.New(), "add", add(1))
	require.ErrorIs(t, err, commands.ErrIdempotencyKeyReused)
	after, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, head, after, "nothing appended")
	loaded, err := commands.Load(ctx, p, counterAgg, id)
	require.NoError(t, err)
	assert.Equal(t, 5, loaded.State.total)
}

// Events stored without a fingerprint (written before fingerprints, or by
// a caller outside HTTP) replay as before, whatever the repeat's
// fingerprint; a repeat without one replays a fingerprinted event.
func TestIdempotencyKeyWithoutFingerprintStillReplays(t *testing.T) {
	t.Parallel()
	p, _ := newPipeline(t)
	ctx, _ := actorCtx()
	old := uuid.New()
	first, err := commands.Execute(commands.WithIdempotencyKey(ctx, "legacy"), p, counterAgg, old, "add", add(5))
	require.NoError(t, err)
	res, err := commands.Execute(commands.WithRequestFingerprint(commands.WithIdempotencyKey(ctx, "legacy"), "POST /x"), p, counterAgg, old, "add", add(5))
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	assert.Equal(t, first.Position, res.Position)

	fresh := uuid.New()
	_, err = commands.Execute(commands.WithRequestFingerprint(commands.WithIdempotencyKey(ctx, "new"), "POST /x"), p, counterAgg, fresh, "add", add(5))
	require.NoError(t, err)
	res, err = commands.Execute(commands.WithIdempotencyKey(ctx, "new"), p, counterAgg, fresh, "add", add(5))
	require.NoError(t, err)
	assert.True(t, res.Replayed)
}

// Two requests with one key and different bodies race: the loser's append
// is the store's no-op, and it must answer 422, not the winner's result.
func TestConcurrentRequestsReusingOneKeyDiffer(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	reg := eventstore.NewRegistry()
	reg.Register(counted{})
	reg.Register(commands.IdempotencyKeyClaimed{})
	racing := &raceStore{Store: mem}
	late, err := commands.NewPipeline(racing, reg, func() time.Time { return clock.Add(time.Second) })
	require.NoError(t, err)
	early, err := commands.NewPipeline(mem, reg, func() time.Time { return clock })
	require.NoError(t, err)
	ctx, _ := actorCtx()
	id := uuid.New()
	_, err = commands.Execute(ctx, late, counterAgg, id, "add", add(1))
	require.NoError(t, err)

	keyed := commands.WithIdempotencyKey(ctx, "twin")
	racing.before = func() {
		_, err := commands.Execute(commands.WithRequestFingerprint(keyed, "body-a"), early, counterAgg, id, "add", add(5))
		require.NoError(t, err)
	}
	_, err = commands.Execute(commands.WithRequestFingerprint(keyed, "body-b"), late, counterAgg, id, "add", add(5))
	assert.True(t, errors.Is(err, commands.ErrIdempotencyKeyReused), "got %v", err)
}

// A key holds for the request that first used it, whatever command or
// entity a later request under it names: another command on another
// stream is refused before it appends anything, and the key's claim is
// the only event of its stream.
func TestIdempotencyKeyReusedForAnotherCommandIsRefused(t *testing.T) {
	t.Parallel()
	p, store := newPipeline(t)
	ctx, a := actorCtx()
	_, err := commands.Execute(keyedAs(ctx, "k-1", "POST /counters/1 add"), p, counterAgg, uuid.New(), "add", add(5))
	require.NoError(t, err)
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)

	other := uuid.New()
	_, err = commands.Execute(keyedAs(ctx, "k-1", "PUT /counters/2 reset"), p, counterAgg, other, "reset", add(1))
	require.ErrorIs(t, err, commands.ErrIdempotencyKeyReused)
	after, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, head, after, "nothing appended")
	_, err = store.ReadStream(ctx, counterAgg.Stream(other), eventstore.ReadStreamOptions{})
	assert.ErrorIs(t, err, eventstore.ErrStreamNotFound)

	claims, err := store.ReadStream(ctx, commands.KeyClaimStream(a.AccountID.String()+"/k-1"), eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Len(t, claims, 1)
	assert.Equal(t, commands.IdempotencyKeyClaimed{}.EventType(), claims[0].Type)

	// Another account's same key is its own.
	otherCtx, _ := actorCtx()
	_, err = commands.Execute(keyedAs(otherCtx, "k-1", "PUT /counters/2 reset"), p, counterAgg, other, "reset", add(1))
	require.NoError(t, err)
}

// A request refused by the domain keeps its key: its retry runs again
// (and succeeds once the state allows it), another request under the key
// is refused.
func TestIdempotencyKeyOfARefusedRequestStaysItsOwn(t *testing.T) {
	t.Parallel()
	p, _ := newPipeline(t)
	ctx, _ := actorCtx()
	id := uuid.New()
	_, err := commands.Execute(ctx, p, counterAgg, id, "add", add(100))
	require.NoError(t, err)

	_, err = commands.Execute(keyedAs(ctx, "k-2", "POST /counters/1 add 5"), p, counterAgg, id, "add", add(5))
	require.ErrorIs(t, err, errTooBig)
	_, err = commands.Execute(keyedAs(ctx, "k-2", "POST /counters/1 add 1"), p, counterAgg, id, "add", add(1))
	require.ErrorIs(t, err, commands.ErrIdempotencyKeyReused)

	_, err = commands.Execute(ctx, p, counterAgg, id, "add", add(-10))
	require.NoError(t, err)
	res, err := commands.Execute(keyedAs(ctx, "k-2", "POST /counters/1 add 5"), p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	assert.False(t, res.Replayed)
	loaded, err := commands.Load(ctx, p, counterAgg, id)
	require.NoError(t, err)
	assert.Equal(t, 95, loaded.State.total)
}

// A retry is the same caller's: the same request under the same key from
// another API key of the account is refused, whether the key was claimed
// (a request with a fingerprint) or only recorded by an earlier build's
// events; the first caller's retry still replays.
func TestIdempotencyKeyRetriedByAnotherAPIKeyIsRefused(t *testing.T) {
	t.Parallel()
	p, _ := newPipeline(t)
	first, a := actorCtx()
	other := a
	other.APIKeyID = uuid.New()
	second := commands.WithCorrelationID(domain.WithActor(context.Background(), other), "req-2")

	id := uuid.New()
	_, err := commands.Execute(keyedAs(first, "k-3", "POST /counters/1 add"), p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	_, err = commands.Execute(keyedAs(second, "k-3", "POST /counters/1 add"), p, counterAgg, id, "add", add(5))
	require.ErrorIs(t, err, commands.ErrIdempotencyKeyReused)
	again, err := commands.Execute(keyedAs(first, "k-3", "POST /counters/1 add"), p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	assert.True(t, again.Replayed)

	// Recorded without a claim (no fingerprint then), retried with one.
	legacy := uuid.New()
	_, err = commands.Execute(keyedAs(first, "k-4", ""), p, counterAgg, legacy, "add", add(5))
	require.NoError(t, err)
	_, err = commands.Execute(keyedAs(second, "k-4", "POST /counters/2 add"), p, counterAgg, legacy, "add", add(5))
	require.ErrorIs(t, err, commands.ErrIdempotencyKeyReused)
	// The refusal claimed nothing: the first caller's retry replays (and
	// claims the key).
	replay, err := commands.Execute(keyedAs(first, "k-4", "POST /counters/2 add"), p, counterAgg, legacy, "add", add(5))
	require.NoError(t, err)
	assert.True(t, replay.Replayed)
	loaded, err := commands.Load(first, p, counterAgg, legacy)
	require.NoError(t, err)
	assert.Equal(t, 5, loaded.State.total, "nothing applied twice")
}
