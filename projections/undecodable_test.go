package projections_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// An event this build cannot decode is skipped by every projection of a
// lane (the batch is decoded before it waits for the writer), and the
// events around it are applied once each.
func TestProjectionsTogetherSkipAnUndecodableEvent(t *testing.T) {
	f := newFixture(t)
	first := f.append(t, "tick-1", ticked{N: 1})

	a := named{tally: &tally{version: 1}, name: "a", table: "tally_a"}
	b := named{tally: &tally{version: 1}, name: "b", table: "tally_b"}
	set, stop := startSet(t, f, a, b)
	defer stop()
	waitFor(t, set, first)

	// Live, so the lane's batch, not a rebuild, meets it.
	bad := eventstore.EventData{ID: uuid.New(), Type: "Ticked",
		Data: json.RawMessage(`{"n":"not a number"}`), Metadata: json.RawMessage(`{}`)}
	_, err := f.store.Append(context.Background(), "tick-1", eventstore.Any, bad)
	require.NoError(t, err)
	last := f.append(t, "tick-1", ticked{N: 2})
	waitFor(t, set, last)
	for _, p := range []named{a, b} {
		var events, total int
		require.NoError(t, f.db.QueryRow(`SELECT events, total FROM `+p.table+` WHERE stream = 'tick-1'`).Scan(&events, &total))
		assert.Equal(t, 2, events, p.name)
		assert.Equal(t, 3, total, p.name)
		assert.Equal(t, int64(2), p.applied.Load(), p.name)
	}
}
