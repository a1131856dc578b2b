package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
)

// RunLogID tests the log identity (eventstore.Identified) of a backend
// that keeps one; it needs b.NewLocation, b.OpenAt, b.OpenReadOnlyAt and
// b.DropLogID. A log's identity is made with the log, kept across opens
// (read-only ones too) and differs from another log's; a log written by
// a build without identities has none when opened read-only, and is given
// a new one the first time it is opened writable.
func RunLogID(t *testing.T, b Backend) {
	require.True(t, b.NewLocation != nil && b.OpenAt != nil && b.OpenReadOnlyAt != nil && b.DropLogID != nil,
		"%s: RunLogID needs NewLocation, OpenAt, OpenReadOnlyAt and DropLogID", b.Name)
	a, other := b.NewLocation(t), b.NewLocation(t)
	id := func(location string, readOnly bool) string {
		t.Helper()
		open := b.OpenAt
		if readOnly {
			open = b.OpenReadOnlyAt
		}
		s, err := open(location)
		require.NoError(t, err)
		defer s.Close()
		identified, ok := s.(eventstore.Identified)
		require.True(t, ok, "%s: the store has no log identity (eventstore.Identified)", b.Name)
		got, err := identified.LogID(t.Context())
		require.NoError(t, err)
		return got
	}
	first := id(a, false)
	require.NotEmpty(t, first)
	require.Equal(t, first, id(a, false))
	require.Equal(t, first, id(a, true))
	require.NotEqual(t, first, id(other, false))

	// A log of an older build: read-only none, then a new one.
	b.DropLogID(t, a)
	require.Empty(t, id(a, true))
	made := id(a, false)
	require.NotEmpty(t, made)
	require.NotEqual(t, first, made)
	require.Equal(t, made, id(a, true))
}
