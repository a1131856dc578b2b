package projections

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// openTestSQLite opens a SQLite read-model database in the test's directory,
// closed when the test ends.
func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "readmodels.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}
