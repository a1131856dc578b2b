package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// gatedWaiter is read models that reach a position only once the test
// lets them.
type gatedWaiter struct {
	mu      sync.Mutex
	reached uint64
	moved   chan struct{}
}

func newGatedWaiter() *gatedWaiter { return &gatedWaiter{moved: make(chan struct{})} }

func (g *gatedWaiter) reach(pos uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reached = pos
	close(g.moved)
	g.moved = make(chan struct{})
}

func (g *gatedWaiter) WaitForCommands(ctx context.Context, pos uint64) error {
	for {
		g.mu.Lock()
		reached, moved := g.reached, g.moved
		g.mu.Unlock()
		if reached >= pos {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		}
	}
}

func (g *gatedWaiter) WaitFor(ctx context.Context, pos uint64) error {
	return g.WaitForCommands(ctx, pos)
}

// A revocation appended by another process empties the cache once the
// read models show it, not before (a lookup would put the old grants back)
// and not for other events.
func TestKeyCacheFollowsRevocationsAppendedElsewhere(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	log := memstore.New()
	defer log.Close()
	append1 := func(stream, eventType string) uint64 {
		t.Helper()
		res, err := log.Append(ctx, stream, eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: eventType, Data: json.RawMessage(`{}`)})
		require.NoError(t, err)
		return res.Position
	}
	// A revocation at or before the position the follower starts after is
	// not its business: the read models apply it before the cache is used.
	start := append1("user-"+uuid.NewString(), "UserUpdated")

	keys := NewKeyCache()
	readModels := newGatedWaiter()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		keys.FollowRevocations(ctx, log, start, readModels, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	cached := func() bool {
		_, ok, _ := keys.c.get("hash", time.Now())
		return ok
	}
	cache := func() {
		_, _, gen := keys.c.get("hash", time.Now())
		keys.c.put("hash", domain.Actor{AccountID: uuid.New()}, gen, time.Now())
		require.True(t, cached())
	}

	cache()
	other := append1("lock-"+uuid.NewString(), "LockRenamed")
	readModels.reach(other)
	time.Sleep(50 * time.Millisecond)
	assert.True(t, cached(), "an event that revokes nothing empties the cache")

	for _, eventType := range revocationTypes {
		cache()
		pos := append1("x-"+uuid.NewString(), eventType)
		time.Sleep(50 * time.Millisecond)
		assert.True(t, cached(), "%s: emptied before the read models show it", eventType)
		readModels.reach(pos)
		assert.Eventually(t, func() bool { return !cached() }, 5*time.Second, time.Millisecond, "%s: the cache kept the key", eventType)
	}
	cancel()
	<-followed
}
