package kurrent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/accessd/accessd/eventstore"
)

const (
	// bufferSize is how many events a subscription reads ahead of Next.
	bufferSize = 256
	// maxResubscribes is how many failed attempts in a row to resume a
	// dropped subscription are made before Next reports the failure.
	maxResubscribes = 10
	// firstRetry and lastRetry bound the wait between those attempts,
	// doubling from one to the other.
	firstRetry = 100 * time.Millisecond
	lastRetry  = 5 * time.Second
)

// subscription pumps a server subscription to $all into a buffer that Next
// drains. When the server drops it, the pump subscribes again from the last
// position it passed on, so nothing is skipped or repeated.
type subscription struct {
	store  *Store
	filter eventstore.Filter
	events chan eventstore.RecordedEvent

	// ctx is cancelled by Close and by the store's Close.
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once

	// ended is closed when the pump stops; err then says why, unless the
	// subscription or the store was closed.
	ended chan struct{}
	err   error
}

// Subscribe implements eventstore.Store. The first server subscription is
// made here, so that a failure shows at once; ctx bounds only that, the
// subscription lives until it or the store is closed.
func (s *Store) Subscribe(ctx context.Context, after uint64, filter eventstore.Filter) (eventstore.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, eventstore.ErrClosed
	}
	// Counted before the lock is released, so that Close waits for it.
	s.ops.Add(1)
	s.mu.RUnlock()
	sub := &subscription{
		store:  s,
		filter: filter,
		events: make(chan eventstore.RecordedEvent, bufferSize),
		ended:  make(chan struct{}),
	}
	sub.ctx, sub.cancel = context.WithCancel(s.ctx)
	stop := context.AfterFunc(ctx, sub.cancel)
	var first *esdb.Subscription
	err := s.call(ctx, fmt.Sprintf("subscribe to $all after %d", after), func(c *esdb.Client) error {
		var err error
		first, err = sub.open(c, after)
		return err
	})
	if !stop() && err == nil {
		_ = first.Close()
		err = ctx.Err()
	}
	if err != nil {
		sub.cancel()
		s.ops.Done()
		return nil, err
	}
	go sub.run(first, after)
	return sub, nil
}

// open subscribes to $all strictly after position after (0: from the start).
func (sub *subscription) open(c *esdb.Client, after uint64) (*esdb.Subscription, error) {
	var from esdb.AllPosition = esdb.Start{}
	if after > 0 {
		from = esdb.Position{Commit: after, Prepare: after}
	}
	return c.SubscribeToAll(sub.ctx, esdb.SubscribeToAllOptions{
		From:   from,
		Filter: sub.store.serverFilter(sub.filter),
	})
}

// run is the pump. last is the position of the last event passed on (or
// dropped by the filter): a resumed subscription starts after it.
func (sub *subscription) run(current *esdb.Subscription, last uint64) {
	s := sub.store
	defer s.ops.Done()
	defer close(sub.ended)
	for {
		var dropped error
		last, dropped = sub.drain(current, last)
		_ = current.Close()
		if sub.ctx.Err() != nil {
			return
		}
		s.logger.Warn("kurrent: subscription to $all dropped; resuming", "after", last, "error", dropped)
		var err error
		if current, err = sub.reopen(last); err != nil {
			sub.err = err
			return
		}
	}
}

// drain passes events on from one server subscription until it drops, and
// returns the last position passed and why it dropped.
func (sub *subscription) drain(current *esdb.Subscription, last uint64) (uint64, error) {
	for {
		msg := current.Recv()
		if msg.SubscriptionDropped != nil {
			return last, msg.SubscriptionDropped.Error
		}
		if msg.EventAppeared == nil {
			continue // caught up, fell behind, checkpoint: nothing to pass on
		}
		pos := msg.EventAppeared.OriginalEvent().Position.Commit
		if pos <= last {
			continue // the server's start is inclusive, or it repeated itself
		}
		rec, ok := sub.store.recordedOf(msg.EventAppeared)
		if ok && sub.filter.Match(rec.Stream, rec.Type) {
			select {
			case sub.events <- rec:
			case <-sub.ctx.Done():
				return last, sub.ctx.Err()
			}
		}
		last = pos
	}
}

// reopen subscribes again after last, waiting longer after each failure,
// until it succeeds, the subscription is closed, or maxResubscribes fail.
func (sub *subscription) reopen(last uint64) (*esdb.Subscription, error) {
	wait := firstRetry
	var err error
	for range maxResubscribes {
		var next *esdb.Subscription
		err = sub.store.call(sub.ctx, fmt.Sprintf("resubscribe to $all after %d", last), func(c *esdb.Client) error {
			var err error
			next, err = sub.open(c, last)
			return err
		})
		if err == nil {
			return next, nil
		}
		sub.store.logger.Warn("kurrent: resubscribing to $all failed", "after", last, "error", err)
		select {
		case <-sub.ctx.Done():
			return nil, sub.ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, lastRetry)
	}
	return nil, fmt.Errorf("kurrent: gave up after %d attempts: %w", maxResubscribes, err)
}

// Next implements eventstore.Subscription.
func (sub *subscription) Next(ctx context.Context) (eventstore.RecordedEvent, error) {
	if sub.ctx.Err() != nil {
		return eventstore.RecordedEvent{}, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return eventstore.RecordedEvent{}, err
	}
	select {
	case ev := <-sub.events:
		return ev, nil
	case <-ctx.Done():
		return eventstore.RecordedEvent{}, ctx.Err()
	case <-sub.ctx.Done():
		return eventstore.RecordedEvent{}, eventstore.ErrClosed
	case <-sub.ended:
		// Events read before the pump stopped still come first.
		select {
		case ev := <-sub.events:
			return ev, nil
		default:
		}
		if sub.ctx.Err() != nil {
			return eventstore.RecordedEvent{}, eventstore.ErrClosed
		}
		return eventstore.RecordedEvent{}, sub.err
	}
}

// Close implements eventstore.Subscription.
func (sub *subscription) Close() error {
	sub.once.Do(sub.cancel)
	return nil
}
