package projections

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProgressWakesWaitersAndHonoursContext(t *testing.T) {
	var p Progress
	require.NoError(t, p.Wait(t.Context(), 0), "the zero value is at 0")

	done := make(chan error, 1)
	go func() { done <- p.Wait(t.Context(), 5) }()
	p.Set(3)
	select {
	case <-done:
		t.Fatal("woke before the position was reached")
	case <-time.After(20 * time.Millisecond):
	}
	p.Set(5)
	require.NoError(t, <-done)
	require.Equal(t, uint64(5), p.Load())

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, p.Wait(ctx, 9), context.Canceled)
}
