package commands_test

import (
	"context"
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

// A counter aggregate small enough to exercise the pipeline alone.
type counted struct {
	By int `json:"by"`
}

func (counted) EventType() string { return "Counted" }

type counter struct{ total int }

var counterAgg = commands.Aggregate[counter]{
	Category: "counter",
	Evolve: func(s counter, e domain.Event) counter {
		if c, ok := e.(counted); ok {
			s.total += c.By
		}
		return s
	},
}

var errTooBig = domain.NewError(domain.ErrUnprocessable, "too big")

func add(by int) commands.Decision[counter] {
	return func(l commands.Loaded[counter], _ time.Time) ([]domain.Event, error) {
		if l.State.total+by > 100 {
			return nil, errTooBig
		}
		return []domain.Event{counted{By: by}, counted{By: 0}}, nil
	}
}

var clock = time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)

func newPipeline(t *testing.T) (*commands.Pipeline, eventstore.Store) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	reg := eventstore.NewRegistry()
	reg.Register(counted{})
	reg.Register(commands.IdempotencyKeyClaimed{})
	p, err := commands.NewPipeline(store, reg, func() time.Time { return clock })
	require.NoError(t, err)
	return p, store
}

func actorCtx() (context.Context, domain.Actor) {
	a := domain.Actor{AccountID: uuid.New(), APIKeyID: uuid.New(), Grants: []domain.Grant{{Permission: domain.PermOwner}}}
	ctx := domain.WithActor(context.Background(), a)
	return commands.WithCorrelationID(ctx, "req-1"), a
}

func TestNewPipelineRefusesNilDependencies(t *testing.T) {
	t.Parallel()
	_, err := commands.NewPipeline(nil, eventstore.NewRegistry(), time.Now)
	require.Error(t, err)
}

func TestExecuteAppendsWithMetadataAndHashChain(t *testing.T) {
	t.Parallel()
	p, store := newPipeline(t)
	ctx, actor := actorCtx()
	id := uuid.New()

	res, err := commands.Execute(ctx, p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), res.Revision)
	_, err = commands.Execute(ctx, p, counterAgg, id, "add", add(7))
	require.NoError(t, err)

	loaded, err := commands.Load(ctx, p, counterAgg, id)
	require.NoError(t, err)
	assert.Equal(t, 12, loaded.State.total)
	assert.Equal(t, uint64(3), loaded.Revision)

	recs, err := store.ReadStream(ctx, "counter-"+id.String(), eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	require.Len(t, recs, 4)
	prev := ""
	for _, rec := range recs {
		env, err := p.Registry().Decode(rec)
		require.NoError(t, err)
		m := env.Metadata
		assert.Equal(t, actor.AccountID.String(), m.AccountID)
		assert.Equal(t, actor.APIKeyID.String(), m.APIKeyID)
		assert.Equal(t, "req-1", m.CorrelationID)
		assert.True(t, m.OccurredAt.Equal(clock))
		want := eventstore.ChainHash(prev, rec.ID, rec.Type, rec.Stream, rec.Revision, rec.Data, m)
		assert.Equal(t, want, m.Hash, "hash chain at revision %d", rec.Revision)
		prev = m.Hash
	}
}

func TestExecuteReturnsTheDecisionError(t *testing.T) {
	t.Parallel()
	p, _ := newPipeline(t)
	ctx, _ := actorCtx()
	_, err := commands.Execute(ctx, p, counterAgg, uuid.New(), "add", add(500))
	require.ErrorIs(t, err, errTooBig)
	require.ErrorIs(t, err, domain.ErrUnprocessable)
}

func TestExecuteRetriesAfterAConcurrentChange(t *testing.T) {
	t.Parallel()
	p, store := newPipeline(t)
	ctx, _ := actorCtx()
	id := uuid.New()
	stream := "counter-" + id.String()
	calls := 0
	res, err := commands.Execute(ctx, p, counterAgg, id, "add", func(l commands.Loaded[counter], now time.Time) ([]domain.Event, error) {
		calls++
		if calls == 1 {
			// Another writer gets in between our read and our append.
			ev, err := p.Registry().Encode(uuid.New(), counted{By: 90}, eventstore.Metadata{})
			require.NoError(t, err)
			_, err = store.Append(ctx, stream, eventstore.Any, ev)
			require.NoError(t, err)
		}
		return add(5)(l, now)
	})
	require.NoError(t, err)
	assert.Equal(t, 2, calls, "decided again against the reloaded state")
	loaded, err := commands.Load(ctx, p, counterAgg, id)
	require.NoError(t, err)
	assert.Equal(t, 95, loaded.State.total)
	assert.Equal(t, uint64(2), res.Revision)
}

func TestExecuteGivesUpWithAConflictAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	p, store := newPipeline(t)
	ctx, _ := actorCtx()
	id := uuid.New()
	calls := 0
	_, err := commands.Execute(ctx, p, counterAgg, id, "add", func(l commands.Loaded[counter], now time.Time) ([]domain.Event, error) {
		calls++
		ev, err := p.Registry().Encode(uuid.New(), counted{By: 0}, eventstore.Metadata{})
		require.NoError(t, err)
		_, err = store.Append(ctx, "counter-"+id.String(), eventstore.Any, ev)
		require.NoError(t, err)
		return add(1)(l, now)
	})
	require.ErrorIs(t, err, commands.ErrConcurrentChange)
	require.ErrorIs(t, err, domain.ErrConflict)
	assert.Equal(t, commands.MaxAttempts, calls)
}

func TestIdempotencyKeyAppendsNothingTwice(t *testing.T) {
	t.Parallel()
	p, store := newPipeline(t)
	ctx, _ := actorCtx()
	keyed := commands.WithIdempotencyKey(ctx, "order-42")
	id := uuid.New()

	first, err := commands.Execute(keyed, p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	require.False(t, first.Replayed)
	_, err = commands.Execute(ctx, p, counterAgg, id, "add", add(1)) // someone else, no key
	require.NoError(t, err)

	again, err := commands.Execute(keyed, p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Revision, again.Revision)
	assert.Equal(t, first.Position, again.Position)
	assert.Equal(t, first.Events, again.Events)

	loaded, err := commands.Load(ctx, p, counterAgg, id)
	require.NoError(t, err)
	assert.Equal(t, 6, loaded.State.total, "the repeat appended nothing")

	// The same key for another command is a different request.
	other, err := commands.Execute(keyed, p, counterAgg, id, "add-other", add(2))
	require.NoError(t, err)
	assert.False(t, other.Replayed)
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	assert.Equal(t, other.Position, head)
}

func TestIdempotencyKeysAreScopedToTheAccount(t *testing.T) {
	t.Parallel()
	p, _ := newPipeline(t)
	ctxA, _ := actorCtx()
	ctxB, _ := actorCtx()
	id := uuid.New()
	_, err := commands.Execute(commands.WithIdempotencyKey(ctxA, "k"), p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	res, err := commands.Execute(commands.WithIdempotencyKey(ctxB, "k"), p, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	assert.False(t, res.Replayed)
}

func TestEmptyDecisionAppendsNothing(t *testing.T) {
	t.Parallel()
	p, store := newPipeline(t)
	ctx, _ := actorCtx()
	res, err := commands.Execute(ctx, p, counterAgg, uuid.New(), "noop", func(commands.Loaded[counter], time.Time) ([]domain.Event, error) {
		return nil, nil
	})
	require.NoError(t, err)
	assert.Empty(t, res.Events)
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	assert.Zero(t, head)
}
