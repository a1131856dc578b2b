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
// lets them. It notes the highest position a caller has waited for, so a
// test can tell when its follower has read an event and is waiting on it.
type gatedWaiter struct {
	mu      sync.Mutex
	reached uint64
	moved   chan struct{}
	// asked is the highest position waited for; askedMoved is closed
	// (and replaced) when it grows.
	asked      uint64
	askedMoved chan struct{}
}

func newGatedWaiter() *gatedWaiter {
	return &gatedWaiter{moved: make(chan struct{}), askedMoved: make(chan struct{})}
}

func (g *gatedWaiter) reach(pos uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reached = pos
	close(g.moved)
	g.moved = make(chan struct{})
}

// awaitAsked returns once a caller has waited for pos or a later position,
// failing the test if none has within a deadline far beyond any machine's
// scheduling delay.
func (g *gatedWaiter) awaitAsked(t *testing.T, pos uint64) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		g.mu.Lock()
		asked, moved := g.asked, g.askedMoved
		g.mu.Unlock()
		if asked >= pos {
			return
		}
		select {
		case <-moved:
		case <-deadline.C:
			t.Fatalf("nothing waited for the read models to reach position %d (the highest asked: %d)", pos, asked)
		}
	}
}

func (g *gatedWaiter) WaitForCommands(ctx context.Context, pos uint64) error {
	g.mu.Lock()
	if pos > g.asked {
		g.asked = pos
		close(g.askedMoved)
		g.askedMoved = make(chan struct{})
	}
	g.mu.Unlock()
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

	// No sleeps: each check waits for the follower to have read the
	// revocation from the log and to be waiting for the read models to
	// show it. It reads in log order, so by then it has also passed the
	// event that revokes nothing appended before.
	for _, eventType := range revocationTypes {
		cache()
		other := append1("lock-"+uuid.NewString(), "LockRenamed")
		readModels.reach(other)
		pos := append1("x-"+uuid.NewString(), eventType)
		readModels.awaitAsked(t, pos)
		assert.True(t, cached(), "%s: the cache was emptied before the read models show it, or by an event that revokes nothing", eventType)
		readModels.reach(pos)
		assert.Eventually(t, func() bool { return !cached() }, 10*time.Second, time.Millisecond, "%s: the cache kept the key", eventType)
	}
	cancel()
	<-followed
}

// A key deleted, a user deleted or a property deleted by another process
// takes effect here as soon as the event is read from the log, before the
// read models show it: the key (those acting for the user, the grants
// scoped to the property) is refused, and nothing looked up before is
// cached.
func TestKeyCacheRefusesWhatTheLogRevokesBeforeTheReadModelsShowIt(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	log := memstore.New()
	defer log.Close()
	appendEvent := func(stream, eventType, data string) uint64 {
		t.Helper()
		res, err := log.Append(ctx, stream, eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: eventType, Data: json.RawMessage(data)})
		require.NoError(t, err)
		return res.Position
	}
	start := appendEvent("lock-"+uuid.NewString(), "LockRenamed", `{}`)
	keys := NewKeyCache()
	readModels := newGatedWaiter() // reaches each revocation once checked
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		keys.FollowRevocations(ctx, log, start, readModels, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()

	keyID, userID, propertyID := uuid.New(), uuid.New(), uuid.New()
	other := domain.Actor{AccountID: uuid.New(), APIKeyID: uuid.New(), UserID: uuid.New()}
	for _, c := range []struct {
		eventType, data string
		refused         func() bool
	}{
		{"ApiKeyDeleted", `{"apiKeyId":"` + keyID.String() + `"}`,
			func() bool { return keys.c.revoked(domain.Actor{APIKeyID: keyID}) }},
		{"UserDeleted", `{"userId":"` + userID.String() + `"}`,
			func() bool { return keys.c.revoked(domain.Actor{APIKeyID: uuid.New(), UserID: userID}) }},
		{"PropertyDeleted", `{"propertyId":"` + propertyID.String() + `"}`,
			func() bool { return keys.c.gone(propertyID) }},
	} {
		_, _, gen := keys.c.get("hash", time.Now())
		keys.c.put("hash", other, gen, time.Now())
		require.False(t, c.refused(), c.eventType)
		pos := appendEvent("x-"+uuid.NewString(), c.eventType, c.data)
		readModels.awaitAsked(t, pos)
		assert.True(t, c.refused(), "%s: not refused before the read models show it", c.eventType)
		_, ok, _ := keys.c.get("hash", time.Now())
		assert.False(t, ok, "%s: the cache kept a key", c.eventType)
		keys.c.put("hash", other, gen, time.Now())
		_, ok, _ = keys.c.get("hash", time.Now())
		assert.False(t, ok, "%s: a lookup from before the revocation was cached", c.eventType)
		readModels.reach(pos) // on to the next
	}
	assert.False(t, keys.c.revoked(other), "an actor nothing revoked was refused")
	cancel()
	<-followed
}
