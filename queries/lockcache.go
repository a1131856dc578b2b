package queries

import (
	"sync"

	"github.com/accessd/accessd/projections"
)

// ReadModelChanges tells a cache when the read models it reads may have
// changed (projections.Changes): count moves with every write to them, and
// ok is false while this process does not apply them itself.
type ReadModelChanges interface {
	Count() (count uint64, ok bool)
}

// LockReadModels are the projections whose tables GetLock reads, for
// projections.Set.Changes (which refuses a name it does not run).
var LockReadModels = []string{"entities", "keymaps", "firmware"}

// maxCachedLocks bounds the lock cache: about 2 KiB a lock, 20 MiB in all.
const maxCachedLocks = 10_000

// lockCache keeps the locks GetLock read, each with the change count read
// before it was read: a lock's read is the hottest request (every app and
// lock asks), and reading it again from the database was a third of the
// server's CPU for it. An entry is served only while the count is the
// same, so nothing written since is hidden.
type lockCache struct {
	changes ReadModelChanges
	mu      sync.RWMutex
	locks   map[string]cachedLock
}

type cachedLock struct {
	count uint64
	doc   LockDocument
}

// CacheLocks makes GetLock keep what it reads until changes says the
// entities, key maps or firmware read models changed, on SQLite read
// models only. Called once, before q is used.
//
// PostgreSQL read models are shared by several servers, and the one
// holding the projections lease may lose it (its connection cut) and
// learn so only a second or more later, while another server already
// commits changes the first would go on answering from its cache.
// Embedded SQLite read models are written by this process alone.
func (q *Entities) CacheLocks(changes ReadModelChanges) *Entities {
	if q.db.Dialect == projections.SQLite {
		q.locks = &lockCache{changes: changes, locks: map[string]cachedLock{}}
	}
	return q
}

// count is the change count to read under, and whether to cache at all.
func (c *lockCache) count() (uint64, bool) {
	if c == nil {
		return 0, false
	}
	return c.changes.Count()
}

// get returns lock id as read under count, if it was.
func (c *lockCache) get(id string, count uint64) (LockDocument, bool) {
	c.mu.RLock()
	e, ok := c.locks[id]
	c.mu.RUnlock()
	return e.doc, ok && e.count == count
}

// put keeps doc, read under count, replacing an arbitrary entry when full.
func (c *lockCache) put(id string, count uint64, doc LockDocument) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.locks[id]; !ok && len(c.locks) >= maxCachedLocks {
		for other := range c.locks {
			delete(c.locks, other)
			break
		}
	}
	c.locks[id] = cachedLock{count: count, doc: doc}
}
