package sqlite

import (
	"database/sql"
	"errors"
)

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
// the last position, its recorded_at and the heads of streams it has seen,
// so that a batch does not read them again. It is valid while no other
// connection has written to the file, which PRAGMA data_version tells. Only
// the writer goroutine uses it.
type headCache struct {
	valid       bool
	dataVersion int64
	position    uint64
	recordedAt  int64 // of the event at position; 0 for an empty log
	heads       map[string]streamHead
}

// refresh makes the cache match the file, inside the batch's transaction:
// if another connection committed since the last batch, or the last batch
// failed, it forgets the heads and reads the last position again.
func (c *headCache) refresh(tx *sql.Tx, w *writerStmts) error {
	var v int64
	if err := tx.Stmt(w.dataVersion).QueryRow().Scan(&v); err != nil {
		return err
	}
	if c.valid && v == c.dataVersion {
		return nil
	}
	c.valid = false
	err := tx.Stmt(w.lastEvent).QueryRow().Scan(&c.position, &c.recordedAt)
	if errors.Is(err, sql.ErrNoRows) {
		c.position, c.recordedAt = 0, 0
	} else if err != nil {
		return err
	}
	c.heads = make(map[string]streamHead)
	c.dataVersion, c.valid = v, true
	return nil
}

// commit takes in the heads a committed batch read or wrote.
func (c *headCache) commit(position uint64, heads map[string]batchHead) {
	if len(c.heads)+len(heads) > maxCachedHeads {
		c.heads = make(map[string]streamHead, len(heads))
	}
	for s, h := range heads {
		c.heads[s] = h.streamHead
	}
	c.position = position
}

// invalidate makes the next batch read everything again, after a failure
// left the cache's view of the file in doubt.
func (c *headCache) invalidate() { c.valid = false }
