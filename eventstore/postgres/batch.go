package postgres

import (
	"context"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/accessd/accessd/eventstore"
)

// idKey is an event id in one stream.
type idKey struct {
	stream string
	id     uuid.UUID
}

// pendingEvent is an event this batch has numbered but not yet written.
type pendingEvent struct {
	id       uuid.UUID
	position uint64
}

// insertRows are the batch's events as the columns of one INSERT … SELECT
// FROM unnest(…).
type insertRows struct {
	positions, revisions []int64
	streams, types       []string
	ids                  []pgtype.UUID // binary; uuid.UUID would be sent as text
	data, metadata       [][]byte
}

// batch is the state of one write transaction: the positions it has
// assigned and the stream heads as its earlier requests left them, over
// the committed state read under the write lock.
type batch struct {
	ctx  context.Context
	conn *pgx.Conn
	now  time.Time

	// head is the last position assigned: the table's last committed
	// position plus the events numbered so far.
	head uint64
	// committed are the heads of the batch's streams before the batch.
	committed map[string]streamHead
	// heads are the heads as left by the batch's requests so far.
	heads map[string]streamHead
	// firstRev is, for the first id of each Any or StreamExists request,
	// the first committed revision holding it in the stream (-1: none).
	firstRev map[idKey]int64
	// pending are each stream's events numbered by this batch, in order.
	pending map[string][]pendingEvent
	rows    insertRows
	stored  int // events numbered
	appends int // requests that stored events
}

// apply checks one request against the stream's head and, unless it is a
// conflict or an idempotent no-op, numbers its events. The returned error
// is a storage failure; a conflict is in the reply.
func (b *batch) apply(req *appendRequest) (appendReply, error) {
	h := b.heads[req.stream]
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
			return b.write(req, h), nil
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
		if first, found := b.revisionOf(req.stream, req.events[0].ID); found {
			rep, ok, err := b.sameIDs(req.stream, first, h.revision, req.events)
			if err != nil || ok {
				return rep, err
			}
			// The first id is stored but the rest do not follow it: never
			// store an id twice, report the conflict instead.
			return conflict()
		}
	}
	return b.write(req, h), nil
}

// revisionOf finds the first revision of stream holding event id, among
// the committed events (prefetched) and then the batch's own.
func (b *batch) revisionOf(stream string, id uuid.UUID) (int64, bool) {
	if r, ok := b.firstRev[idKey{stream, id}]; ok && r >= 0 {
		return r, true
	}
	base := b.committed[stream].revision
	for i, ev := range b.pending[stream] {
		if ev.id == id {
			return base + 1 + int64(i), true
		}
	}
	return 0, false
}

// sameIDs reports whether revisions from … from+len(events)-1 of stream
// (whose last revision is last) hold exactly the ids of events, in order;
// if so the reply reports those stored events. Committed revisions are
// read from the table, the batch's own from memory.
func (b *batch) sameIDs(stream string, from, last int64, events []eventstore.EventData) (appendReply, bool, error) {
	to := from + int64(len(events)) - 1
	if to > last {
		return appendReply{}, false, nil
	}
	base := b.committed[stream].revision
	var pos uint64
	i := 0
	if from <= base {
		rows, err := b.conn.Query(b.ctx, qIDsBetween, stream, from, min(to, base))
		if err != nil {
			return appendReply{}, false, err
		}
		var (
			id  uuid.UUID
			p   int64
			bad bool
		)
		_, err = pgx.ForEachRow(rows, []any{&id, &p}, func() error {
			if i >= len(events) || id != events[i].ID {
				bad = true
			}
			i++
			pos = uint64(p)
			return nil
		})
		if err != nil {
			return appendReply{}, false, err
		}
		if bad || int64(i) != min(to, base)-from+1 {
			return appendReply{}, false, nil
		}
	}
	for r := from + int64(i); r <= to; r++ {
		ev := b.pending[stream][r-base-1]
		if ev.id != events[r-from].ID {
			return appendReply{}, false, nil
		}
		pos = ev.position
	}
	return appendReply{result: eventstore.AppendResult{NextExpectedRevision: uint64(to), Position: pos}}, true, nil
}

// write numbers the request's events after head h, at the next positions.
func (b *batch) write(req *appendRequest, h streamHead) appendReply {
	for i := range req.events {
		ev := &req.events[i]
		h.revision++
		b.head++
		h.position = b.head
		b.rows.positions = append(b.rows.positions, int64(b.head))
		b.rows.streams = append(b.rows.streams, req.stream)
		b.rows.revisions = append(b.rows.revisions, h.revision)
		b.rows.ids = append(b.rows.ids, pgtype.UUID{Bytes: ev.ID, Valid: true})
		b.rows.types = append(b.rows.types, ev.Type)
		b.rows.data = append(b.rows.data, nullable(ev.Data))
		b.rows.metadata = append(b.rows.metadata, nullable(ev.Metadata))
		b.pending[req.stream] = append(b.pending[req.stream], pendingEvent{id: ev.ID, position: b.head})
	}
	b.heads[req.stream] = h
	if len(req.events) > 0 {
		b.stored += len(req.events)
		b.appends++
	}
	res := eventstore.AppendResult{Position: h.position}
	if h.revision >= 0 {
		res.NextExpectedRevision = uint64(h.revision)
	}
	return appendReply{result: res, stored: len(req.events)}
}

// nullable stores absent data as NULL and anything else as its bytes.
func nullable(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
