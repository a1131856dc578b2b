package bus

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/projections"
)

func TestCheckpointOnlyMovesForward(t *testing.T) {
	dbs := map[string]func(t *testing.T) *projections.DB{
		"sqlite": func(t *testing.T) *projections.DB { return openDB(t) },
		"postgres": func(t *testing.T) *projections.DB {
			db, err := projections.OpenPostgres(context.Background(), servicetest.PostgresSchema(t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			return db
		},
	}
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			require.NoError(t, SetupCheckpoints(ctx, db))
			require.NoError(t, SetupCheckpoints(ctx, db), "creating the table twice is harmless")

			pos, err := readCheckpoint(ctx, db, "bus")
			require.NoError(t, err)
			require.Zero(t, pos)

			for _, step := range []struct{ write, want uint64 }{{5, 5}, {3, 5}, {9, 9}} {
				require.NoError(t, writeCheckpoint(ctx, db, "bus", step.write))
				pos, err := readCheckpoint(ctx, db, "bus")
				require.NoError(t, err)
				require.Equal(t, step.want, pos, "after writing %d", step.write)
			}
			other, err := readCheckpoint(ctx, db, "other")
			require.NoError(t, err)
			require.Zero(t, other)
		})
	}
}
