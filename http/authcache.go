package httpapi

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// authTTL bounds how long a resolved key is trusted without asking the read
// model again. A key deleted, a user's grants changed or a property deleted
// through this server are forgotten at once (see API.settle); the TTL only
// bounds what another process changed.
const authTTL = time.Second

// maxCachedKeys bounds the cache; past it the cache starts again empty.
const maxCachedKeys = 100_000

// authCache remembers which actor an API key hash stands for, so a read
// costs one lookup less. Only keys found are cached: a miss always asks.
type authCache struct {
	// mu is read-locked on every request's look-up, written rarely.
	mu sync.RWMutex
	// gen rises whenever the cache is cleared; a lookup that began before
	// a clear does not store its (possibly stale) answer.
	gen     uint64
	entries map[string]cachedActor
	// deleted holds the properties deleted through this server, which the
	// read model may not show yet (a settle that timed out): a grant scoped
	// to one grants nothing from the moment its deletion is known. A
	// deleted property never comes back, so an id is never taken out; past
	// maxDeletedProperties the set starts again empty, the read model
	// answering for those by then.
	deleted map[uuid.UUID]struct{}
	// revokedKeys and revokedUsers hold the API keys and the users whose
	// deletion this server has seen in the log (KeyCache.follow), which
	// its read models may not show yet: a key deleted, or acting for a
	// user deleted, is refused from the moment the deletion is known,
	// whatever a lookup reads. Neither comes back, so an id is never taken
	// out; past maxRevoked a set starts again empty, the read model
	// answering for those by then.
	revokedKeys, revokedUsers map[uuid.UUID]struct{}
}

// maxDeletedProperties bounds authCache.deleted.
const maxDeletedProperties = 100_000

// maxRevoked bounds authCache.revokedKeys and revokedUsers.
const maxRevoked = 100_000

type cachedActor struct {
	actor   domain.Actor
	expires time.Time
}

func newAuthCache() *authCache {
	return &authCache{entries: map[string]cachedActor{}, deleted: map[uuid.UUID]struct{}{},
		revokedKeys: map[uuid.UUID]struct{}{}, revokedUsers: map[uuid.UUID]struct{}{}}
}

// get returns the cached actor for hash, and the generation to pass to put.
func (c *authCache) get(hash string, now time.Time) (domain.Actor, bool, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
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

// clear forgets every key: called after a key is deleted or a user's
// grants change.
func (c *authCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = map[string]cachedActor{}
}

// propertiesDeleted forgets every key, whose grants may be scoped to one
// of ids, and remembers ids as deleted: called after properties are
// deleted.
func (c *authCache) propertiesDeleted(ids []uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = map[string]cachedActor{}
	if len(c.deleted)+len(ids) > maxDeletedProperties {
		c.deleted = map[uuid.UUID]struct{}{}
	}
	for _, id := range ids {
		c.deleted[id] = struct{}{}
	}
}

// gone reports whether the property was deleted through this server.
func (c *authCache) gone(id uuid.UUID) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.deleted[id]
	return ok
}

// keysDeleted forgets every key and refuses those of ids (or acting for
// one of users) from now on: called once their deletion is in the log,
// before the read models may show it.
func (c *authCache) keysDeleted(ids, users []uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = map[string]cachedActor{}
	remember := func(set map[uuid.UUID]struct{}, ids []uuid.UUID) map[uuid.UUID]struct{} {
		if len(set)+len(ids) > maxRevoked {
			set = map[uuid.UUID]struct{}{}
		}
		for _, id := range ids {
			set[id] = struct{}{}
		}
		return set
	}
	c.revokedKeys = remember(c.revokedKeys, ids)
	c.revokedUsers = remember(c.revokedUsers, users)
}

// revoked reports whether a's key, or the user it acts for, is known to
// be deleted (keysDeleted).
func (c *authCache) revoked(a domain.Actor) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if _, ok := c.revokedKeys[a.APIKeyID]; ok && a.APIKeyID != uuid.Nil {
		return true
	}
	_, ok := c.revokedUsers[a.UserID]
	return ok && a.UserID != uuid.Nil
}
