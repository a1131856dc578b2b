package main

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/postgres"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/sqlite"
)

// An operator of a scale-out deployment rebuilds the read models on
// PostgreSQL from the log on PostgreSQL, naming them as the servers do.
func TestProjectionsRebuildOnScaleOutBackends(t *testing.T) {
	ctx := t.Context()
	eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
	store, err := postgres.Open(ctx, eventStore)
	require.NoError(t, err)
	pipeline, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
	require.NoError(t, err)
	service, err := commands.NewService(pipeline, bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	created, err := service.Bootstrap(ctx, strings.Repeat("b", 40))
	require.NoError(t, err)
	require.True(t, created)
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	require.NoError(t, store.Close())

	ctl := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		environ := map[string]string{"ACCESSD_EVENTSTORE": eventStore}
		code := run(ctx, args, env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return environ[k] }})
		return code, out.String(), errOut.String()
	}
	// No data directory at all: the settings name everything.
	dir := t.TempDir()
	code, out, errOut := ctl("projections", "rebuild", "--all", "--data-dir", dir, "--readmodels", readModels)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	require.Contains(t, out, "rebuilt and swapped in")

	code, out, errOut = ctl("projections", "status", "--data-dir", dir, "--readmodels", readModels)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "head position: "+itoa(head))
	checked := 0
	for _, line := range strings.Split(out, "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) >= 5 && fields[0] != "head" {
			require.Equal(t, "0", fields[4], "lag of %s after the rebuild: %s", fields[0], line)
			checked++
		}
	}
	require.Greater(t, checked, 10, "status listed the read models:\n%s", out)

	code, _, errOut = ctl("projections", "status", "--data-dir", dir, "--readmodels", "postgres://postgres:hunter2@127.0.0.1:1/x?connect_timeout=2")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "--readmodels")
	require.NotContains(t, errOut, "hunter2")
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestProjectionsRefuseReadModelsOfAnotherLog: accessctl, like the server,
// refuses read models built from another log than the one it opens (here
// a data directory's own SQLite log), writable or read-only.
func TestProjectionsRefuseReadModelsOfAnotherLog(t *testing.T) {
	ctx := t.Context()
	eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
	ctl := func(environ map[string]string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, args, env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return environ[k] }})
		return code, out.String(), errOut.String()
	}
	dir := t.TempDir()
	code, out, errOut := ctl(map[string]string{"ACCESSD_EVENTSTORE": eventStore}, "projections", "rebuild", "--all", "--data-dir", dir, "--readmodels", readModels)
	require.Equal(t, 0, code, "%s%s", out, errOut)

	other := t.TempDir()
	s, err := sqlite.Open(filepath.Join(other, eventsFile))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	for _, args := range [][]string{
		{"projections", "rebuild", "--all", "--data-dir", other, "--readmodels", readModels},
		{"projections", "status", "--data-dir", other, "--readmodels", readModels},
	} {
		code, _, errOut = ctl(nil, args...)
		require.NotEqual(t, 0, code, "%v", args)
		require.Contains(t, errOut, "another event log", "%v", args)
		require.Contains(t, errOut, "--eventstore", "%v", args)
		require.Contains(t, errOut, "--readmodels", "%v", args)
	}
	code, _, errOut = ctl(map[string]string{"ACCESSD_EVENTSTORE": eventStore}, "projections", "status", "--data-dir", dir, "--readmodels", readModels)
	require.Equal(t, 0, code, errOut)
}

// The commands that append or copy the log take the log a scale-out
// deployment names, as the others do: seed appends to it, keys create
// mints a key there that the servers accept, and replay copies from it,
// and none makes an events.db in the data directory.
func TestAppendingCommandsUseTheNamedEventStore(t *testing.T) {
	ctx := t.Context()
	eventStore := servicetest.PostgresSchema(t)
	environ := map[string]string{"ACCESSD_EVENTSTORE": eventStore}
	dir := t.TempDir()

	code, out, errOut := accessctlEnv(t, environ, "seed", "--events", "100", "--workers", "2", "--data-dir", dir)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	require.NoFileExists(t, filepath.Join(dir, eventsFile))
	store, err := postgres.Open(ctx, eventStore)
	require.NoError(t, err)
	defer store.Close()
	seeded, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	require.Greater(t, seeded, uint64(100), "seed appended to the PostgreSQL log")
	accountID, err := firstAccount(ctx, store)
	require.NoError(t, err)

	code, out, errOut = accessctlEnv(t, environ, "keys", "create", "--data-dir", dir, "--account", accountID.String(), "--permission", "owner")
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	require.NoFileExists(t, filepath.Join(dir, eventsFile))
	id, secret := parseKeyLines(t, out)
	_, err = store.ReadStream(ctx, "apikey-"+id, eventstore.ReadStreamOptions{})
	require.NoError(t, err, "the key's event is in the PostgreSQL log")
	_, err = authenticate(t, store, t.TempDir(), secret)
	require.NoError(t, err, "the key authenticates against that log")

	replayed := filepath.Join(t.TempDir(), "replay")
	code, out, errOut = accessctlEnv(t, environ, "replay", "--data-dir", dir, "--until", itoa(seeded), "--out", replayed)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	require.NoFileExists(t, filepath.Join(dir, eventsFile))
	copied, err := sqlite.OpenReadOnly(filepath.Join(replayed, eventsFile))
	require.NoError(t, err)
	defer copied.Close()
	want := readAllEvents(t, store)
	got := readAllEvents(t, copied)
	require.Len(t, got, int(seeded), "the replay holds the log up to --until")
	for i := range got {
		require.Equal(t, want[i].ID, got[i].ID)
		require.Equal(t, want[i].Position, got[i].Position)
		require.Equal(t, want[i].Stream, got[i].Stream)
		require.Equal(t, want[i].Revision, got[i].Revision)
		require.JSONEq(t, string(want[i].Data), string(got[i].Data))
		require.True(t, want[i].RecordedAt.Equal(got[i].RecordedAt), "recorded at %d", got[i].Position)
	}
}

// export reads the read models --readmodels names, PostgreSQL too: its
// file is the one an export of the same log and read models on SQLite
// (a replay of it) writes.
func TestExportOnScaleOutBackends(t *testing.T) {
	ctx := t.Context()
	eventStore, readModels := servicetest.PostgresSchema(t), servicetest.PostgresSchema(t)
	environ := map[string]string{"ACCESSD_EVENTSTORE": eventStore, "ACCESSD_READMODELS": readModels}
	dir := t.TempDir()
	code, out, errOut := accessctlEnv(t, environ, "seed", "--events", "100", "--workers", "2", "--data-dir", dir)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	code, out, errOut = accessctlEnv(t, environ, "projections", "rebuild", "--all", "--data-dir", dir)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	store, err := postgres.Open(ctx, eventStore)
	require.NoError(t, err)
	defer store.Close()
	head, err := store.HeadPosition(ctx)
	require.NoError(t, err)
	created, err := store.ReadAll(ctx, 0, 1, eventstore.Filter{StreamPrefixes: []string{"property-"}})
	require.NoError(t, err)
	require.Len(t, created, 1)
	property := strings.TrimPrefix(created[0].Stream, "property-")

	code, onPostgres, errOut := accessctlEnv(t, environ, "export", "--data-dir", dir, "--property", property, "--out", "-")
	require.Equal(t, exitOK, code, errOut)
	require.NotEmpty(t, onPostgres)
	replayed := filepath.Join(t.TempDir(), "replay")
	code, out, errOut = accessctlEnv(t, environ, "replay", "--data-dir", dir, "--until", itoa(head), "--out", replayed)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	code, onSQLite, errOut := accessctl(t, "export", "--data-dir", replayed, "--property", property, "--out", "-")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, onSQLite, onPostgres)
}
