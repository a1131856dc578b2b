package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/eventstore"
	httpapi "github.com/accessd/accessd/http"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/all"
	"github.com/accessd/accessd/projections/auditindex"
	"github.com/accessd/accessd/queries"
)

// exportServer is a seeded data directory with its projections caught up
// and the API serving it, as the server would.
type exportServer struct {
	dir, key string
	srv      *httptest.Server
	// lock, user and property are seeded entities with a history.
	lock, user, property uuid.UUID
	// mid is an instant inside the seeded history: the lock's install.
	mid time.Time
}

func newExportServer(t *testing.T) exportServer {
	ctx, cancel := context.WithCancel(t.Context())
	dir := t.TempDir()
	s, err := newSeeder(ctx, dir, "")
	require.NoError(t, err)
	// The export reads the data directory's own SQLite read models,
	// whatever dialect other suites run on.
	db, err := projections.OpenSQLite(ctx, filepath.Join(dir, readModelsFile))
	require.NoError(t, err)
	registry := s.service.Pipeline().Registry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var runners []*projections.Runner
	for _, p := range all.Projections(registry) {
		r, err := projections.NewRunner(db, s.store, registry, p, log)
		require.NoError(t, err)
		runners = append(runners, r)
	}
	set := projections.NewSet(s.store, runners...)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
		s.close()
	})

	_, err = s.run(ctx, 1500, 2, func(uint64) {})
	require.NoError(t, err)
	key, err := s.service.CreateAPIKey(domain.WithActor(ctx, s.actor), commands.CreateAPIKey{
		DisplayName: "auditor", Permissions: []domain.Grant{{Permission: domain.PermOwner}}})
	require.NoError(t, err)
	head, err := s.store.HeadPosition(ctx)
	require.NoError(t, err)
	require.NoError(t, set.WaitFor(ctx, head))

	out := exportServer{dir: dir, key: key.Secret}
	installs, err := s.store.ReadAll(ctx, 0, 1, eventstore.Filter{EventTypes: []string{"LockInstalled"}})
	require.NoError(t, err)
	require.Len(t, installs, 1)
	ids := auditindex.IDs(installs[0].Data)
	out.lock, out.property = ids["lockId"], ids["propertyId"]
	devices, err := s.store.ReadAll(ctx, 0, 1, eventstore.Filter{EventTypes: []string{"UserDeviceProvisioned"}})
	require.NoError(t, err)
	require.Len(t, devices, 1)
	out.user = auditindex.IDs(devices[0].Data)["userId"]
	out.mid = installs[0].RecordedAt

	reg := prometheus.NewRegistry()
	out.srv = httptest.NewServer(httpapi.NewRouter(httpapi.Options{
		Commands: s.service, Entities: queries.NewEntities(db), Events: queries.NewEvents(db), KeyMaps: queries.NewKeyMaps(db),
		Waiter: set, Reprocessor: set, Ready: set.Ready, Signer: httpapi.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))),
		Gatherer: reg, Metrics: httpapi.NewMetrics(reg), Log: log, Audit: mustAudit(t, db, s),
	}))
	t.Cleanup(out.srv.Close)
	return out
}

func mustAudit(t *testing.T, db *projections.DB, s *seeder) *queries.Audit {
	a, err := queries.NewAudit(db, s.store, s.service.Pipeline().Registry())
	require.NoError(t, err)
	return a
}

func (s exportServer) get(t *testing.T, path string) []byte {
	status, body := s.getAny(t, path)
	require.Equal(t, http.StatusOK, status, "%s", body)
	return []byte(body)
}

// The export of a lock, a user and a property, whole or from an instant,
// as JSON lines and as CSV, is byte for byte what the API answers.
func TestExportEqualsTheHTTPHistory(t *testing.T) {
	s := newExportServer(t)
	from := s.mid.Format(time.RFC3339Nano)
	long := 0 // exports long enough for a progress line
	for _, tc := range []struct{ flag, path string }{
		{"--lock", "/audit/locks/" + s.lock.String() + "/history"},
		{"--user", "/audit/users/" + s.user.String() + "/history"},
		{"--property", "/audit/properties/" + s.property.String() + "/history"},
	} {
		id := strings.Split(tc.path, "/")[3]
		for _, format := range []string{"json", "csv"} {
			for _, window := range []string{"", from} {
				name := tc.flag + " " + format + " from " + window
				out := filepath.Join(t.TempDir(), "export."+format)
				args := []string{"export", "--data-dir", s.dir, tc.flag, id, "--format", format, "--out", out, "--progress-every", "50"}
				query := "?format=" + format
				if window != "" {
					args = append(args, "--from", window)
					query += "&from=" + url.QueryEscape(window)
				}
				code, stdout, stderr := accessctl(t, args...)
				require.Equal(t, exitOK, code, "%s: %s", name, stderr)
				assert.NotContains(t, stderr, "warning", name)
				got, err := os.ReadFile(out)
				require.NoError(t, err)
				want := s.get(t, tc.path+query)
				require.NotEmpty(t, want, name)
				assert.Equal(t, string(want), string(got), name)
				items := bytes.Count(want, []byte("\n"))
				if format == "csv" {
					items-- // the header row
				}
				assert.Contains(t, stdout, "exported "+strconv.Itoa(items)+" items", name)
				if window != "" && tc.flag != "--user" { // the user came after the install
					whole := s.get(t, tc.path+"?format="+format)
					assert.Less(t, len(want), len(whole), "%s: the window cuts the history", name)
				}
				if items >= 50 {
					long++
					assert.Contains(t, stderr, "export: 50 items", name)
				}
			}
		}
	}
	assert.Positive(t, long, "some exports print progress")
}

// Invalid input exits 2 and writes nothing.
func TestExportRefusesInvalidInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	id := uuid.NewString()
	for _, args := range [][]string{
		{"--out", out},
		{"--lock", id, "--user", id, "--out", out},
		{"--lock", "door", "--out", out},
		{"--lock", id},
		{"--lock", id, "--out", out, "--format", "xml"},
		{"--lock", id, "--out", out, "--from", "yesterday"},
		{"--lock", id, "--out", out, "--from", "2027-01-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z"},
	} {
		code, _, stderr := accessctl(t, append([]string{"export", "--data-dir", dir}, args...)...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
	}
	// from after to is refused as the API refuses it (400 naming from),
	// not an empty export.
	code, _, stderr := accessctl(t, "export", "--data-dir", dir, "--lock", id, "--out", out,
		"--from", "2027-01-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z")
	assert.Equal(t, exitUsage, code, "%s", stderr)
	assert.Contains(t, stderr, "--from: must not be after --to")
	// An --out that is a directory is refused before anything is read
	// (here there is not even an event store), naming --out.
	code, _, stderr = accessctl(t, "export", "--data-dir", dir, "--lock", id, "--out", dir)
	assert.Equal(t, exitUsage, code, "%s", stderr)
	assert.Contains(t, stderr, "--out")
	assert.Contains(t, stderr, "is a directory")
	assert.NotContains(t, stderr, "rename")
	code, _, stderr = accessctl(t, "export", "--data-dir", dir, "--lock", id, "--out", out)
	assert.Equal(t, exitFailed, code, "no event store here")
	assert.Contains(t, stderr, "no event store")
	_, err := os.Stat(out)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// An export fails, naming what is missing, where the API would answer 404
// or has nothing to read: an id the log never had, and read models never
// built.
func TestExportFailsOnWhatIsNotThere(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "out.json")
	code, stdout, stderr := accessctl(t, "export", "--data-dir", f.dir, "--property", f.propertyID.String(), "--out", out)
	assert.Equal(t, exitFailed, code, "%s%s", stdout, stderr)
	assert.Contains(t, stderr, "read models")
	assert.Contains(t, stderr, "accessctl projections rebuild --all")
	assert.NotContains(t, stderr, "no such table")

	code, stdout, stderr = accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	unknown := uuid.NewString()
	for _, flag := range []string{"--lock", "--user", "--property"} {
		code, stdout, stderr = accessctl(t, "export", "--data-dir", f.dir, flag, unknown, "--out", out)
		assert.Equal(t, exitFailed, code, "%s: %s%s", flag, stdout, stderr)
		assert.Contains(t, stderr, unknown, flag)
		assert.Contains(t, stderr, "no "+strings.TrimPrefix(flag, "--"), flag)
		assert.NotContains(t, stdout, "exported", flag)
		_, err := os.Stat(out)
		assert.ErrorIs(t, err, os.ErrNotExist, flag)
	}
	for flag, id := range map[string]uuid.UUID{"--user": f.userID, "--property": f.propertyID} {
		code, stdout, stderr = accessctl(t, "export", "--data-dir", f.dir, flag, id.String(), "--out", out)
		assert.Equal(t, exitOK, code, "%s: %s%s", flag, stdout, stderr)
		assert.Contains(t, stdout, "exported", flag)
	}
}

// An export only reads: it changes no file of the data directory (a
// replayed one is evidence), creates no read models where there are none,
// and works on a directory it cannot write.
func TestExportWritesNothing(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "out.json")
	before := dirSums(t, f.dir)
	code, stdout, stderr := accessctl(t, "export", "--data-dir", f.dir, "--property", f.propertyID.String(), "--out", out)
	assert.Equal(t, exitFailed, code, "%s%s", stdout, stderr)
	assert.Contains(t, stderr, "accessctl projections rebuild --all")
	assert.Equal(t, before, dirSums(t, f.dir), "an export without read models changed the directory")
	_, err := os.Stat(filepath.Join(f.dir, readModelsFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "an export created the read models")

	code, stdout, stderr = accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	before = dirSums(t, f.dir)
	requireExport(t, f.dir, f.propertyID, out)
	assert.Equal(t, before, dirSums(t, f.dir), "an export changed the directory")

	if !makeReadOnly(t, f.dir) {
		return
	}
	requireExport(t, f.dir, f.propertyID, out)
	assert.Equal(t, before, dirSums(t, f.dir))
}

// Beside a server in the middle of a write (holding the write locks of
// both databases) an export answers at once instead of failing with
// "database is locked".
func TestExportBesideAWriter(t *testing.T) {
	f := newFixture(t)
	code, stdout, stderr := accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	holdWriteLocks(t, f.dir, eventsFile, readModelsFile)
	start := time.Now()
	requireExport(t, f.dir, f.propertyID, filepath.Join(t.TempDir(), "out.json"))
	assert.Less(t, time.Since(start), 5*time.Second, "the export waited for the writer")
}

// requireExport exports the property's history from dir into out.
func requireExport(t *testing.T, dir string, propertyID uuid.UUID, out string) {
	t.Helper()
	code, stdout, stderr := accessctl(t, "export", "--data-dir", dir, "--property", propertyID.String(), "--out", out)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	assert.Contains(t, stdout, "exported")
}

// --out - writes the export to stdout, the same bytes as the file, with
// the summary line on stderr; no file named "-" appears.
func TestExportToStdout(t *testing.T) {
	f := newFixture(t)
	code, stdout, stderr := accessctl(t, "projections", "rebuild", "--all", "--data-dir", f.dir)
	require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
	t.Chdir(t.TempDir())
	for _, format := range []string{"json", "csv"} {
		out := filepath.Join(t.TempDir(), "out."+format)
		code, stdout, stderr = accessctl(t, "export", "--data-dir", f.dir, "--user", f.userID.String(), "--format", format, "--out", out)
		require.Equal(t, exitOK, code, "%s%s", stdout, stderr)
		want, err := os.ReadFile(out)
		require.NoError(t, err)
		require.NotEmpty(t, want)

		code, stdout, stderr = accessctl(t, "export", "--data-dir", f.dir, "--user", f.userID.String(), "--format", format, "--out", "-")
		require.Equal(t, exitOK, code, "%s", stderr)
		assert.Equal(t, string(want), stdout, format)
		assert.Contains(t, stderr, "exported")
		assert.Contains(t, stderr, "to stdout")
		_, err = os.Stat("-")
		assert.ErrorIs(t, err, os.ErrNotExist, "a file named -")
	}
}
