package sqlite

import "github.com/google/uuid"

// defaultMaxCachedIDs bounds the writer's id cache, in revisions of all
// streams together plus entryCost per stream. An id costs at most about 57
// bytes in a Go map of 16-byte keys and 8-byte revisions (53 measured at
// 2^19 and 2^20 ids, just after the map grew), so the cache stays under
// about 60 MiB.
const defaultMaxCachedIDs = 1 << 20

// entryCost is what a stream's entry costs besides its ids, in ids: about
// 400 bytes, the entry and a map's first group of 8 slots.
const entryCost = 8

// streamIDs holds every id of revisions 0…last of one stream, each with the
// first revision that holds it.
type streamIDs struct {
	stream     string
	first      map[uuid.UUID]int64
	last       int64
	prev, next *streamIDs // the cache's recency list
}

// idCache answers the idempotency check of Any and StreamExists appends,
// "is this id already in the stream, and where", without an index on
// (stream, id): such an index costs every append a page write, for a check
// only those appends need. It holds the committed ids of the streams that
// received such appends, the least recently used streams evicted first past
// max revisions in all. Stored rows never change, so an entry stays true;
// it may only lag the stream, and the writer reads what it lacks. Only the
// writer goroutine uses it.
type idCache struct {
	max     int64
	size    int64 // sum of last+1+entryCost over the entries
	streams map[string]*streamIDs
	lru     streamIDs // sentinel: lru.next is the most recently used
}

func newIDCache(max int64) *idCache {
	c := &idCache{max: max, streams: map[string]*streamIDs{}}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	return c
}

// fits reports whether a stream whose last revision is last can be cached.
func (c *idCache) fits(last int64) bool { return last+1+entryCost <= c.max }

// get returns the stream's entry, created empty if needed, as the most
// recently used one.
func (c *idCache) get(stream string) *streamIDs {
	e := c.streams[stream]
	if e == nil {
		e = &streamIDs{stream: stream, first: map[uuid.UUID]int64{}, last: -1}
		c.streams[stream] = e
		c.size += entryCost
	} else {
		e.prev.next, e.next.prev = e.next, e.prev
	}
	e.prev, e.next = &c.lru, c.lru.next
	e.next.prev = e
	c.lru.next = e
	return e
}

// add records that revision rev, the one after e.last, holds id.
func (c *idCache) add(e *streamIDs, rev int64, id uuid.UUID) {
	if _, ok := e.first[id]; !ok {
		e.first[id] = rev
	}
	e.last = rev
	c.size++
}

// committed takes in the events a committed transaction wrote, in order, for
// the streams the cache holds. A write that does not follow an entry's last
// revision is left out, and the entry lags: the next check reads the gap.
func (c *idCache) committed(writes []idWrite) {
	for _, w := range writes {
		if e := c.streams[w.stream]; e != nil && w.revision == e.last+1 {
			c.add(e, w.revision, w.id)
		}
	}
	c.evict()
}

// evict drops least recently used streams until the cache is within max.
func (c *idCache) evict() {
	for c.size > c.max {
		e := c.lru.prev
		e.prev.next, e.next.prev = e.next, e.prev
		delete(c.streams, e.stream)
		c.size -= e.last + 1 + entryCost
	}
}

// idWrite is one event a batch wrote, for the cache once it commits.
type idWrite struct {
	stream   string
	revision int64
	id       uuid.UUID
}
