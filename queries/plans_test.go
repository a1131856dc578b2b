package queries

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/eventlist"
)

// The reads every request or filtered list makes must use their partial
// indexes on SQLite: a bound value does not prove "<> ”" to the planner,
// so each query says it.
func TestHotQueriesUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := projections.OpenSQLite(ctx, filepath.Join(t.TempDir(), "readmodels.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	ptx := projections.Tx{Tx: tx, Dialect: db.Dialect}
	for _, p := range []projections.Projection{entities.New(), eventlist.New(eventstore.NewRegistry())} {
		require.NoError(t, p.Setup(ctx, ptx))
		if ix, ok := p.(projections.Indexed); ok {
			for _, stmt := range ix.Indexes(ptx) {
				_, err := ptx.Exec(ctx, stmt)
				require.NoError(t, err)
			}
		}
	}
	require.NoError(t, tx.Commit())

	plan := func(query string, args ...any) string {
		rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		require.NoError(t, err)
		defer rows.Close()
		var steps []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			steps = append(steps, detail)
		}
		require.NoError(t, rows.Err())
		return strings.Join(steps, "; ")
	}

	assert.Contains(t, plan(byLookupSQL, "hash", "apikey", entities.StateDeleted), "INDEX "+entities.Table+"_by_lookup")
	for param, col := range eventlist.IDColumns {
		q, args, err := listEventsSQL("account", EventFilter{Equal: map[string]string{param: "x"}}, Page{Size: 50})
		require.NoError(t, err)
		assert.Contains(t, plan(q, args...), "INDEX "+eventlist.Table+"_by_"+col, param)
	}
}
