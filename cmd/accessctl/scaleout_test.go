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
