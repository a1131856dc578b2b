package main

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/sqlite"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
)

// TestStorageCheckNamesTheIntegrationDatabase: /healthz and /readyz name
// an integration.db that does not answer (the forwarder and the webhook
// deliveries then stop), as degraded: reads and commands still serve.
func TestStorageCheckNamesTheIntegrationDatabase(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	defer store.Close()
	readDB, err := projections.OpenSQLite(t.Context(), filepath.Join(dir, "readmodels.db"))
	require.NoError(t, err)
	defer readDB.Close()
	integDB, err := projections.OpenSQLite(t.Context(), filepath.Join(dir, "integration.db"))
	require.NoError(t, err)

	check := storageCheck(store, readDB, integDB, []string{dir})
	require.NoError(t, check(t.Context()))
	require.NoError(t, integDB.Close())
	err = check(t.Context())
	require.Error(t, err)
	require.Contains(t, err.Error(), "integration database")
	notServing := reflect.TypeOf(httpapi.NotServing(nil))
	for e := err; e != nil; e = errors.Unwrap(e) {
		require.NotEqual(t, notServing, reflect.TypeOf(e), "every request was refused for the integration database")
	}
}
