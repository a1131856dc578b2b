package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLogID: a log's identity is made with the file, kept across opens
// (read-only ones too), differs from another file's, and is given to a
// file written by a build without it the first time it is opened.
func TestLogID(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	id := func(path string, readOnly bool) string {
		t.Helper()
		open := Open
		if readOnly {
			open = OpenReadOnly
		}
		s, err := open(path)
		require.NoError(t, err)
		defer s.Close()
		got, err := s.LogID(t.Context())
		require.NoError(t, err)
		return got
	}
	first := id(a, false)
	require.NotEmpty(t, first)
	require.Equal(t, first, id(a, false))
	require.Equal(t, first, id(a, true))
	require.NotEqual(t, first, id(b, false))

	// A file of an older build: no identity, read-only none, then one.
	db, err := sql.Open("sqlite", a)
	require.NoError(t, err)
	_, err = db.Exec(`DROP TABLE log_identity`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.Empty(t, id(a, true))
	made := id(a, false)
	require.NotEmpty(t, made)
	require.Equal(t, made, id(a, true))
}
