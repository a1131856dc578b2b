package sqlite

import (
	"database/sql"
	"errors"
	"math"

	"github.com/accessd/accessd/eventstore"
	"github.com/google/uuid"
)

// batch is the state of one write transaction: the last position and the
// heads of the streams it has touched, as left by its earlier requests, over
// the committed state in the writer's cache.
type batch struct {
	streamHead *sql.Stmt
	findID     *sql.Stmt
	idsBetween *sql.Stmt
	insert     *sql.Stmt

	now   int64 // recorded_at of every event of the batch
	head  uint64
	heads map[string]streamHead
	base  *headCache
}

func newBatch(tx *sql.Tx, w *writerStmts, base *headCache, now int64) *batch {
	return &batch{
		streamHead: tx.Stmt(w.streamHead),
		findID:     tx.Stmt(w.findID),
		idsBetween: tx.Stmt(w.idsBetween),
		insert:     tx.Stmt(w.insert),
		now:        now,
		head:       base.position,
		heads:      map[string]streamHead{},
		base:       base,
	}
}

func (b *batch) close() {
	for _, st := range []*sql.Stmt{b.streamHead, b.findID, b.idsBetween, b.insert} {
		_ = st.Close() // statements of a transaction; closing cannot fail in a way that matters
	}
}

// apply checks one request against the stream's head and, unless it is a
// conflict or an idempotent no-op, writes its events. The returned error is
// a storage failure; a conflict is in the reply.
func (b *batch) apply(req *appendRequest) (appendReply, error) {
	h, err := b.streamHeadOf(req.stream)
	if err != nil {
		return appendReply{}, err
	}
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
			return b.write(req, h)
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
		first, found, err := b.revisionOf(req.stream, req.events[0].ID)
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
	return b.write(req, h)
}

// streamHeadOf returns the stream's head as this batch left it.
func (b *batch) streamHeadOf(stream string) (streamHead, error) {
	if h, ok := b.heads[stream]; ok {
		return h, nil
	}
	if h, ok := b.base.heads[stream]; ok {
		return h, nil
	}
	h := streamHead{revision: -1}
	err := b.streamHead.QueryRow(stream).Scan(&h.revision, &h.position)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return h, err
	}
	b.heads[stream] = h
	return h, nil
}

// revisionOf finds the first revision of stream holding event id.
func (b *batch) revisionOf(stream string, id uuid.UUID) (int64, bool, error) {
	var rev sql.NullInt64
	if err := b.findID.QueryRow(stream, id[:]).Scan(&rev); err != nil {
		return 0, false, err
	}
	return rev.Int64, rev.Valid, nil
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

// write inserts the request's events after head h, at the next positions.
func (b *batch) write(req *appendRequest, h streamHead) (appendReply, error) {
	for i := range req.events {
		ev := &req.events[i]
		h.revision++
		b.head++
		h.position = b.head
		if _, err := b.insert.Exec(int64(b.head), req.stream, h.revision, ev.ID[:], ev.Type, nullable(ev.Data), nullable(ev.Metadata), b.now); err != nil {
			return appendReply{}, err
		}
	}
	b.heads[req.stream] = h
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
