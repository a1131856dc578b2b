package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
)

// writerStmts are the statements the writer runs, prepared once on its
// connection.
type writerStmts struct {
	dataVersion *sql.Stmt
	maxPosition *sql.Stmt
	lastEvent   *sql.Stmt
	streamHead  *sql.Stmt
	scanID      *sql.Stmt
	idsAfter    *sql.Stmt
	idsBetween  *sql.Stmt
	insert      *sql.Stmt
}

func (w *writerStmts) prepare(db *sql.DB) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&w.dataVersion, `PRAGMA data_version`},
		{&w.maxPosition, qMaxPosition},
		{&w.lastEvent, `SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1`},
		{&w.streamHead, `SELECT revision, position FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1`},
		{&w.scanID, `SELECT MIN(revision) FROM events WHERE stream = ? AND id = ?`},
		{&w.idsAfter, `SELECT revision, id FROM events WHERE stream = ? AND revision > ? AND revision <= ? ORDER BY revision`},
		{&w.idsBetween, `SELECT id, position FROM events WHERE stream = ? AND revision BETWEEN ? AND ? ORDER BY revision`},
		{&w.insert, `INSERT INTO events (position, stream, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
	} {
		st, err := db.Prepare(p.query)
		if err != nil {
			return err
		}
		*p.stmt = st
	}
	return nil
}

func (w *writerStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.dataVersion, w.maxPosition, w.lastEvent, w.streamHead, w.scanID, w.idsAfter, w.idsBetween, w.insert} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// runWriter is the writer goroutine: it owns the write connection and
// commits queued appends in groups until the store closes.
func (s *Store) runWriter() {
	defer s.workers.Done()
	batch := make([]*appendRequest, 0, s.cfg.maxBatch)
	replies := make([]appendReply, 0, s.cfg.maxBatch)
	for {
		select {
		case <-s.closing:
			return
		case req := <-s.reqs:
			batch = append(batch[:0], req)
		}
		// Take whatever else is already waiting: appends that arrived
		// while the previous batch was syncing share this one's sync.
	drain:
		for len(batch) < s.cfg.maxBatch {
			select {
			case req := <-s.reqs:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		replies = s.commitBatch(batch, replies[:0])
		for i, req := range batch {
			req.reply <- replies[i]
			batch[i] = nil
		}
	}
}

// commitBatch runs the requests of batch in one transaction and returns
// their replies, in order. A request that fails its expected-revision check
// gets its error and leaves the others alone; a storage failure, or a failed
// COMMIT, fails every request of the batch.
func (s *Store) commitBatch(batch []*appendRequest, replies []appendReply) []appendReply {
	fail := func(err error) []appendReply {
		s.heads.invalidate()
		replies = replies[:0]
		for range batch {
			replies = append(replies, appendReply{err: err})
		}
		return replies
	}
	// The head published before the transaction reads the file: every
	// position up to it was committed, so the file must still hold it.
	seen := s.head.Load().pos
	tx, err := s.wdb.Begin() // BEGIN IMMEDIATE (_txlock in the DSN)
	if err != nil {
		return fail(unavailable("append: begin", err))
	}
	if err := s.heads.refresh(tx, &s.w); err != nil {
		_ = tx.Rollback()
		return fail(unavailable("append: head", err))
	}
	// The file ending below a position this store already appended or
	// read: another process removed events from the log's end. Appending
	// would reuse their positions and hide the removal; refuse.
	if err := s.checkTruncated(s.heads.position, seen); err != nil {
		_ = tx.Rollback()
		return fail(fmt.Errorf("sqlite: append: %w", err))
	}
	// Never before the last recorded time, even after the clock stepped
	// back: cutting the log by time (replay --until, the audit's at)
	// needs recorded times in position order.
	now := max(s.cfg.clock().UnixNano(), s.heads.recordedAt)
	b := newBatch(tx, &s.w, &s.heads, s.ids, now, len(batch))
	stored, appends := 0, 0
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			replies = append(replies, appendReply{err: err})
			continue
		}
		rep, err := b.apply(req)
		if err != nil {
			b.close()
			_ = tx.Rollback()
			return fail(unavailable("append to "+req.stream, err))
		}
		if rep.stored > 0 {
			stored += rep.stored
			appends++
		}
		replies = append(replies, rep)
	}
	b.close()
	if stored == 0 {
		// Only checks and no-ops: nothing to sync, and the replies
		// stand whatever the rollback says.
		_ = tx.Rollback()
		s.heads.commit(b.head, b.heads)
		return replies
	}
	if err := tx.Commit(); err != nil {
		return fail(unavailable("append: commit", err))
	}
	s.heads.commit(b.head, b.heads)
	s.heads.recordedAt = now
	s.ids.committed(b.writes)
	s.stats.commits.Add(1)
	s.stats.appends.Add(uint64(appends))
	s.stats.events.Add(uint64(stored))
	s.publishHead(b.head)
	return replies
}
