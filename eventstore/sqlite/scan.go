package sqlite

import (
	"database/sql"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// columns are the columns every event read selects, in scanner order.
const columns = `position, stream, revision, id, type, data, metadata, recorded_at`

// scanner turns rows of columns into RecordedEvents. It scans the byte
// columns without copying and copies data and metadata once, into one
// allocation per event.
type scanner struct {
	position, revision, recordedAt int64
	stream, eventType              string
	id, data, metadata             sql.RawBytes
	dest                           []any
}

func newScanner() *scanner {
	sc := &scanner{}
	sc.dest = []any{&sc.position, &sc.stream, &sc.revision, &sc.id, &sc.eventType, &sc.data, &sc.metadata, &sc.recordedAt}
	return sc
}

func (sc *scanner) scan(rows *sql.Rows) (eventstore.RecordedEvent, error) {
	if err := rows.Scan(sc.dest...); err != nil {
		return eventstore.RecordedEvent{}, err
	}
	ev := eventstore.RecordedEvent{
		Type:       sc.eventType,
		Stream:     sc.stream,
		Revision:   uint64(sc.revision),
		Position:   uint64(sc.position),
		RecordedAt: time.Unix(0, sc.recordedAt).UTC(),
	}
	copy(ev.ID[:], sc.id)
	if n := len(sc.data) + len(sc.metadata); n > 0 {
		buf := make([]byte, n)
		copy(buf, sc.data)
		copy(buf[len(sc.data):], sc.metadata)
		if len(sc.data) > 0 {
			ev.Data = buf[:len(sc.data):len(sc.data)]
		}
		if len(sc.metadata) > 0 {
			ev.Metadata = buf[len(sc.data):]
		}
	}
	return ev, nil
}

// scanAll reads every row, keeping those that pass keep (nil keeps all).
func (sc *scanner) scanAll(rows *sql.Rows, into []eventstore.RecordedEvent, keep func(stream, eventType string) bool) ([]eventstore.RecordedEvent, error) {
	defer rows.Close()
	for rows.Next() {
		ev, err := sc.scan(rows)
		if err != nil {
			return into, err
		}
		if keep == nil || keep(ev.Stream, ev.Type) {
			into = append(into, ev)
		}
	}
	return into, rows.Err()
}
