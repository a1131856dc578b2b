package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	es "github.com/accessd/accessd/eventstore"
)

var idempotencyTests = []test{
	{"SameIdsSameNoStream", func(t *testing.T, s *store) {
		batch := events("LockProvisioned", 1, 3)
		want, first := mustAppend(t, s, "lock-1", es.NoStream, batch...)
		h := head(t, s)
		for range 2 {
			again, err := s.Append(t.Context(), "lock-1", es.NoStream, batch...)
			require.NoError(t, err, "re-appending the same ids at no-stream is a no-op")
			require.Equal(t, first, again, "a no-op reports the events already stored")
		}
		requireUnchanged(t, s, h, want)
	}},
	{"SameIdsSameExact", func(t *testing.T, s *store) {
		base, _ := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 0))
		batch := events("LockInstalled", 1, 2)
		added, first := mustAppend(t, s, "lock-1", es.Exact(0), batch...)
		h := head(t, s)
		again, err := s.Append(t.Context(), "lock-1", es.Exact(0), batch...)
		require.NoError(t, err, "re-appending the same ids at the same exact revision is a no-op")
		require.Equal(t, first, again, "a no-op reports the events already stored")
		requireUnchanged(t, s, h, concat(base, added))
	}},
	{"SameIdsAfterLaterAppends", func(t *testing.T, s *store) {
		// The retried append reports its own events, not the stream's head.
		base, _ := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 0))
		batch := events("LockInstalled", 1, 2)
		added, first := mustAppend(t, s, "lock-1", es.Exact(0), batch...)
		later, _ := mustAppend(t, s, "lock-1", es.Exact(2), event("LockRenamed", 3))
		mustAppend(t, s, "area-1", es.NoStream, event("AreaCreated", 4))
		h := head(t, s)
		again, err := s.Append(t.Context(), "lock-1", es.Exact(0), batch...)
		require.NoError(t, err, "re-appending the same ids at the same exact revision is a no-op")
		require.Equal(t, first, again, "a no-op reports the events already stored, not the stream's head")
		prefix, err := s.Append(t.Context(), "lock-1", es.Exact(0), batch[0])
		require.NoError(t, err, "the first of the ids, at the same place, is a no-op too")
		require.Equal(t, uint64(1), prefix.NextExpectedRevision)
		require.Less(t, prefix.Position, first.Position)
		requireEvents(t, concat(base, added, later), readStream(t, s, "lock-1", es.ReadStreamOptions{}))
		requireHead(t, s, h)
		require.Len(t, readAll(t, s, 0, es.Filter{}), 5)
	}},
	{"SameIdsOtherRevision", func(t *testing.T, s *store) {
		base, _ := mustAppend(t, s, "lock-1", es.NoStream, events("LockProvisioned", 0, 2)...)
		batch := events("LockInstalled", 2, 2)
		added, _ := mustAppend(t, s, "lock-1", es.Exact(1), batch...)
		h := head(t, s)
		for _, exp := range []es.ExpectedRevision{es.NoStream, es.Exact(0), es.Exact(2), es.Exact(5)} {
			_, err := s.Append(t.Context(), "lock-1", exp, batch...)
			requireWrongExpected(t, err, "lock-1", exp, 3)
		}
		// The same ids in another order are not the append that was made.
		_, err := s.Append(t.Context(), "lock-1", es.Exact(1), batch[1], batch[0])
		requireWrongExpected(t, err, "lock-1", es.Exact(1), 3)
		requireUnchanged(t, s, h, concat(base, added))
	}},
	{"SameIdsWithAny", func(t *testing.T, s *store) {
		base, _ := mustAppend(t, s, "lock-1", es.NoStream, event("LockProvisioned", 0))
		batch := events("LockInstalled", 1, 3)
		added, first := mustAppend(t, s, "lock-1", es.Any, batch...)
		h := head(t, s)
		again, err := s.Append(t.Context(), "lock-1", es.Any, batch...)
		require.NoError(t, err, "re-appending the same ids with any is a no-op")
		require.Equal(t, first, again)
		again, err = s.Append(t.Context(), "lock-1", es.StreamExists, batch...)
		require.NoError(t, err, "re-appending the same ids with stream-exists is a no-op")
		require.Equal(t, first, again)
		one, err := s.Append(t.Context(), "lock-1", es.Any, batch[0])
		require.NoError(t, err, "re-appending the first id alone with any is a no-op")
		require.Equal(t, uint64(1), one.NextExpectedRevision)
		requireUnchanged(t, s, h, concat(base, added))
	}},
}

// requireUnchanged checks that lock-1 holds want and $all ends at head.
func requireUnchanged(t *testing.T, s *store, head uint64, want []appended) {
	t.Helper()
	requireEvents(t, want, readStream(t, s, "lock-1", es.ReadStreamOptions{}))
	requireHead(t, s, head)
	require.Empty(t, readAll(t, s, head, es.Filter{}), "$all grew")
	all := readAll(t, s, 0, es.Filter{})
	seen := map[string]bool{}
	for _, ev := range all {
		require.False(t, seen[ev.ID.String()+ev.Stream], "event %s twice in $all", ev.ID)
		seen[ev.ID.String()+ev.Stream] = true
	}
}
