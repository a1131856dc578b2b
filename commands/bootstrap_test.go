package commands_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// TestBootstrapEventsCarryAnActorAndACause: the first account's events say
// whose they are, which key appended them and what correlates them, like
// any command's, so an audit of the account shows an actor and a cause.
func TestBootstrapEventsCarryAnActorAndACause(t *testing.T) {
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	registry := commands.NewRegistry()
	p, err := commands.NewPipeline(store, registry, time.Now)
	require.NoError(t, err)
	svc, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	created, err := svc.Bootstrap(t.Context(), "0123456789abcdef0123456789abcdef")
	require.NoError(t, err)
	require.True(t, created)

	recs, err := store.ReadAll(t.Context(), 0, 100, eventstore.Filter{})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	var correlation string
	for _, rec := range recs {
		env, err := registry.Decode(rec)
		require.NoError(t, err)
		m := env.Metadata
		assert.NotEmpty(t, m.AccountID, rec.Type)
		assert.NotEmpty(t, m.APIKeyID, rec.Type)
		assert.NotEmpty(t, m.CorrelationID, rec.Type)
		if correlation == "" {
			correlation = m.CorrelationID
		}
		assert.Equal(t, correlation, m.CorrelationID, "one bootstrap, one correlation")
	}
}
