package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/lock"
)

// Seeded openings look like real ones: signed by the device the key names,
// by a key in the lock's key map, so the server's checks flag none of
// them. Every seeded command carries the API key it came with and a
// correlation id, and the seed prints an owner key that authenticates.
func TestSeedLooksLikeRealTraffic(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := accessctl(t, "seed", "--events", "3000", "--workers", "4", "--data-dir", dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	require.Contains(t, stdout, "apiKeyId=")
	_, secret := parseKeyLines(t, stdout[strings.Index(stdout, "apiKeyId="):])
	doc, err := authenticateFresh(t, dir, secret)
	require.NoError(t, err, "the printed key authenticates")
	assert.Contains(t, string(doc.JSON), `"owner"`)

	srv := openServer(t, dir)
	registry := commands.NewRegistry()
	recs := readAllEvents(t, srv.store)
	openings, granted := 0, 0
	for _, rec := range recs {
		env, err := registry.Decode(rec)
		require.NoError(t, err)
		meta := env.Metadata
		assert.NotEmpty(t, meta.CorrelationID, "%s at %d: a cause", rec.Type, rec.Position)
		switch env.Event.(type) {
		case account.AccountCreated, apikey.APIKeyCreated:
			// The bootstrap, and the seeder's key being minted, come with
			// no key yet.
		default:
			assert.NotEmpty(t, meta.APIKeyID, "%s at %d: an actor", rec.Type, rec.Position)
		}
		if e, ok := env.Event.(lock.LockAccessLogged); ok {
			openings++
			if e.Result == lock.Granted {
				granted++
			}
			assert.False(t, e.DeviceSignatureFailure, "opening %s: the device signed it", e.LockAccessLogID)
			assert.False(t, e.StaleCredential, "opening %s: the key is in the key map", e.LockAccessLogID)
			assert.False(t, e.FutureDate, "opening %s", e.LockAccessLogID)
			assert.NotEqual(t, uint64(0), e.KeyMapVersion, "opening %s: a key map was in force", e.LockAccessLogID)
		}
	}
	assert.Greater(t, openings, 1000)
	assert.Greater(t, granted, openings/2)
}
