package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
)

// TestSeveralStoresOneSubscriber has four Stores on one table (separate
// pools, as separate processes would have) append concurrently while
// subscribers on a fifth store and on one of the writers follow $all: each
// must see every event exactly once, in position order, as ReadAll returns
// it. With positions that could commit out of order (a sequence), a
// subscriber would sooner or later move past a position still in flight
// and never deliver it.
func TestSeveralStoresOneSubscriber(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	const stores, writersPerStore, appendsPerWriter = 4, 4, 60
	writers := make([]*Store, stores)
	for i := range writers {
		writers[i] = openURL(t, url, WithPollInterval(time.Hour)) // NOTIFY alone must carry the live events
	}
	reader := openURL(t, url, WithPollInterval(time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// Each append stores 1 to 3 events: 2 appends in 3 of 1, 2 and 3.
	total := 0
	for k := range appendsPerWriter {
		total += k%3 + 1
	}
	total *= stores * writersPerStore

	type result struct {
		evs []eventstore.RecordedEvent
		err error
	}
	follow := func(s *Store, out chan<- result) {
		sub, err := s.Subscribe(ctx, 0, eventstore.Filter{})
		if err != nil {
			out <- result{err: err}
			return
		}
		defer sub.Close()
		var r result
		for len(r.evs) < total {
			ev, err := sub.Next(ctx)
			if err != nil {
				r.err = fmt.Errorf("after %d events: %w", len(r.evs), err)
				break
			}
			r.evs = append(r.evs, ev)
		}
		out <- r
	}
	fromReader, fromWriter := make(chan result, 1), make(chan result, 1)
	go follow(reader, fromReader)
	go follow(writers[0], fromWriter)

	var wg sync.WaitGroup
	errs := make(chan error, stores*writersPerStore)
	for i, s := range writers {
		for w := range writersPerStore {
			wg.Go(func() {
				stream := fmt.Sprintf("multi-%d-%d", i, w)
				expected := eventstore.NoStream
				for k := range appendsPerWriter {
					evs := make([]eventstore.EventData, k%3+1)
					for j := range evs {
						evs[j] = event("MultiWritten", k)
					}
					res, err := s.Append(ctx, stream, expected, evs...)
					if err != nil {
						errs <- fmt.Errorf("%s append %d: %w", stream, k, err)
						return
					}
					expected = eventstore.Exact(res.NextExpectedRevision)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	all, err := reader.ReadAll(ctx, 0, total+10, eventstore.Filter{})
	require.NoError(t, err)
	require.Len(t, all, total)
	for i, ev := range all {
		require.Equal(t, uint64(i+1), ev.Position, "positions are dense")
	}
	for name, ch := range map[string]chan result{"subscriber on a reading store": fromReader, "subscriber on a writing store": fromWriter} {
		r := <-ch
		require.NoError(t, r.err, name)
		seen := make(map[uuid.UUID]bool, total)
		for i, ev := range r.evs {
			require.False(t, seen[ev.ID], "%s: event %s twice", name, ev.ID)
			seen[ev.ID] = true
			require.Equal(t, all[i].Position, ev.Position, "%s: event %d", name, i)
			require.Equal(t, all[i].ID, ev.ID, "%s: event %d", name, i)
		}
	}
}

// TestNoCommitBelowAnUncommittedPosition holds one store's batch after it
// has numbered its events and before it commits, and has a second store
// (another pool, as another process) append meanwhile. The second append
// must wait: if it could commit, its position would be visible while lower
// ones are not, and a subscriber could skip them for good. Then both
// commit, in position order, and a subscriber on a third store gets all
// four events in order.
func TestNoCommitBelowAnUncommittedPosition(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	a, b, c := openURL(t, url), openURL(t, url), openURL(t, url)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sub, err := c.Subscribe(ctx, 0, eventstore.Filter{})
	require.NoError(t, err)
	defer sub.Close()

	type span struct{ first, last uint64 }
	held, release := make(chan span, 1), make(chan struct{})
	var once sync.Once
	a.beforeCommit = func(first, last uint64) {
		once.Do(func() {
			held <- span{first, last}
			<-release
		})
	}
	type outcome struct {
		res eventstore.AppendResult
		err error
	}
	aDone, bDone := make(chan outcome, 1), make(chan outcome, 1)
	go func() {
		res, err := a.Append(ctx, "a-1", eventstore.NoStream, event("A", 1), event("A", 2), event("A", 3))
		aDone <- outcome{res, err}
	}()
	var h span
	select {
	case h = <-held:
	case o := <-aDone:
		t.Fatalf("the held append returned: %+v", o)
	}
	require.Equal(t, span{1, 3}, h, "the held batch numbered positions 1-3")

	go func() {
		res, err := b.Append(ctx, "b-1", eventstore.NoStream, event("B", 1))
		bDone <- outcome{res, err}
	}()
	// Wait until b is blocked on the write lock, or fail if it commits.
	blocked := waitForLockWaiter(ctx, t, url, b)
	select {
	case o := <-bDone:
		close(release)
		t.Fatalf("an append committed (position %d, err %v) while positions %d-%d were numbered but not committed", o.res.Position, o.err, h.first, h.last)
	case <-blocked:
	}
	close(release)

	oa, ob := <-aDone, <-bDone
	require.NoError(t, oa.err)
	require.NoError(t, ob.err)
	require.Equal(t, uint64(3), oa.res.Position)
	require.Equal(t, uint64(4), ob.res.Position, "the waiting append numbered after the held one")
	for want := uint64(1); want <= 4; want++ {
		ev, err := sub.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, want, ev.Position)
	}
}

// waitForLockWaiter returns a channel closed once some session waits for
// s's write lock (pg_locks shows it not granted).
func waitForLockWaiter(ctx context.Context, t *testing.T, url string, s *Store) <-chan struct{} {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer conn.Close(context.WithoutCancel(ctx))
		for ctx.Err() == nil {
			var waiting bool
			err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
				WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2)`,
				int64(uint32(writeLockSpace)), int64(uint32(s.lockKey))).Scan(&waiting)
			if err == nil && waiting {
				close(done)
				return
			}
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("pg_locks: %v", err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return done
}

// TestStoresShareStreams has two stores append to the same streams in turn:
// each must see the other's events (its cache of stream heads is dropped
// when someone else wrote), conflicts included.
func TestStoresShareStreams(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := t.Context()
	stores := []*Store{a, b}
	for i := range 10 {
		s := stores[i%2]
		exp := eventstore.Exact(uint64(i - 1))
		if i == 0 {
			exp = eventstore.NoStream
		}
		res := mustAppend(t, s, "shared-1", exp, event("E", i))
		require.Equal(t, uint64(i), res.NextExpectedRevision)
		require.Equal(t, uint64(i+1), res.Position)
		// The other store, whose cache says revision i-1, must conflict.
		other := stores[(i+1)%2]
		_, err := other.Append(ctx, "shared-1", exp, event("E", 100+i))
		var wev *eventstore.WrongExpectedVersionError
		require.ErrorAs(t, err, &wev, "append %d at %s through the other store", i, exp)
		require.Equal(t, int64(i), wev.Actual)
	}
	// Idempotent retries through the other store report the stored events.
	ev := event("E", 50)
	first := mustAppend(t, a, "shared-2", eventstore.NoStream, ev)
	again := mustAppend(t, b, "shared-2", eventstore.NoStream, ev)
	require.Equal(t, first, again)
	again = mustAppend(t, b, "shared-2", eventstore.Any, ev)
	require.Equal(t, first, again)
	for _, s := range stores {
		head, err := s.HeadPosition(ctx)
		require.NoError(t, err)
		require.Equal(t, first.Position, head)
	}
}

// TestPollFindsUnnotifiedEvents writes an event the way another writer
// would, under the write lock but without NOTIFY: a subscription must still
// get it, through the poll.
func TestPollFindsUnnotifiedEvents(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	s := openURL(t, url, WithPollInterval(20*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	mustAppend(t, s, "s-1", eventstore.NoStream, event("E", 1))
	sub, err := s.Subscribe(ctx, 1, eventstore.Filter{})
	require.NoError(t, err)
	defer sub.Close()

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, qLock, writeLockSpace, s.lockKey)
	require.NoError(t, err)
	id := uuid.New()
	_, err = tx.Exec(ctx, `INSERT INTO es_events (position, stream, revision, id, type, data, metadata, recorded_at)
		SELECT max(position) + 1, 's-2', 0, $1, 'Raw', '{}'::bytea, NULL, now() FROM es_events`, id)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))

	ev, err := sub.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, id, ev.ID)
	require.Equal(t, uint64(2), ev.Position)
	require.Nil(t, ev.Metadata)
	// The writer's cache of heads sees the foreign event too.
	res := mustAppend(t, s, "s-2", eventstore.Exact(0), event("E", 2))
	require.Equal(t, uint64(3), res.Position)
}

// TestStoresShareTableUnderRepeatableRead has two stores append at once on
// a database whose default isolation is REPEATABLE READ (as a database or
// role setting may make it): the writer must still number its events after
// the other store's commit, not from a snapshot taken before the write lock
// was granted (a duplicate position, and every append of the batch failed).
func TestStoresShareTableUnderRepeatableRead(t *testing.T) {
	url := servicetest.PostgresSchema(t) + "&default_transaction_isolation=repeatable%20read"
	stores := []*Store{openURL(t, url), openURL(t, url)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i, s := range stores {
		for w := range 4 {
			wg.Go(func() {
				for k := range 30 {
					stream := fmt.Sprintf("rr-%d-%d-%d", i, w, k)
					if _, err := s.Append(t.Context(), stream, eventstore.NoStream, event("E", k)); err != nil {
						errs <- fmt.Errorf("%s: %w", stream, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	head, err := stores[0].HeadPosition(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(2*4*30), head)
}
