package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// Both kinds of temporary name: a new one each time, and a fixed one.
var temps = map[string]string{"new name": "", "fixed name": "out.json.tmp"}

// The file gets the content and the mode asked for, replacing an earlier
// one, and no temporary file stays beside it.
func TestWriteReplacesTheFile(t *testing.T) {
	for name, temp := range temps {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.json")
			require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))

			require.NoError(t, Write(path, temp, 0o600, writeString("new")))
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, "new", string(b))
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			requireOnly(t, dir, "out.json")
		})
	}
}

// A temporary file a crash left under the fixed name, of another mode,
// is written over and its mode set.
func TestWriteOverALeftTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "out.json.tmp"), []byte("half a longer fi"), 0o644))

	require.NoError(t, Write(path, "out.json.tmp", 0o600, writeString("whole")))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "whole", string(b))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	requireOnly(t, dir, "out.json")
}

// A write that fails, after writing part, leaves the old file as it was
// and no temporary file, and its error is returned.
func TestWriteFailingLeavesTheOldFile(t *testing.T) {
	for name, temp := range temps {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.json")
			require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
			failed := errors.New("failed")

			err := Write(path, temp, 0o600, func(w io.Writer) error {
				_, _ = io.WriteString(w, "part")
				return failed
			})
			require.ErrorIs(t, err, failed)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, "old", string(b))
			requireOnly(t, dir, "out.json")
		})
	}
}

// requireOnly requires dir to hold only the file named.
func requireOnly(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{name}, names)
}
