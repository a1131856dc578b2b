package kurrenttest

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// A real server's $all holds system events besides the clients' own: event
// types starting with `$` in streams starting with `$`. The log writes some
// as a KurrentDB node does, so that a client that does not filter them out
// shows it: the metadata and the first stats of a fresh node, a link (`$>`)
// in the category stream `$ce-<category>` after every event appended to a
// user stream (the $by_category projection), and node stats every few
// appends (every 30 s on a real node).

// statsStream is where a node writes its stats.
const statsStream = "$stats-0.0.0.0:2113"

// statsEvery is how many appends to user streams come between two
// $statsCollected events.
const statsEvery = 5

// startSystemEvents writes what a fresh node's $all starts with; l.mu is
// held or l is not shared yet.
func (l *memLog) startSystemEvents(created int64) {
	l.addSystem("$$"+statsStream, "$metadata", `{"$maxAge":86400}`, created)
	l.addStats(created)
}

// afterAppend writes the system events that follow added, the events of
// one append; l.mu is held.
func (l *memLog) afterAppend(added []*record, created int64) {
	stream := added[0].stream
	if strings.HasPrefix(stream, "$") {
		return // the system projections leave system streams alone
	}
	if category, _, ok := strings.Cut(stream, "-"); ok {
		for _, r := range added {
			l.addSystem("$ce-"+category, "$>", fmt.Sprintf("%d@%s", r.revision, r.stream), created)
		}
	}
	l.appends++
	if l.appends%statsEvery == 0 {
		l.addStats(created)
	}
}

// addStats writes a $statsCollected event; l.mu is held.
func (l *memLog) addStats(created int64) {
	l.addSystem(statsStream, "$statsCollected", fmt.Sprintf(`{"proc-startTime":%d,"es-writer-lastFlushSize":%d}`, created, len(l.records)), created)
}

// addSystem writes one system event; l.mu is held.
func (l *memLog) addSystem(stream, eventType, data string, created int64) {
	contentType := "application/json"
	if eventType == "$>" {
		contentType = "application/octet-stream" // a link's data is "revision@stream"
	}
	l.add(stream, proposed{
		id:       uuid.New(),
		metadata: map[string]string{"type": eventType, "content-type": contentType},
		data:     []byte(data),
	}, created)
}
