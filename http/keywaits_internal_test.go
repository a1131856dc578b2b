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
		go func() { defer wg.Done(); waited <- a.readModelBehind(context.Background()) }()
	}
	require.Eventually(t, func() bool { return keys.waiting.Load() == maxKeyWaits }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.False(t, a.readModelBehind(ctx), "one more is answered")
	require.EqualValues(t, maxKeyWaits, keys.waiting.Load(), "without waiting")
	close(keys.release)
	wg.Wait()
	close(waited)
	for w := range waited {
		require.True(t, w, "those that waited saw the read model catch up")
	}
	require.True(t, a.readModelBehind(context.Background()), "the places are free again")
}
