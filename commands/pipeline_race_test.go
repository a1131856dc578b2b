package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// raceStore lets another request append just before the first Append it
// forwards, as a twin request racing this one would.
type raceStore struct {
	eventstore.Store
	before func()
}

func (r *raceStore) Append(ctx context.Context, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return r.Store.Append(ctx, stream, exp, evs...)
}

// Two requests with one Idempotency-Key run at once (a client or proxy
// retrying while the first is still in flight). Both load before either
// appends; the second's append is the store's idempotent no-op. It must
// answer what was stored, and a later command must extend the chain from
// the stored hash, not from the events it built but did not store.
func TestConcurrentRequestsWithOneIdempotencyKey(t *testing.T) {
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
	// The stream exists and late has it cached.
	_, err = commands.Execute(ctx, late, counterAgg, id, "add", add(1))
	require.NoError(t, err)

	keyed := commands.WithIdempotencyKey(ctx, "retry-me")
	var first commands.Result
	racing.before = func() {
		var err error
		first, err = commands.Execute(keyed, early, counterAgg, id, "add", add(5))
		require.NoError(t, err)
	}
	second, err := commands.Execute(keyed, late, counterAgg, id, "add", add(5))
	require.NoError(t, err)
	require.Equal(t, first.Revision, second.Revision)
	require.Equal(t, first.Position, second.Position)
	stored, err := mem.ReadStream(ctx, counterAgg.Stream(id), eventstore.ReadStreamOptions{From: 2})
	require.NoError(t, err)
	require.Len(t, stored, 2)

	// A later command through the pipeline that lost the race.
	_, err = commands.Execute(ctx, late, counterAgg, id, "add", add(2))
	require.NoError(t, err)
	rep, err := seals.Verify(ctx, mem, seals.VerifyOptions{Registry: reg, RequireChain: true})
	require.NoError(t, err)
	require.Nil(t, rep.Failure, "hash chain: %v", rep.Failure)

	var total int
	evs, err := mem.ReadStream(ctx, counterAgg.Stream(id), eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	for _, rec := range evs {
		env, err := reg.Decode(rec)
		require.NoError(t, err)
		total += env.Event.(domain.Event).(counted).By
	}
	require.Equal(t, 8, total)
}
