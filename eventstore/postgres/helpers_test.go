package postgres

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
)

// openURL opens a store at url and closes it when the test ends.
func openURL(t testing.TB, url string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, opts...)
	require.NoError(t, err, "open %s", redact(url))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openFresh opens a store on a schema of its own.
func openFresh(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openURL(t, servicetest.PostgresSchema(t), opts...)
}

func event(typ string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID:       uuid.New(),
		Type:     typ,
		Data:     json.RawMessage(fmt.Sprintf(`{"n": %d}`, n)),
		Metadata: json.RawMessage(`{"correlationId":"c"}`),
	}
}

func mustAppend(t testing.TB, s eventstore.Store, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(t.Context(), stream, exp, evs...)
	require.NoError(t, err, "append to %s at %s", stream, exp)
	return res
}
