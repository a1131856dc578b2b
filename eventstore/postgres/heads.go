package postgres

// maxCachedHeads bounds the writer's cache of stream heads; past it the
// cache starts again empty.
const maxCachedHeads = 1 << 16

// streamHead is a stream's last revision (-1 for no stream) and the
// position of that event.
type streamHead struct {
	revision int64
	position uint64
}

// headCache is the committed state the writer remembers between batches:
// the last position it committed and the heads of the streams it has seen,
// so that a batch does not read them again. It is valid while nobody else
// has written to the table, which the writer checks under the write lock:
// max(position) is still the position it last committed. Only the writer
// goroutine uses it.
type headCache struct {
	valid    bool
	position uint64
	heads    map[string]streamHead
}

// check makes the cache match the table whose last position, read under
// the write lock, is pos: if someone else committed since the last batch,
// or the last batch failed, it forgets the heads.
func (c *headCache) check(pos uint64) {
	if c.valid && pos == c.position {
		return
	}
	c.heads = make(map[string]streamHead)
	c.position, c.valid = pos, true
}

// commit takes in the heads a committed (or rolled back, read-only) batch
// read or wrote, and its last position.
func (c *headCache) commit(position uint64, heads map[string]streamHead) {
	if len(c.heads)+len(heads) > maxCachedHeads {
		c.heads = make(map[string]streamHead, len(heads))
	}
	for s, h := range heads {
		c.heads[s] = h
	}
	c.position = position
}

// invalidate makes the next batch read everything again, after a failure
// left the cache's view of the table in doubt.
func (c *headCache) invalidate() { c.valid = false }
