package seals_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// hookStore runs before once, just before the first Append it forwards.
type hookStore struct {
	eventstore.Store
	before func()
	done   chan struct{} // closed once before has run
}

func (h *hookStore) Append(ctx context.Context, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	if f := h.before; f != nil {
		h.before = nil
		f()
		close(h.done)
	}
	return h.Store.Append(ctx, stream, exp, evs...)
}

// Two sealers seal the same position at once (a lease changing hands while
// the old holder still seals at its stop). The seal's id is the same, so
// the second append is the store's idempotent no-op at the very place the
// second sealer expected: it must chain its next seal from the seal that
// was stored, not from the one it built.
func TestTwinSealersKeepTheSealChain(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	reg, pub, key := notesFixture(t, mem)
	hooked := &hookStore{Store: mem, done: make(chan struct{})}
	hooked.before = func() {
		stop := runSealer(t, mem, key, 5)
		require.Eventually(t, func() bool { return countSeals(t, mem) == 1 }, 5*time.Second, 5*time.Millisecond)
		require.NoError(t, stop())
	}
	later := func() time.Time { return time.Now().Add(time.Hour) }
	sealer, err := seals.NewSealer(hooked, key, later, slog.New(slog.DiscardHandler), 5, time.Hour)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sealer.Run(ctx) }()

	select {
	case <-hooked.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sealer did not seal")
	}
	require.Eventually(t, func() bool { return countSeals(t, mem) == 1 }, 5*time.Second, 5*time.Millisecond)
	appendChained(t, mem, reg, "note-0", 5)
	require.Eventually(t, func() bool { return countSeals(t, mem) == 2 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	rep, err := seals.Verify(t.Context(), mem, seals.VerifyOptions{PublicKey: pub, Registry: reg})
	require.NoError(t, err)
	require.Nil(t, rep.Failure, "%v", rep.Failure)
	require.Equal(t, 2, rep.Seals)
}
