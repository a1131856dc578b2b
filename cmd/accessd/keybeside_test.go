package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore/sqlite"
)

// A key another process appends to the server's log (as accessctl keys
// create does, through a store of its own) is accepted on its first use,
// without waiting for the server's store to poll the file, and without any
// other append in between.
func TestKeyMintedBesideTheServerWorksAtOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	key := strings.Repeat("b", 40)
	_, base, _ := startInProcess(t, []string{"--data-dir", dir}, func(k string) string {
		if k == "ACCESSD_BOOTSTRAP_KEY" {
			return key
		}
		return ""
	})
	status, body := request(t, "GET", base+"/account", key, nil, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var env struct {
		Data struct {
			AccountID uuid.UUID `json:"accountId"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &env), "%s", body)
	require.NotEqual(t, uuid.Nil, env.Data.AccountID, "%s", body)

	// Another process: its own store on the file, which this server's
	// store hears of only at its next poll (1 s).
	store, err := sqlite.Open(filepath.Join(dir, "events.db"), sqlite.WithPollInterval(0))
	require.NoError(t, err)
	defer store.Close()
	pipeline, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	secret, err := loadSecret(dir, "command.key", 32)
	require.NoError(t, err)
	service, err := commands.NewService(pipeline, secret)
	require.NoError(t, err)
	for i := range 3 {
		actor := domain.Actor{AccountID: env.Data.AccountID, Grants: []domain.Grant{{Permission: domain.PermOwner}}}
		minted, err := service.CreateAPIKey(domain.WithActor(t.Context(), actor), commands.CreateAPIKey{
			DisplayName: "beside", Permissions: []domain.Grant{{Permission: domain.PermOwner}}})
		require.NoError(t, err)
		status, body = request(t, "GET", base+"/account", minted.Secret, nil, nil)
		require.Equal(t, http.StatusOK, status, "key %d minted beside the server, first use: %s", i, body)
	}
}
