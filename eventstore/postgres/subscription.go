package postgres

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/accessd/accessd/eventstore"
)

const (
	// pageSize is how many positions a subscription reads per query.
	pageSize = 1024
	// readAhead is how many pages a subscription that is behind reads at
	// once, each on its own connection, so that catching up overlaps the
	// round trips and the server's work.
	readAhead = 2
)

// subscription is a catch-up-then-live reader of $all. It reads windows of
// positions (cursor, min(cursor+pageSize, head)], where head is a position
// known to be committed (see the package doc: then every lower position is
// committed and visible too), so every position is read exactly once,
// filtered or not, and the cursor moves past filtered-out events without
// reading them again; once the cursor reaches head it waits for the next
// published head.
type subscription struct {
	s     *Store
	query string // the window query with the filter's conditions
	args  []any  // filter arguments, after the two window bounds

	cursor uint64 // last position read
	pages  [readAhead]page
	npages int // pages filled by the last read
	cur    int // page being delivered

	done chan struct{}
	once sync.Once
}

// page is one window's events and the index of the next to deliver.
type page struct {
	events []eventstore.RecordedEvent
	next   int
}

// Subscribe delivers every event of $all after position `after` that passes
// filter: those already stored, then live ones as they are committed, by
// this process or another. The subscription lives until it is closed or the
// store is closed; ctx bounds only the call itself.
func (s *Store) Subscribe(ctx context.Context, after uint64, filter eventstore.Filter) (eventstore.Subscription, error) {
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The filter is kept: a copy, so that the caller may reuse its slices.
	filter = eventstore.Filter{EventTypes: slices.Clone(filter.EventTypes), StreamPrefixes: slices.Clone(filter.StreamPrefixes)}
	cond, args := filterSQL(filter, 3)
	return &subscription{s: s, query: qWindow + cond + qOrder, args: args, cursor: after, done: make(chan struct{})}, nil
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
		if err := ctx.Err(); err != nil {
			return eventstore.RecordedEvent{}, err
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
			if err := sub.fillRetrying(ctx, head.pos); err != nil {
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

// fillRetries is how often a read that failed on the connection is tried
// again before the subscription gives up: the pool drops a broken
// connection, so a retry gets a fresh one (a restarted server, a
// terminated backend).
const fillRetries = 3

// fillRetrying is fill, tried again after a short pause when the storage
// was unavailable.
func (sub *subscription) fillRetrying(ctx context.Context, head uint64) error {
	for attempt := 1; ; attempt++ {
		err := sub.fill(ctx, head)
		if err == nil || attempt > fillRetries || !errors.Is(err, eventstore.ErrUnavailable) {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.done:
			return eventstore.ErrClosed
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
		wg.Go(func() { errs[i] = sub.read(ctx, &sub.pages[i], bounds[i], bounds[i+1]) })
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
	args := append([]any{int64(from), int64(to)}, sub.args...)
	var err error
	p.events, err = sub.s.query(ctx, p.events[:0], sub.query, args...)
	p.next = 0
	return err
}

// Close ends the subscription; Next then returns eventstore.ErrClosed. It
// is safe to call more than once and from another goroutine.
func (sub *subscription) Close() error {
	sub.once.Do(func() { close(sub.done) })
	return nil
}
