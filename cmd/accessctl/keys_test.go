package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

const rootKey = "accessctl-test-root-key-0123456789abcdef"

// fixture is a data directory the server has bootstrapped, with a property
// and a user in the bootstrap account.
type fixture struct {
	dir        string
	accountID  uuid.UUID
	propertyID uuid.UUID
	userID     uuid.UUID
	// deletedUserID is a user of the account that was deleted.
	deletedUserID uuid.UUID
}

// server is the server's side of a data directory: its store and command
// service, wired as cmd/accessd wires them.
type server struct {
	store   *sqlite.Store
	service *commands.Service
}

func openServer(t *testing.T, dir string) server {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(dir, eventsFile))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	pipeline, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	key, err := loadOrCreateSecret(dir, commandKeyFile, commandKeySize)
	require.NoError(t, err)
	service, err := commands.NewService(pipeline, key)
	require.NoError(t, err)
	return server{store: store, service: service}
}

func owner(ctx context.Context, accountID uuid.UUID) context.Context {
	return domain.WithActor(ctx, domain.Actor{AccountID: accountID, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := t.Context()
	f := fixture{dir: t.TempDir()}
	srv := openServer(t, f.dir)
	_, err := srv.service.Bootstrap(ctx, rootKey)
	require.NoError(t, err)

	recs, err := srv.store.ReadAll(ctx, 0, 10, eventstore.Filter{EventTypes: []string{account.AccountCreated{}.EventType()}})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	env, err := commands.NewRegistry().Decode(recs[0])
	require.NoError(t, err)
	f.accountID = env.Event.(account.AccountCreated).AccountID

	p, err := srv.service.CreateProperty(owner(ctx, f.accountID), commands.CreateProperty{DisplayName: "Hotel Sol"})
	require.NoError(t, err)
	f.propertyID = p.PropertyID
	u, err := srv.service.CreateUser(owner(ctx, f.accountID), commands.CreateUser{DisplayName: "Ana"})
	require.NoError(t, err)
	f.userID = u.UserID
	gone, err := srv.service.CreateUser(owner(ctx, f.accountID), commands.CreateUser{DisplayName: "Gone"})
	require.NoError(t, err)
	_, err = commands.Run(owner(ctx, f.accountID), srv.service.Pipeline(), userAgg, gone.UserID, "DeleteUser", user.Delete{})
	require.NoError(t, err)
	f.deletedUserID = gone.UserID
	require.NoError(t, srv.store.Close())
	return f
}

// accessctl runs the CLI in-process with an empty environment.
func accessctl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return accessctlEnv(t, map[string]string{}, args...)
}

func accessctlEnv(t *testing.T, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return environ[k] }})
	return code, out.String(), errOut.String()
}

// parseKeyLines reads the `apiKeyId=…\napiKey=…\n` output.
func parseKeyLines(t *testing.T, out string) (id, secret string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2, out)
	id, ok := strings.CutPrefix(lines[0], "apiKeyId=")
	require.True(t, ok, out)
	secret, ok = strings.CutPrefix(lines[1], "apiKey=")
	require.True(t, ok, out)
	return id, secret
}

// authenticate looks the secret up as the server's auth does: the entities
// projection, run over the log into a read-model database of dir, then the
// key's document by the hash of the secret.
func authenticate(t *testing.T, store eventstore.Store, dir, secret string) (queries.Document, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	db := readmodeltest.Open(ctx, t, filepath.Join(dir, "readmodels.db"))
	runner, err := projections.NewRunner(db, store, commands.NewRegistry(), entities.New(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); runner.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		db.Close()
	}()
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	require.NoError(t, runner.WaitFor(wait, head))
	return queries.NewEntities(db).ByLookup(ctx, entities.KindAPIKey, commands.HashAPIKey(secret))
}

// authenticateFresh opens the store the way a starting server would.
func authenticateFresh(t *testing.T, dir, secret string) (queries.Document, error) {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(dir, eventsFile))
	require.NoError(t, err)
	defer store.Close()
	return authenticate(t, store, dir, secret)
}

type keyDoc struct {
	APIKeyID       string `json:"apiKeyId"`
	DisplayName    string `json:"displayName"`
	APIPermissions []struct {
		Permission string `json:"permission"`
		PropertyID string `json:"propertyId"`
		UserID     string `json:"userId"`
	} `json:"apiPermissions"`
}

func TestKeysCreateMintsAKeyThatAuthenticates(t *testing.T) {
	f := newFixture(t)
	code, out, errOut := accessctl(t, "keys", "create", "--data-dir", f.dir, "--account", f.accountID.String(), "--permission", "owner")
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, errOut)
	id, secret := parseKeyLines(t, out)
	assert.True(t, strings.HasPrefix(secret, "ak_"), secret)

	doc, err := authenticateFresh(t, f.dir, secret)
	require.NoError(t, err, "the minted key authenticates")
	assert.Equal(t, id, doc.ID)
	assert.Equal(t, f.accountID.String(), doc.AccountID)
	var d keyDoc
	require.NoError(t, json.Unmarshal(doc.JSON, &d))
	assert.Equal(t, "accessctl", d.DisplayName)
	require.Len(t, d.APIPermissions, 1)
	assert.Equal(t, "owner", d.APIPermissions[0].Permission)
	assert.Empty(t, d.APIPermissions[0].PropertyID)

	// The event says where it came from.
	store, err := sqlite.Open(filepath.Join(f.dir, eventsFile))
	require.NoError(t, err)
	defer store.Close()
	recs, err := store.ReadStream(t.Context(), "apikey-"+id, eventstore.ReadStreamOptions{Max: 10})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	env, err := commands.NewRegistry().Decode(recs[0])
	require.NoError(t, err)
	assert.Equal(t, f.accountID.String(), env.Metadata.AccountID)
	assert.True(t, strings.HasPrefix(env.Metadata.CorrelationID, "accessctl-"), env.Metadata.CorrelationID)
	assert.NotEmpty(t, env.Metadata.Hash, "the event is in the stream's hash chain")
}

func TestKeysCreateScopedJSON(t *testing.T) {
	f := newFixture(t)
	code, out, errOut := accessctlEnv(t, map[string]string{"ACCESSD_DATA_DIR": f.dir}, // --data-dir from the environment
		"keys", "create", "--json", "--account", f.accountID.String(), "--permission", "manage-access", "--permission", "me",
		"--property", f.propertyID.String(), "--user", f.userID.String(), "--name", "front desk")
	require.Equal(t, exitOK, code, errOut)

	var got struct {
		keyDoc
		AccountID string `json:"accountId"`
		APIKey    string `json:"apiKey"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, f.accountID.String(), got.AccountID)
	assert.Equal(t, "front desk", got.DisplayName)

	doc, err := authenticateFresh(t, f.dir, got.APIKey)
	require.NoError(t, err)
	assert.Equal(t, got.APIKeyID, doc.ID)
	var d keyDoc
	require.NoError(t, json.Unmarshal(doc.JSON, &d))
	assert.Equal(t, got.APIPermissions, d.APIPermissions, "printed as stored")
	require.Len(t, d.APIPermissions, 2)
	assert.Equal(t, "manage-access", d.APIPermissions[0].Permission)
	assert.Equal(t, f.propertyID.String(), d.APIPermissions[0].PropertyID)
	assert.Empty(t, d.APIPermissions[0].UserID, "only me names a user")
	assert.Equal(t, "me", d.APIPermissions[1].Permission)
	assert.Equal(t, f.propertyID.String(), d.APIPermissions[1].PropertyID)
	assert.Equal(t, f.userID.String(), d.APIPermissions[1].UserID)
}

func TestKeysCreateCommandKey(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(f.dir, commandKeyFile)
	require.NoError(t, os.Remove(path))
	args := []string{"keys", "create", "--data-dir", f.dir, "--account", f.accountID.String(), "--permission", "support"}

	code, _, errOut := accessctl(t, args...)
	require.Equal(t, exitOK, code, errOut)
	info, err := os.Stat(path)
	require.NoError(t, err, "created as the server creates it")
	assert.Equal(t, int64(commandKeySize), info.Size())
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	created, err := os.ReadFile(path)
	require.NoError(t, err)

	code, _, errOut = accessctl(t, args...)
	require.Equal(t, exitOK, code, errOut)
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, created, again, "then read, not replaced")

	require.NoError(t, os.WriteFile(path, []byte("short"), 0o600))
	code, _, errOut = accessctl(t, args...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "command key")
}

func TestKeysCreateInvalidInput(t *testing.T) {
	f := newFixture(t)
	acc, prop, usr := f.accountID.String(), f.propertyID.String(), f.userID.String()
	base := func(extra ...string) []string {
		return append([]string{"keys", "create", "--data-dir", f.dir}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no account", base("--permission", "owner"), "--account: is required"},
		{"bad account", base("--account", "not-a-uuid", "--permission", "owner"), "--account: is not a UUID"},
		{"nil account", base("--account", uuid.Nil.String(), "--permission", "owner"), "--account: must not be the nil UUID"},
		{"no permission", base("--account", acc), "--permission: at least one is required"},
		{"unknown permission", base("--account", acc, "--permission", "admin"), `--permission: unknown permission "admin"`},
		{"permission twice", base("--account", acc, "--permission", "support", "--permission", "support"), `--permission: "support" is given twice`},
		{"me without user", base("--account", acc, "--permission", "me"), "--user: the `me` permission needs --user"},
		{"user without me", base("--account", acc, "--permission", "support", "--user", usr), "--user: only the `me` permission"},
		{"bad property", base("--account", acc, "--permission", "owner", "--property", "42"), "--property: is not a UUID"},
		{"bad user", base("--account", acc, "--permission", "me", "--user", prop+"x"), "--user: is not a UUID"},
		{"empty name", base("--account", acc, "--permission", "owner", "--name", " "), "--name:"},
		{"empty data dir", []string{"keys", "create", "--data-dir", "", "--account", acc, "--permission", "owner"}, "--data-dir: must not be empty"},
		{"unknown flag", base("--account", acc, "--permission", "owner", "--frobnicate"), "-frobnicate"},
		{"flag without value", base("--account"), "-account"},
		{"extra argument", base("--account", acc, "extra", "--permission", "owner"), `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := accessctl(t, tt.args...)
			assert.Equal(t, exitUsage, code, errOut)
			assert.Contains(t, errOut, tt.want)
			assert.Contains(t, errOut, "accessctl keys create -h")
			assert.Empty(t, out, "no key printed")
		})
	}
	store, err := sqlite.Open(filepath.Join(f.dir, eventsFile))
	require.NoError(t, err)
	defer store.Close()
	recs, err := store.ReadAll(t.Context(), 0, 100, eventstore.Filter{StreamPrefixes: []string{"apikey-"}})
	require.NoError(t, err)
	assert.Len(t, recs, 1, "only the bootstrap key: invalid input mints nothing")
}

func TestKeysCreateNotFound(t *testing.T) {
	f := newFixture(t)
	other := uuid.NewString()
	acc := f.accountID.String()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"account", []string{"--account", other, "--permission", "owner"}, "account " + other + " not found"},
		{"property", []string{"--account", acc, "--permission", "owner", "--property", other}, "property " + other + " not found in account " + acc},
		{"user", []string{"--account", acc, "--permission", "me", "--user", other}, "user " + other + " not found in account " + acc},
		{"deleted user", []string{"--account", acc, "--permission", "me", "--user", f.deletedUserID.String()},
			"user " + f.deletedUserID.String() + " not found in account " + acc},
		{"property as user", []string{"--account", acc, "--permission", "me", "--user", f.propertyID.String()}, "user " + f.propertyID.String() + " not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := accessctl(t, append([]string{"keys", "create", "--data-dir", f.dir}, tt.args...)...)
			assert.Equal(t, exitFailed, code, errOut)
			assert.Contains(t, errOut, tt.want)
			assert.Empty(t, out)
		})
	}

	t.Run("no data directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "typo")
		code, out, errOut := accessctl(t, "keys", "create", "--data-dir", dir, "--account", acc, "--permission", "owner")
		assert.Equal(t, exitFailed, code)
		assert.Contains(t, errOut, "no event store at "+filepath.Join(dir, eventsFile))
		assert.Empty(t, out)
		_, err := os.Stat(dir)
		assert.ErrorIs(t, err, os.ErrNotExist, "a mistyped --data-dir is not created")
	})
}

// TestKeysCreateBesideRunningServer mints while a server holds the same
// file open with its projections running and its API served: both
// processes append (the positions stay one sequence), and the key
// authenticates on its first use, right after keys create, with no other
// append in between. The server's store is opened with a watcher that
// never ticks in the test: the server must notice the CLI's event when
// the key is used, not at a poll. A key nobody minted is refused at once.
func TestKeysCreateBesideRunningServer(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	store, err := sqlite.Open(filepath.Join(f.dir, eventsFile), sqlite.WithPollInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	registry := commands.NewRegistry()
	pipeline, err := commands.NewPipeline(store, registry, time.Now)
	require.NoError(t, err)
	secretKey, err := loadOrCreateSecret(f.dir, commandKeyFile, commandKeySize)
	require.NoError(t, err)
	service, err := commands.NewService(pipeline, secretKey)
	require.NoError(t, err)
	db := readmodeltest.Open(ctx, t, filepath.Join(f.dir, readModelsFile))
	var runners []*projections.Runner
	for _, p := range all.Projections(registry) {
		r, err := projections.NewRunner(db, store, registry, p, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		runners = append(runners, r)
	}
	set := projections.NewSet(store, runners...)
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); set.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done; db.Close() })
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, set.WaitFor(wait, head))
	require.Eventually(t, set.Ready, 20*time.Second, 10*time.Millisecond)
	reg := prometheus.NewRegistry()
	// Wired as cmd/accessd wires a writable server.
	srv := httptest.NewServer(httpapi.NewRouter(httpapi.Options{
		Commands: service, Entities: queries.NewEntities(db), Events: queries.NewEvents(db), KeyMaps: queries.NewKeyMaps(db),
		Waiter: set, Reprocessor: set, Ready: set.Ready, Signer: httpapi.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))),
		LogHead: store.RefreshHead, KeysModel: set.Runner(entities.New().Name()),
		Gatherer: reg, Metrics: httpapi.NewMetrics(reg), Log: slog.New(slog.DiscardHandler),
	}))
	t.Cleanup(srv.Close)
	get := func(key string) (int, time.Duration) {
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/account", nil)
		require.NoError(t, err)
		req.Header.Set("x-api-key", key)
		began := time.Now()
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode, time.Since(began)
	}
	status, took := get("ak_" + strings.Repeat("x", 40))
	assert.Equal(t, http.StatusUnauthorized, status, "a key nobody minted")
	assert.Less(t, took, time.Second, "a key nobody minted waited, with the read models caught up")

	code, out, errOut := accessctl(t, "keys", "create", "--data-dir", f.dir, "--account", f.accountID.String(), "--permission", "owner")
	require.Equal(t, exitOK, code, errOut)
	_, secret := parseKeyLines(t, out)
	status, took = get(secret)
	require.Equal(t, http.StatusOK, status, "the key minted beside the running server is refused on its first use (after %s)", took)

	status, took = get("ak_" + strings.Repeat("y", 40))
	assert.Equal(t, http.StatusUnauthorized, status, "a key nobody minted")
	assert.Less(t, took, time.Second, "a key nobody minted waited, with the read models caught up")

	recs, err := store.ReadAll(ctx, 0, 100, eventstore.Filter{})
	require.NoError(t, err)
	for i, r := range recs {
		assert.Equal(t, uint64(i+1), r.Position, "one gapless sequence of positions across both processes")
	}
}

func TestDispatch(t *testing.T) {
	code, out, errOut := accessctl(t)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "keys create")

	for _, help := range []string{"help", "-h", "--help"} {
		code, out, _ = accessctl(t, help)
		assert.Equal(t, exitOK, code, help)
		assert.Contains(t, out, "keys create", help)
	}

	code, out, _ = accessctl(t, "keys", "create", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "usage: accessctl keys create")
	assert.Contains(t, out, "-permission")

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"keys"}, "keys: missing verb (one of: create)"},
		{[]string{"keys", "--account", "x"}, "keys: missing verb"},
		{[]string{"keys", "mint"}, `keys: unknown verb "mint" (one of: create)`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	} {
		code, out, errOut := accessctl(t, tt.args...)
		assert.Equal(t, exitUsage, code, tt.args)
		assert.Contains(t, errOut, tt.want)
		assert.Empty(t, out)
	}
}
