package commands

import "sync"

// maxCachedStreams bounds the aggregate cache.
const maxCachedStreams = 50_000

// stateCache keeps the last state the pipeline knew of each stream, so a
// command reads only the events after it instead of refolding the whole
// stream. Streams only grow, so a cached prefix is never wrong: a load
// still reads whatever another writer appended since.
type stateCache struct {
	mu sync.Mutex
	m  map[string]any
}

func newStateCache() *stateCache { return &stateCache{m: map[string]any{}} }

func (c *stateCache) get(stream string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[stream]
	return v, ok
}

func (c *stateCache) put(stream string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[stream]; !ok && len(c.m) >= maxCachedStreams {
		for k := range c.m { // drop an arbitrary entry: cheap, and good enough
			delete(c.m, k)
			break
		}
	}
	c.m[stream] = v
}
