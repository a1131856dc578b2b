package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"sync"

	"github.com/accessd/accessd/eventstore"
)

const (
	// pageSize is how many positions a subscription reads per query.
	pageSize = 512
	// readAhead is how many pages a subscription that is behind reads at
	// once, each on its own connection, so that catching up uses more
	// than one core.
	readAhead = 2
)

// subscription is a catch-up-then-live reader of $all. It reads windows of
// positions (cursor, min(cursor+pageSize, head)], where head is a position
// the writer published after its commit, so a window never runs ahead of
// what is durable and every position is read exactly once, filtered or not;
// once the cursor reaches head it waits for the writer's next commit.
type subscription struct {
	s      *Store
	filter eventstore.Filter
	query  string // filtered window query; empty when unfiltered
	args   []any  // filter arguments, after the two window bounds

	cursor uint64 // last position read
	pages  [readAhead]page
	npages int // pages filled by the last read
	cur    int // page being delivered

	done chan struct{}
	once sync.Once
}

// page is one window's events and the position of the next to deliver.
type page struct {
	events []eventstore.RecordedEvent
	next   int
	sc     *scanner
}

// Subscribe delivers every event of $all after position `after` that passes
// filter: those already stored, then live ones as they are committed. The
// subscription lives until it is closed or the store is closed; ctx bounds
// only the call itself.
func (s *Store) Subscribe(ctx context.Context, after uint64, filter eventstore.Filter) (eventstore.Subscription, error) {
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The filter is kept: a copy, so that the caller may reuse its slices.
	filter = eventstore.Filter{EventTypes: slices.Clone(filter.EventTypes), StreamPrefixes: slices.Clone(filter.StreamPrefixes)}
	sub := &subscription{s: s, filter: filter, cursor: after, done: make(chan struct{})}
	for i := range sub.pages {
		sub.pages[i].sc = newScanner()
	}
	if filtered(filter) {
		sub.query, sub.args = filterSQL(filter)
		sub.query = qWindow + sub.query + qOrder
	}
	return sub, nil
}

// Next returns the next event, blocking until one is committed, ctx is
// done, or the subscription or the store is closed (eventstore.ErrClosed).
// It is not safe for concurrent use.
func (sub *subscription) Next(ctx context.Context) (eventstore.RecordedEvent, error) {
	for {
		select {
		case <-sub.done:
			return eventstore.RecordedEvent{}, eventstore.ErrClosed
		default:
		}
		for sub.cur < sub.npages {
			p := &sub.pages[sub.cur]
			if p.next < len(p.events) {
				ev := p.events[p.next]
				p.events[p.next] = eventstore.RecordedEvent{}
				p.next++
				return ev, nil
			}
			sub.cur++
		}
		if sub.s.closed.Load() {
			return eventstore.RecordedEvent{}, eventstore.ErrClosed
		}
		head := sub.s.head.Load()
		if sub.cursor < head.pos {
			if err := sub.fill(ctx, head.pos); err != nil {
				return eventstore.RecordedEvent{}, err
			}
			continue
		}
		select {
		case <-head.changed:
		case <-ctx.Done():
			return eventstore.RecordedEvent{}, ctx.Err()
		case <-sub.done:
			return eventstore.RecordedEvent{}, eventstore.ErrClosed
		case <-sub.s.closing:
			return eventstore.RecordedEvent{}, eventstore.ErrClosed
		}
	}
}

// fill reads the windows after the cursor, up to head: one, or up to
// readAhead of them in parallel while the subscription is behind.
func (sub *subscription) fill(ctx context.Context, head uint64) error {
	var (
		bounds [readAhead + 1]uint64
		errs   [readAhead]error
		wg     sync.WaitGroup
	)
	n := 0
	bounds[0] = sub.cursor
	for n < readAhead && bounds[n] < head {
		bounds[n+1] = min(head, bounds[n]+pageSize)
		n++
	}
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = sub.read(ctx, &sub.pages[i], bounds[i], bounds[i+1])
		}()
	}
	errs[0] = sub.read(ctx, &sub.pages[0], bounds[0], bounds[1])
	wg.Wait()
	for _, err := range errs[:n] {
		if err != nil {
			sub.npages = 0
			return sub.s.readErr(ctx, "subscribe", err)
		}
	}
	sub.npages, sub.cur, sub.cursor = n, 0, bounds[n]
	return nil
}

// read fills p with the events of positions (from, to] that pass the
// filter.
func (sub *subscription) read(ctx context.Context, p *page, from, to uint64) error {
	p.events, p.next = p.events[:0], 0
	var (
		rows *sql.Rows
		err  error
		keep func(stream, eventType string) bool
	)
	if sub.query == "" {
		rows, err = sub.s.r.window.QueryContext(ctx, int64(from), int64(to))
	} else {
		args := append([]any{int64(from), int64(to)}, sub.args...)
		rows, err = sub.s.rdb.QueryContext(ctx, sub.query, args...)
		keep = sub.filter.Match
	}
	if err != nil {
		return err
	}
	p.events, err = p.sc.scanAll(rows, p.events, keep)
	return err
}

// Close ends the subscription; Next then returns eventstore.ErrClosed. It
// is safe to call more than once and from another goroutine.
func (sub *subscription) Close() error {
	sub.once.Do(func() { close(sub.done) })
	return nil
}
