package projections_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/projections"
)

// A data directory may hold a '#' or a '?' (a fuzz target's temporary
// directory is named "…seed#0…"): the read-model database is the file at
// the path given, not one at the path cut where a URI's fragment or query
// would begin, outside the directory and shared by every such opening.
func TestOpenSQLiteTakesThePathAsItIs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data#1?x=y")
	path := filepath.Join(dir, "readmodels.db")
	db, err := projections.OpenSQLite(context.Background(), path)
	require.NoError(t, err)
	_, err = db.ExecContext(context.Background(), `CREATE TABLE t (x INTEGER)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = os.Stat(path)
	require.NoError(t, err, "the database is the file at the path given")
	entries, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"data#1?x=y"}, names, "nothing is written beside the data directory")
}
