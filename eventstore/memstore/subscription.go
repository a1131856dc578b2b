package memstore

import (
	"context"
	"sync"

	"github.com/accessd/accessd/eventstore"
)

// subscription walks Store.events from a cursor, then waits for appends.
type subscription struct {
	store  *Store
	filter eventstore.Filter
	next   int // index in store.events of the next event to look at; guarded by store.mu

	once sync.Once
	done chan struct{}
}

// Subscribe implements eventstore.Store. ctx bounds only the call itself;
// the subscription lives until it or the store is closed.
func (s *Store) Subscribe(ctx context.Context, after uint64, filter eventstore.Filter) (eventstore.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return nil, eventstore.ErrClosed
	}
	return &subscription{store: s, filter: filter, next: s.indexAfter(after), done: make(chan struct{})}, nil
}

// Next implements eventstore.Subscription.
func (sub *subscription) Next(ctx context.Context) (eventstore.RecordedEvent, error) {
	s := sub.store
	for {
		if err := ctx.Err(); err != nil {
			return eventstore.RecordedEvent{}, err
		}
		s.mu.Lock()
		if s.isClosed || sub.isClosed() {
			s.mu.Unlock()
			return eventstore.RecordedEvent{}, eventstore.ErrClosed
		}
		for sub.next < len(s.events) {
			ev := s.events[sub.next]
			sub.next++
			if sub.filter.Match(ev.Stream, ev.Type) {
				s.mu.Unlock()
				return clone(ev), nil
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return eventstore.RecordedEvent{}, ctx.Err()
		case <-sub.done:
		case <-s.closed:
		case <-changed:
		}
	}
}

func (sub *subscription) isClosed() bool {
	select {
	case <-sub.done:
		return true
	default:
		return false
	}
}

// Close implements eventstore.Subscription.
func (sub *subscription) Close() error {
	sub.once.Do(func() { close(sub.done) })
	return nil
}
