package commands

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sortedIDs is n ids in the order a read model lists them.
func sortedIDs(n int) []uuid.UUID {
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// keyset pages ids as the cascade's readers do: up to limit after the
// one given.
func keyset(ids []uuid.UUID) func(after uuid.UUID, limit int) ([]uuid.UUID, error) {
	return func(after uuid.UUID, limit int) ([]uuid.UUID, error) {
		i := 0
		if after != uuid.Nil {
			i = slices.Index(ids, after) + 1
		}
		return ids[i:min(i+limit, len(ids))], nil
	}
}

// eachListed visits every id once, in order, across pages (a last page
// full included), and answers the furthest step's position.
func TestEachListedVisitsEveryIDOnce(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, cascadePage - 1, cascadePage, cascadePage + 1, 2 * cascadePage, 2*cascadePage + 7} {
		ids := sortedIDs(n)
		var seen []uuid.UUID
		res, err := eachListed(keyset(ids), func(id uuid.UUID) (Result, error) {
			seen = append(seen, id)
			return Result{Position: uint64(len(seen))}, nil
		})
		require.NoError(t, err, "n=%d", n)
		assert.True(t, slices.Equal(ids, seen), "n=%d: every id once, in order", n)
		assert.Equal(t, uint64(n), res.Position, "n=%d", n)
	}
}

// A reader that ignores the cursor answers the same full page forever:
// eachListed fails rather than loop.
func TestEachListedStopsOnAPageThatDoesNotAdvance(t *testing.T) {
	t.Parallel()
	ids := sortedIDs(cascadePage)
	calls := 0
	_, err := eachListed(func(uuid.UUID, int) ([]uuid.UUID, error) {
		calls++
		if calls > 3 {
			t.Fatal("eachListed keeps asking for the same page")
		}
		return ids, nil
	}, func(uuid.UUID) (Result, error) { return Result{}, nil })
	require.Error(t, err)
	assert.Equal(t, 2, calls)
}

// A failing read or step stops the walk with its error.
func TestEachListedStopsAtAnError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := eachListed(func(uuid.UUID, int) ([]uuid.UUID, error) { return nil, boom }, nil)
	assert.ErrorIs(t, err, boom)
	steps := 0
	_, err = eachListed(keyset(sortedIDs(3)), func(uuid.UUID) (Result, error) {
		steps++
		return Result{}, boom
	})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 1, steps)
}
