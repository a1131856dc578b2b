package replaymark

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A marker is written unfinished unless marked done; one written before
// markers recorded it (no "complete") is taken as finished, so an older
// replay, an evidence copy perhaps, is still served.
func TestFinished(t *testing.T) {
	dir := t.TempDir()
	m := Marker{Source: "/data", Until: "42"}
	require.NoError(t, Write(dir, m))
	got, ok, err := Read(dir)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, got.Finished())
	require.Error(t, CheckComplete(dir))

	require.NoError(t, Write(dir, m.Done()))
	got, _, err = Read(dir)
	require.NoError(t, err)
	require.True(t, got.Finished())
	require.NoError(t, CheckComplete(dir))

	require.NoError(t, os.WriteFile(filepath.Join(dir, File), []byte(`{"source":"/data","until":"42"}`), 0o600))
	got, _, err = Read(dir)
	require.NoError(t, err)
	require.True(t, got.Finished(), "a marker of an earlier version")
	require.NoError(t, CheckComplete(dir))
}
