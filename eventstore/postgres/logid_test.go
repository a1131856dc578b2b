package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
)

// TestLogID: a log's identity is made with the tables, the same for every
// process that opens them (read-only too) and different in another schema;
// tables of an older build get one at the next writable open.
func TestLogID(t *testing.T) {
	a, b := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
	id := func(url string, readOnly bool) string {
		t.Helper()
		open := Open
		if readOnly {
			open = OpenReadOnly
		}
		s, err := open(t.Context(), url)
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

	s, err := Open(t.Context(), a)
	require.NoError(t, err)
	_, err = s.rpool.Exec(t.Context(), `DROP TABLE es_log`)
	require.NoError(t, err)
	s.Close()
	require.Empty(t, id(a, true))
	made := id(a, false)
	require.NotEmpty(t, made)
	require.NotEqual(t, first, made)
	require.Equal(t, made, id(a, true))
}
