package kurrenttest

import (
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// record is one event as the in-memory log holds it.
type record struct {
	id       uuid.UUID
	stream   string
	revision uint64
	position uint64
	// created is in 100-ns ticks since the Unix epoch, as EventStoreDB sends it.
	created  int64
	metadata map[string]string
	custom   []byte
	data     []byte
}

// eventType is the record's type, kept in its system metadata.
func (r *record) eventType() string { return r.metadata["type"] }

// isSystem reports whether r is a system event: its type starts with `$`.
func (r *record) isSystem() bool { return strings.HasPrefix(r.eventType(), "$") }

// proposed is an event an append asks to write.
type proposed struct {
	id       uuid.UUID
	metadata map[string]string
	custom   []byte
	data     []byte
}

// memLog is the server's $all: every record in commit order, indexed by stream.
type memLog struct {
	mu      sync.Mutex
	records []*record
	streams map[string]*streamIndex
	// changed is closed and replaced by every append that adds records,
	// waking live subscriptions.
	changed chan struct{}
	// appends counts the appends that added events to user streams, for
	// the system events written between them (system.go).
	appends int
}

// streamIndex is one stream: the index in memLog.records of each revision.
type streamIndex struct {
	at  []int
	ids map[uuid.UUID]uint64 // first revision holding each id
}

// newMemLog returns a log holding the system events a fresh server starts
// with.
func newMemLog(now time.Time) *memLog {
	l := &memLog{streams: map[string]*streamIndex{}, changed: make(chan struct{})}
	l.startSystemEvents(now.UnixNano() / 100)
	return l
}

// expectation is an append's expected revision in the wire's four kinds.
type expectation struct {
	any, noStream, streamExists bool
	revision                    uint64 // when none of the flags is set
}

// satisfied reports whether a stream whose last revision is current (-1
// when it has no events) meets e.
func (e expectation) satisfied(current int64) bool {
	switch {
	case e.any:
		return true
	case e.noStream:
		return current < 0
	case e.streamExists:
		return current >= 0
	default:
		return current >= 0 && uint64(current) == e.revision
	}
}

// appendOutcome is what the log answers an append with.
type appendOutcome struct {
	wrongVersion bool
	// current is the stream's last revision, -1 for no stream: after the
	// append on success, as found on a wrong expected version.
	current int64
	// position of the last event reported; 0 when there is none to report
	// (EventStoreDB sends no position for an idempotent retry).
	position uint64
}

// append applies EventStoreDB's rules: the expected revision decides, except
// that ids already sitting where the append would put them make it a no-op
// success (an idempotent retry), and with any or stream-exists a first id
// already in the stream but not followed by the rest is a wrong version.
func (l *memLog) append(stream string, exp expectation, events []proposed, now time.Time) appendOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[stream]
	current := int64(-1)
	if st != nil {
		current = int64(len(st.at)) - 1
	}
	if st != nil && len(events) > 0 {
		if first, ok, conflict := l.idempotentAt(st, exp, events); ok {
			last := first + uint64(len(events)) - 1
			return appendOutcome{current: int64(last)}
		} else if conflict {
			return appendOutcome{wrongVersion: true, current: current}
		}
	}
	if !exp.satisfied(current) {
		return appendOutcome{wrongVersion: true, current: current}
	}
	if len(events) == 0 {
		out := appendOutcome{current: current}
		if st != nil {
			out.position = l.records[st.at[current]].position
		}
		return out
	}
	created := now.UnixNano() / 100
	added := make([]*record, len(events))
	for i, ev := range events {
		added[i] = l.add(stream, ev, created)
	}
	last := added[len(added)-1]
	l.afterAppend(added, created)
	close(l.changed)
	l.changed = make(chan struct{})
	return appendOutcome{current: int64(last.revision), position: last.position}
}

// add writes ev at the end of stream and of the log; l.mu is held.
func (l *memLog) add(stream string, ev proposed, created int64) *record {
	st := l.streams[stream]
	if st == nil {
		st = &streamIndex{ids: map[uuid.UUID]uint64{}}
		l.streams[stream] = st
	}
	var pos uint64
	if n := len(l.records); n > 0 {
		pos = l.records[n-1].position
	}
	// Positions are byte-like offsets with gaps, as EventStoreDB's are,
	// so that nothing downstream can assume 1, 2, 3, ….
	pos += 64 + uint64(len(ev.data)+len(ev.custom))
	rev := uint64(len(st.at))
	st.at = append(st.at, len(l.records))
	if _, dup := st.ids[ev.id]; !dup {
		st.ids[ev.id] = rev
	}
	r := &record{
		id: ev.id, stream: stream, revision: rev, position: pos, created: created,
		metadata: ev.metadata, custom: ev.custom, data: ev.data,
	}
	l.records = append(l.records, r)
	return r
}

// idempotentAt reports whether events already sit in st where exp puts
// them (ok, with the revision of the first), or whether, with any or
// stream-exists, the first id is there but the rest do not follow (conflict).
func (l *memLog) idempotentAt(st *streamIndex, exp expectation, events []proposed) (first uint64, ok, conflict bool) {
	switch {
	case exp.noStream:
		first = 0
	case exp.any || exp.streamExists:
		rev, found := st.ids[events[0].id]
		if !found {
			return 0, false, false
		}
		if !l.holds(st, rev, events) {
			return 0, false, true
		}
		return rev, true, false
	default:
		if exp.revision >= uint64(len(st.at))-1 {
			return 0, false, false
		}
		first = exp.revision + 1
	}
	return first, l.holds(st, first, events), false
}

// holds reports whether st's revisions first… hold exactly events' ids.
func (l *memLog) holds(st *streamIndex, first uint64, events []proposed) bool {
	if first+uint64(len(events)) > uint64(len(st.at)) {
		return false
	}
	for i, ev := range events {
		if l.records[st.at[first+uint64(i)]].id != ev.id {
			return false
		}
	}
	return true
}

// streamRecords returns up to max records of stream from revision from, in
// the given direction (from nil means the end when backwards, the start
// when forwards); found is false when the stream has no events.
func (l *memLog) streamRecords(stream string, from *uint64, backwards bool, max uint64) (out []*record, found bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[stream]
	if st == nil {
		return nil, false
	}
	n := uint64(len(st.at))
	if backwards {
		start := n - 1
		if from != nil && *from < start {
			start = *from
		}
		for r := int64(start); r >= 0 && uint64(len(out)) < max; r-- {
			out = append(out, l.records[st.at[r]])
		}
		return out, true
	}
	var start uint64
	if from != nil {
		start = *from
	}
	for r := start; r < n && uint64(len(out)) < max; r++ {
		out = append(out, l.records[st.at[r]])
	}
	return out, true
}

// indexFrom is the index of the first record at or after position pos.
func (l *memLog) indexFrom(pos uint64) int {
	lo, hi := 0, len(l.records)
	for lo < hi {
		mid := (lo + hi) / 2
		if l.records[mid].position < pos {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// allForwards returns up to max records of $all from index i on that keep
// passes, and the index after the last one looked at.
func (l *memLog) allForwards(i int, max uint64, keep func(*record) bool) ([]*record, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*record
	for ; i < len(l.records) && uint64(len(out)) < max; i++ {
		if keep(l.records[i]) {
			out = append(out, l.records[i])
		}
	}
	return out, i
}

// allBackwards returns up to max records of $all before index end (exclusive),
// newest first, that keep passes.
func (l *memLog) allBackwards(end int, max uint64, keep func(*record) bool) []*record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*record
	for i := min(end, len(l.records)) - 1; i >= 0 && uint64(len(out)) < max; i-- {
		if keep(l.records[i]) {
			out = append(out, l.records[i])
		}
	}
	return out
}

// cursor turns a $all read's starting point into an index: start is 0, end
// is the log's length, a position is the first record at or after it
// (afterPos false) or strictly after it (afterPos true).
func (l *memLog) cursor(start, end bool, pos uint64, afterPos bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case start:
		return 0
	case end:
		return len(l.records)
	case afterPos:
		return l.indexFrom(pos + 1)
	default:
		return l.indexFrom(pos)
	}
}

// waitChan returns the channel the next append closes and whether records
// exist at index i or beyond already.
func (l *memLog) waitChan(i int) (<-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed, i < len(l.records)
}

// positionBefore is the position of the record before index i (0 if none).
func (l *memLog) positionBefore(i int) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i <= 0 || len(l.records) == 0 {
		return 0
	}
	return l.records[min(i, len(l.records))-1].position
}
