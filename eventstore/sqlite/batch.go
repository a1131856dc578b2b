package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/accessd/accessd/eventstore"
	"github.com/google/uuid"
)

// batch is the state of one write transaction: the last position and the
// heads of the streams it has touched, as left by its earlier requests, over
// the committed state in the writer's caches.
type batch struct {
	streamHead *sql.Stmt
	scanID     *sql.Stmt
	idsAfter   *sql.Stmt
	idsBetween *sql.Stmt
	insert     *sql.Stmt

	now    int64 // recorded_at of every event of the batch
	head   uint64
	heads  map[string]batchHead
	base   *headCache
	ids    *idCache
	writes []idWrite // every event written, for the id cache at commit
}

// batchHead is a stream's head as the batch left it, and the committed
// revision it started from.
type batchHead struct {
	streamHead
	committed int64
}

func newBatch(tx *sql.Tx, w *writerStmts, base *headCache, ids *idCache, now int64, requests int) *batch {
	return &batch{
		streamHead: tx.Stmt(w.streamHead),
		scanID:     tx.Stmt(w.scanID),
		idsAfter:   tx.Stmt(w.idsAfter),
		idsBetween: tx.Stmt(w.idsBetween),
		insert:     tx.Stmt(w.insert),
		now:        now,
		head:       base.position,
		heads:      make(map[string]batchHead, requests),
		base:       base,
		ids:        ids,
		writes:     make([]idWrite, 0, requests),
	}
}

func (b *batch) close() {
	for _, st := range []*sql.Stmt{b.streamHead, b.scanID, b.idsAfter, b.idsBetween, b.insert} {
		_ = st.Close() // statements of a transaction; closing cannot fail in a way that matters
	}
}

// apply checks one request against the stream's head and, unless it is a
// conflict or an idempotent no-op, writes its events. The returned error is
// a storage failure; a conflict is in the reply.
func (b *batch) apply(req *appendRequest) (appendReply, error) {
	bh, err := b.streamHeadOf(req.stream)
	if err != nil {
		return appendReply{}, err
	}
	h := bh.streamHead
	conflict := func() (appendReply, error) {
		return appendReply{err: &eventstore.WrongExpectedVersionError{Stream: req.stream, Expected: req.expected, Actual: h.revision}}, nil
	}
	n := len(req.events)

	rev, exact := req.expected.Revision()
	if exact || req.expected.IsNoStream() {
		want := int64(-1)
		if exact {
			if rev > math.MaxInt64 {
				return conflict()
			}
			want = int64(rev)
		}
		if h.revision == want {
			return b.write(req, bh)
		}
		// Not at the expected place: a retry of events already stored
		// right after it is a no-op, anything else a conflict.
		if n > 0 && h.revision > want {
			rep, ok, err := b.sameIDs(req.stream, want+1, h.revision, req.events)
			if err != nil || ok {
				return rep, err
			}
		}
		return conflict()
	}

	// Any or StreamExists.
	if !req.expected.Satisfied(h.revision) {
		return conflict()
	}
	if n > 0 && h.revision >= 0 {
		first, found, err := b.revisionOf(req.stream, bh, req.events[0].ID)
		if err != nil {
			return appendReply{}, err
		}
		if found {
			rep, ok, err := b.sameIDs(req.stream, first, h.revision, req.events)
			if err != nil || ok {
				return rep, err
			}
			// The first id is stored but the rest do not follow it: never
			// store an id twice, report the conflict instead.
			return conflict()
		}
	}
	return b.write(req, bh)
}

// streamHeadOf returns the stream's head as this batch left it.
func (b *batch) streamHeadOf(stream string) (batchHead, error) {
	if h, ok := b.heads[stream]; ok {
		return h, nil
	}
	if h, ok := b.base.heads[stream]; ok {
		return batchHead{streamHead: h, committed: h.revision}, nil
	}
	h := streamHead{revision: -1}
	err := b.streamHead.QueryRow(stream).Scan(&h.revision, &h.position)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return batchHead{}, err
	}
	bh := batchHead{streamHead: h, committed: h.revision}
	b.heads[stream] = bh
	return bh, nil
}

// revisionOf finds the first revision of stream (whose head in this batch
// is h) holding event id: in the id cache for the committed revisions, then
// among this batch's own writes, which follow them.
func (b *batch) revisionOf(stream string, h batchHead, id uuid.UUID) (int64, bool, error) {
	if !b.ids.fits(h.committed) {
		// Too long to cache: search the stream's rows, the whole of it.
		var rev sql.NullInt64
		if err := b.scanID.QueryRow(stream, id[:]).Scan(&rev); err != nil {
			return 0, false, err
		}
		return rev.Int64, rev.Valid, nil
	}
	e := b.ids.get(stream)
	if e.last < h.committed {
		// First check on this stream since it was evicted, or since
		// the store opened, or another process appended to it.
		if err := b.catchUp(e, h.committed); err != nil {
			return 0, false, err
		}
		b.ids.evict()
	}
	if rev, ok := e.first[id]; ok {
		return rev, true, nil
	}
	if h.revision == h.committed {
		return 0, false, nil
	}
	rows, err := b.idsBetween.Query(stream, h.committed+1, h.revision)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var (
		got sql.RawBytes
		pos uint64
	)
	for rev := h.committed + 1; rows.Next(); rev++ {
		if err := rows.Scan(&got, &pos); err != nil {
			return 0, false, err
		}
		if string(got) == string(id[:]) {
			return rev, true, rows.Close()
		}
	}
	return 0, false, rows.Err()
}

// catchUp reads the ids of revisions e.last+1 … to of e's stream into the
// cache, through the (stream, revision) index.
func (b *batch) catchUp(e *streamIDs, to int64) error {
	if e.last < 0 {
		e.first = make(map[uuid.UUID]int64, to+1) // no growing while loading
	}
	rows, err := b.idsAfter.Query(e.stream, e.last, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		rev int64
		raw sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&rev, &raw); err != nil {
			return err
		}
		id, err := uuid.FromBytes(raw)
		if err != nil {
			return fmt.Errorf("stream %s revision %d: %w", e.stream, rev, err)
		}
		if rev != e.last+1 {
			return fmt.Errorf("stream %s: revision %d follows %d", e.stream, rev, e.last)
		}
		b.ids.add(e, rev, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if e.last != to {
		return fmt.Errorf("stream %s: read up to revision %d of %d", e.stream, e.last, to)
	}
	return nil
}

// sameIDs reports whether revisions from … from+len(events)-1 of stream
// (whose last revision is last) hold exactly the ids of events, in order;
// if so the reply reports those stored events.
func (b *batch) sameIDs(stream string, from, last int64, events []eventstore.EventData) (appendReply, bool, error) {
	to := from + int64(len(events)) - 1
	if to > last {
		return appendReply{}, false, nil
	}
	rows, err := b.idsBetween.Query(stream, from, to)
	if err != nil {
		return appendReply{}, false, err
	}
	defer rows.Close()
	var (
		id  sql.RawBytes
		pos uint64
		i   int
	)
	for rows.Next() {
		if err := rows.Scan(&id, &pos); err != nil {
			return appendReply{}, false, err
		}
		if i >= len(events) || string(id) != string(events[i].ID[:]) {
			return appendReply{}, false, nil
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return appendReply{}, false, err
	}
	if i != len(events) {
		return appendReply{}, false, nil
	}
	return appendReply{result: eventstore.AppendResult{NextExpectedRevision: uint64(to), Position: pos}}, true, nil
}

// write inserts the request's events after head bh, at the next positions.
func (b *batch) write(req *appendRequest, bh batchHead) (appendReply, error) {
	h := &bh.streamHead
	for i := range req.events {
		ev := &req.events[i]
		h.revision++
		b.head++
		h.position = b.head
		if _, err := b.insert.Exec(int64(b.head), req.stream, h.revision, ev.ID[:], ev.Type, nullable(ev.Data), nullable(ev.Metadata), b.now); err != nil {
			return appendReply{}, err
		}
		b.writes = append(b.writes, idWrite{stream: req.stream, revision: h.revision, id: ev.ID})
	}
	b.heads[req.stream] = bh
	res := eventstore.AppendResult{Position: h.position}
	if h.revision >= 0 {
		res.NextExpectedRevision = uint64(h.revision)
	}
	return appendReply{result: res, stored: len(req.events)}, nil
}

// nullable stores absent data as NULL and anything else as its bytes.
func nullable(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
