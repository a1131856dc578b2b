package httpapi

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stuckKeys is a keys' read model that stays behind the log until released.
type stuckKeys struct {
	waiting atomic.Int64
	release chan struct{}
}

func (*stuckKeys) Position() uint64 { return 1 }

func (s *stuckKeys) WaitFor(ctx context.Context, _ uint64) error {
	s.waiting.Add(1)
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// While the keys' read model stays behind the log, at most maxKeyWaits
// requests with a key it does not know wait for it; the others are
// answered at once, so a flood of made-up keys holds no more.
func TestUnknownKeysWaitForTheReadModelAtMostSoMany(t *testing.T) {
	keys := &stuckKeys{release: make(chan struct{})}
	a := &API{logHead: func(context.Context) (uint64, error) { return 2, nil }, keysModel: keys,
		keyWaits: make(chan struct{}, maxKeyWaits)}
	var wg sync.WaitGroup
	waited := make(chan bool, maxKeyWaits)
	for range maxKeyWaits {
		wg.Add(1)
		go func() { defer wg.Done(); waited <- a.readModelBehind(context.Background(), keys.Position()) }()
	}
	require.Eventually(t, func() bool { return keys.waiting.Load() == maxKeyWaits }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.False(t, a.readModelBehind(ctx, keys.Position()), "one more is answered")
	require.EqualValues(t, maxKeyWaits, keys.waiting.Load(), "without waiting")
	close(keys.release)
	wg.Wait()
	close(waited)
	for w := range waited {
		require.True(t, w, "those that waited saw the read model catch up")
	}
	require.True(t, a.readModelBehind(context.Background(), keys.Position()), "the places are free again")
}

// caughtUpKeys is a keys' read model already at the log's head.
type caughtUpKeys struct{ waits atomic.Int64 }

func (*caughtUpKeys) Position() uint64 { return 2 }

func (c *caughtUpKeys) WaitFor(context.Context, uint64) error {
	c.waits.Add(1)
	return nil
}

// A key's event the read model applied while the first look-up ran (it
// was at 1 then, is at the head 2 now) calls for a second look-up, with
// no wait; a read model that was at the head when it looked calls for
// none.
func TestUnknownKeyLooksAgainWhenTheReadModelMovedDuringTheLookUp(t *testing.T) {
	keys := &caughtUpKeys{}
	a := &API{logHead: func(context.Context) (uint64, error) { return 2, nil }, keysModel: keys,
		keyWaits: make(chan struct{}, maxKeyWaits)}
	require.True(t, a.readModelBehind(context.Background(), 1), "moved from 1 to the head during the look-up")
	require.False(t, a.readModelBehind(context.Background(), 2), "was at the head when it looked")
	require.Zero(t, keys.waits.Load(), "nothing to wait for: the read model is at the head")
}
