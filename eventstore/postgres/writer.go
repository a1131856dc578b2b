package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// runWriter is the writer goroutine: it commits queued appends in groups
// until the store closes.
func (s *Store) runWriter(ctx context.Context) {
	defer s.workers.Done()
	batch := make([]*appendRequest, 0, s.cfg.maxBatch)
	replies := make([]appendReply, 0, s.cfg.maxBatch)
	for {
		var size int
		select {
		case <-s.closing:
			return
		case req := <-s.reqs:
			batch, size = append(batch[:0], req), req.size
		}
		// Take whatever else is already waiting: appends that arrived
		// while the previous batch was committing share this one's commit.
	drain:
		for len(batch) < s.cfg.maxBatch && size < s.cfg.maxBatchSize {
			select {
			case req := <-s.reqs:
				batch, size = append(batch, req), size+req.size
			default:
				break drain
			}
		}
		replies = s.commitBatch(ctx, batch, replies[:0])
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
func (s *Store) commitBatch(ctx context.Context, reqs []*appendRequest, replies []appendReply) []appendReply {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.writeTimeout)
	defer cancel()
	replies, err := s.writeBatch(ctx, reqs, replies)
	if err != nil {
		s.heads.invalidate()
		replies = replies[:0]
		for range reqs {
			replies = append(replies, appendReply{err: err})
		}
	}
	return replies
}

// writeBatch does commitBatch's work; an error fails the whole batch.
func (s *Store) writeBatch(ctx context.Context, reqs []*appendRequest, replies []appendReply) ([]appendReply, error) {
	pc, err := s.wpool.Acquire(ctx)
	if err != nil {
		return replies, unavailable("append: connect", err)
	}
	defer pc.Release()
	conn := pc.Conn()
	defer func() {
		// A failure inside the transaction: end it, or the pool drops the
		// connection on Release.
		if conn.PgConn().TxStatus() != 'I' {
			_, _ = conn.Exec(ctx, "ROLLBACK")
		}
	}()

	b := &batch{
		ctx:       ctx,
		conn:      conn,
		now:       s.cfg.clock().UTC().Truncate(time.Microsecond), // timestamptz's precision
		committed: map[string]streamHead{},
		heads:     map[string]streamHead{},
		firstRev:  map[idKey]int64{},
		pending:   map[string][]pendingEvent{},
	}
	// The head published before the batch reads the table: every position
	// up to it was committed, so the table must still hold it.
	seen := s.head.Load().pos
	if err := s.begin(b, reqs); err != nil {
		return replies, unavailable("append: begin", err)
	}
	// The table ending below a position this store already committed or
	// read: someone removed events from the log's end. Appending would
	// reuse their positions and hide the removal; refuse.
	if err := s.checkTruncated(b.head, seen); err != nil {
		return replies, fmt.Errorf("postgres: append: %w", err)
	}
	for _, req := range reqs {
		if err := req.ctx.Err(); err != nil {
			replies = append(replies, appendReply{err: err})
			continue
		}
		rep, err := b.apply(req)
		if err != nil {
			return replies, unavailable("append to "+req.stream, err)
		}
		replies = append(replies, rep)
	}
	if b.stored == 0 {
		// Only checks and no-ops: nothing to commit, and the replies
		// stand whatever the rollback says.
		_, _ = conn.Exec(ctx, "ROLLBACK")
		s.heads.commit(b.head, b.heads)
		return replies, nil
	}
	if s.beforeCommit != nil {
		s.beforeCommit(b.head-uint64(b.stored)+1, b.head)
	}
	if err := s.commit(b); err != nil {
		return replies, unavailable("append: commit", err)
	}
	s.heads.commit(b.head, b.heads)
	s.stats.commits.Add(1)
	s.stats.appends.Add(uint64(b.appends))
	s.stats.events.Add(uint64(b.stored))
	s.publishHead(b.head)
	return replies, nil
}

// begin opens the batch's transaction, takes the write lock, reads the last
// position and the heads and stored first ids the requests need, all in one
// round trip when the head cache is valid.
func (s *Store) begin(b *batch, reqs []*appendRequest) error {
	var (
		streams    []string // streams of the batch, each once
		uncached   []string // those whose heads the cache may lack
		seen       = map[string]bool{}
		asked      = map[string]bool{} // uncached, as a set
		idStreams  []string
		ids        []uuid.UUID
		seenIDs    = map[idKey]bool{}
		fetched    = map[string]streamHead{}
		lastPos    uint64
		lastAt     *time.Time
		headsQuery = func(rows pgx.Rows) error {
			var (
				stream string
				h      streamHead
				pos    int64
			)
			_, err := pgx.ForEachRow(rows, []any{&stream, &h.revision, &pos}, func() error {
				h.position = uint64(pos)
				fetched[stream] = h
				return nil
			})
			return err
		}
	)
	for _, req := range reqs {
		if !seen[req.stream] {
			seen[req.stream] = true
			streams = append(streams, req.stream)
			if _, ok := s.heads.heads[req.stream]; !ok || !s.heads.valid {
				uncached = append(uncached, req.stream)
				asked[req.stream] = true
			}
		}
		if len(req.events) > 0 && (req.expected.IsAny() || req.expected.IsStreamExists()) {
			k := idKey{req.stream, req.events[0].ID}
			if !seenIDs[k] {
				seenIDs[k] = true
				idStreams, ids = append(idStreams, k.stream), append(ids, k.id)
			}
		}
	}

	pb := &pgx.Batch{}
	// READ COMMITTED whatever the database's default: the statement that
	// reads max(position) needs a snapshot taken after the lock is granted
	// (see qLock), which a REPEATABLE READ default would take before it.
	pb.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	pb.Queue(qLock, writeLockSpace, s.lockKey)
	pb.Queue(qLastEvent).QueryRow(func(row pgx.Row) error { return row.Scan(&lastPos, &lastAt) })
	if len(uncached) > 0 {
		pb.Queue(qHeads, uncached).Query(headsQuery)
	}
	if len(ids) > 0 {
		pb.Queue(qFirstRevs, idStreams, ids).Query(func(rows pgx.Rows) error {
			var (
				k   idKey
				rev *int64
			)
			_, err := pgx.ForEachRow(rows, []any{&k.stream, &k.id, &rev}, func() error {
				b.firstRev[k] = -1
				if rev != nil {
					b.firstRev[k] = *rev
				}
				return nil
			})
			return err
		})
	}
	if err := b.conn.SendBatch(b.ctx, pb).Close(); err != nil {
		return err
	}

	// Under the lock, the cache is valid only if nobody wrote since this
	// writer's last commit; if it was not, read the heads it held.
	s.heads.check(lastPos)
	b.head = lastPos
	// Never before the last recorded time, whichever process recorded it
	// and even after a clock stepped back: cutting the log by time (replay
	// --until, the audit's at) needs recorded times in position order.
	if lastAt != nil && lastAt.After(b.now) {
		b.now = lastAt.UTC()
	}
	var missing []string
	for _, st := range streams {
		if h, ok := fetched[st]; ok {
			b.committed[st] = h
		} else if h, ok := s.heads.heads[st]; ok {
			b.committed[st] = h
		} else if asked[st] {
			b.committed[st] = streamHead{revision: -1} // asked for, not found
		} else {
			missing = append(missing, st)
		}
	}
	if len(missing) > 0 {
		rows, err := b.conn.Query(b.ctx, qHeads, missing)
		if err != nil {
			return err
		}
		if err := headsQuery(rows); err != nil {
			return err
		}
		for _, st := range missing {
			h, ok := fetched[st]
			if !ok {
				h = streamHead{revision: -1}
			}
			b.committed[st] = h
		}
	}
	for st, h := range b.committed {
		b.heads[st] = h
	}
	return nil
}

// commit writes the batch's events, notifies the listeners and commits, in
// one round trip.
func (s *Store) commit(b *batch) error {
	r := &b.rows
	pb := &pgx.Batch{}
	pb.Queue(qInsert, r.positions, r.streams, r.revisions, r.ids, r.types, r.data, r.metadata, b.now)
	pb.Queue(qNotify, s.channel, strconv.FormatUint(b.head, 10))
	var tag pgconn.CommandTag
	pb.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		tag = ct
		return nil
	})
	if err := b.conn.SendBatch(b.ctx, pb).Close(); err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		return errors.New("the transaction was rolled back: " + tag.String())
	}
	return nil
}
