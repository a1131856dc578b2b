package httpapi

import (
	"sync"
	"time"

	"github.com/accessd/accessd/domain"
)

// authTTL bounds how long a resolved key is trusted without asking the read
// model again. A key deleted through this server is forgotten at once (see
// forgetKeys); the TTL only bounds what another process deleted.
const authTTL = time.Second

// maxCachedKeys bounds the cache; past it the cache starts again empty.
const maxCachedKeys = 100_000

// authCache remembers which actor an API key hash stands for, so a read
// costs one lookup less. Only keys found are cached: a miss always asks.
type authCache struct {
	mu sync.Mutex
	// gen rises whenever the cache is cleared; a lookup that began before
	// a clear does not store its (possibly stale) answer.
	gen     uint64
	entries map[string]cachedActor
}

type cachedActor struct {
	actor   domain.Actor
	expires time.Time
}

func newAuthCache() *authCache { return &authCache{entries: map[string]cachedActor{}} }

// get returns the cached actor for hash, and the generation to pass to put.
func (c *authCache) get(hash string, now time.Time) (domain.Actor, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if ok && now.Before(e.expires) {
		return e.actor, true, c.gen
	}
	return domain.Actor{}, false, c.gen
}

// put stores an actor read at generation gen, unless the cache was cleared
// since.
func (c *authCache) put(hash string, a domain.Actor, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= maxCachedKeys {
		c.entries = map[string]cachedActor{}
	}
	c.entries[hash] = cachedActor{actor: a, expires: now.Add(authTTL)}
}

// clear forgets every key: called after a key is deleted.
func (c *authCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = map[string]cachedActor{}
}
