package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

// testTwoStoresOneLocation opens two stores on one location, as two
// processes sharing a log would (API nodes on one PostgreSQL): writers on
// both race for the revisions of one stream, each store answers the
// other's appends to expected-revision checks and idempotent retries, and
// a subscriber on one sees the other's appends live, each once, in order.
func testTwoStoresOneLocation(t *testing.T, b Backend) {
	if b.NewLocation == nil {
		t.Skipf("%s: no NewLocation: one store per server", b.Name)
	}
	location := b.NewLocation(t)
	open := func() es.Store {
		s, err := b.OpenAt(location)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, c := open(), open()
	ctx := t.Context()

	// Each store learns a head, then the other moves it.
	mustAppend(t, a, "lock-1", es.NoStream, event("LockProvisioned", 0))
	mustAppend(t, c, "lock-1", es.Exact(0), event("LockInstalled", 1))
	_, err := a.Append(ctx, "lock-1", es.Exact(0), event("LockRenamed", 2))
	requireWrongExpected(t, err, "lock-1", es.Exact(0), 1)
	retry := events("LockRenamed", 3, 2)
	_, first := mustAppend(t, a, "lock-1", es.Exact(1), retry...)
	again, err := c.Append(ctx, "lock-1", es.Exact(1), retry...)
	require.NoError(t, err, "the other store's retry of the same ids")
	require.Equal(t, first, again)
	again, err = c.Append(ctx, "lock-1", es.Any, retry...)
	require.NoError(t, err, "the other store's retry of the same ids with any")
	require.Equal(t, first, again)

	sub := subscribe(t, a, head(t, a), es.Filter{})
	const writers, rounds = 4, 30
	var (
		mu   sync.Mutex
		wins = map[uint64]string{}
	)
	var wg sync.WaitGroup
	for w := range writers {
		s := a
		if w%2 == 1 {
			s = c
		}
		wg.Go(func() {
			for i := range rounds * writers {
				ev := event("LockChanged", w*1000+i)
				rev := 3 + uint64(i)
				if _, err := s.Append(ctx, "lock-1", es.Exact(rev), ev); err == nil {
					mu.Lock()
					require.Empty(t, wins[rev+1], "two winners at revision %d", rev+1)
					wins[rev+1] = ev.ID.String()
					mu.Unlock()
				} else if !errors.Is(err, es.ErrWrongExpectedVersion) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := readStream(t, c, "lock-1", es.ReadStreamOptions{From: 4})
	require.Len(t, got, len(wins))
	for _, ev := range got {
		require.Equal(t, wins[ev.Revision], ev.ID.String(), "revision %d", ev.Revision)
	}
	seen := nextN(t, sub, len(got))
	requireSame(t, got, seen)
}
