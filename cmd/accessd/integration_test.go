package main

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/sqlite"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/readmodeltest"
)

// eventReceiver counts the webhook requests per event id, answering 200.
type eventReceiver struct {
	mu    sync.Mutex
	count map[string]int
	order []string
}

func newEventReceiver(t *testing.T) (*eventReceiver, string) {
	h := &eventReceiver{count: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("x-accessd-event-id")
		h.mu.Lock()
		h.count[id]++
		h.order = append(h.order, id)
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func (h *eventReceiver) snapshot() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.count))
	for k, v := range h.count {
		out[k] = v
	}
	return out
}

func (h *eventReceiver) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.order)
}

// forwardedFrom is the position the forwarder of a server's last start
// resumed from, as it logged it.
func forwardedFrom(t *testing.T, logs *syncBuffer) uint64 {
	t.Helper()
	started := regexp.MustCompile(`"msg":"forwarding integration events"[^\n]*"from":(\d+)`)
	// The forwarder starts beside the server, not before it is ready.
	require.Eventually(t, func() bool { return started.MatchString(logs.String()) }, 30*time.Second, 10*time.Millisecond, "the forwarder never started")
	m := started.FindAllStringSubmatch(logs.String(), -1)
	n, err := strconv.ParseUint(m[len(m)-1][1], 10, 64)
	require.NoError(t, err)
	return n
}

// eventIDs are the ids of the events of the log in dataDir.
func eventIDs(t *testing.T, dataDir string) []string {
	t.Helper()
	store, err := sqlite.OpenReadOnly(filepath.Join(dataDir, "events.db"))
	require.NoError(t, err)
	defer store.Close()
	evs, err := store.ReadAll(t.Context(), 0, 100000, eventstore.Filter{})
	require.NoError(t, err)
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID.String())
	}
	return out
}

// readModelChecksums are the checksums of every projection's tables in the
// SQLite read models of dataDir.
func readModelChecksums(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	db, err := projections.OpenSQLiteReadOnly(t.Context(), filepath.Join(dataDir, "readmodels.db"))
	require.NoError(t, err)
	defer db.Close()
	sums, err := readmodeltest.Checksums(t.Context(), db, projectionsFor(commands.NewRegistry()))
	require.NoError(t, err)
	return sums
}

// removeReadModels deletes readmodels.db and its WAL files, as an operator
// who wants fresh read models does.
func removeReadModels(t *testing.T, dataDir string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		err := os.Remove(filepath.Join(dataDir, "readmodels.db"+suffix))
		if !os.IsNotExist(err) {
			require.NoError(t, err)
		}
	}
}

// TestDeletingReadModelsRepublishesNothing: readmodels.db is documented as
// rebuildable from the log. An operator deletes it between two runs of
// the server: the read models come back as they were, and no event goes
// out again, neither on the bus nor to a webhook.
func TestDeletingReadModelsRepublishesNothing(t *testing.T) {
	t.Run("gochannel", func(t *testing.T) { deleteReadModelsBetweenRuns(t, false) })
	t.Run("nats", func(t *testing.T) {
		if testing.Short() {
			t.Skip("needs NATS")
		}
		deleteReadModelsBetweenRuns(t, true)
	})
}

func deleteReadModelsBetweenRuns(t *testing.T, onNATS bool) {
	var args []string
	var natsURL string
	if onNATS {
		natsURL = servicetest.NATSURL(t)
		args = []string{"--bus", natsURL}
	}
	hooks, hookURL := newEventReceiver(t)
	key := strings.Repeat("i", 40)
	dataDir := filepath.Join(t.TempDir(), "data")

	// First run: a webhook, then three properties it takes.
	var tap *natsTap
	if onNATS {
		tap = tapNATS(t, natsURL)
	}
	s := startPrivacyServer(t, key, dataDir, args...)
	s.ok(t, http.StatusCreated, key, "POST", "/accounts/webhooks", map[string]any{"url": hookURL, "eventTypes": []string{"PropertyCreated"}})
	for i := range 3 {
		s.ok(t, http.StatusCreated, key, "POST", "/properties", map[string]any{"displayName": "Before " + strconv.Itoa(i)})
	}
	if !onNATS {
		// On NATS the deliveries' durable consumer is shared with every
		// other server on the test broker, which may take a message and
		// find no webhook for it: only the embedded run counts them.
		require.Eventually(t, func() bool { return hooks.total() >= 3 }, 60*time.Second, 10*time.Millisecond, "the first run delivered nothing")
	}
	old := eventIDs(t, dataDir)
	if onNATS {
		require.Eventually(t, func() bool {
			return bytes.Contains(tap.all(), []byte(old[len(old)-1]))
		}, 30*time.Second, 10*time.Millisecond, "the first run published nothing on NATS")
	}
	time.Sleep(500 * time.Millisecond) // let a stray duplicate show
	s.stop()
	firstRun := hooks.snapshot()
	// The events the first run published, by their positions: not the
	// log's head after the stop, whose seal (appended as the server
	// stops) the forwarder may not have reached; the next run publishes
	// that one, once.
	head := uint64(len(old))
	before := readModelChecksums(t, dataDir)

	removeReadModels(t, dataDir)

	// Second run on the same log without read models.
	if onNATS {
		tap = tapNATS(t, natsURL)
	}
	s = startPrivacyServer(t, key, dataDir, args...)
	// The server answers while it rebuilds the read models from the log
	// (under load the rebuild outlasted the start): wait for them.
	require.Eventually(t, func() bool {
		db, err := projections.OpenSQLiteReadOnly(t.Context(), filepath.Join(dataDir, "readmodels.db"))
		if err != nil {
			return false
		}
		defer db.Close()
		after, err := readmodeltest.Checksums(t.Context(), db, projectionsFor(commands.NewRegistry()))
		return err == nil && maps.Equal(before, after)
	}, 60*time.Second, 50*time.Millisecond, "the read models did not come back as they were")
	require.GreaterOrEqual(t, forwardedFrom(t, s.logs), head, "the forwarder started over after readmodels.db was deleted")
	s.ok(t, http.StatusCreated, key, "POST", "/properties", map[string]any{"displayName": "After"})
	all := eventIDs(t, dataDir)
	if !onNATS {
		require.Eventually(t, func() bool { return hooks.total() > len(firstRun) }, 60*time.Second, 10*time.Millisecond, "the second run delivered nothing")
	} else {
		require.Eventually(t, func() bool {
			return bytes.Contains(tap.all(), []byte(all[len(all)-1]))
		}, 30*time.Second, 10*time.Millisecond, "the second run published nothing on NATS")
	}
	time.Sleep(time.Second) // let a re-delivery show
	s.stop()

	if !onNATS {
		// On NATS the deliveries' durable consumer is shared with the
		// other servers on the test broker, and a delivery message not
		// yet acknowledged at the first run's stop comes again (at least
		// once): there the tap below is the proof.
		for id, n := range hooks.snapshot() {
			require.Equal(t, 1, n, "event %s was delivered %d times", id, n)
		}
		require.Equal(t, len(firstRun)+1, hooks.total(), "the second run delivered old events again")
	}
	if onNATS {
		published := tap.all()
		for _, id := range old {
			require.False(t, bytes.Contains(published, []byte(id)), "event %s was published again", id)
		}
	}
	requireReadModelsEqualRebuild(t, dataDir)
}

// toLegacyLayout puts the data directory back as a version before
// integration.db left it: the forwarder's checkpoint and the deliveries in
// readmodels.db, no integration.db.
func toLegacyLayout(t *testing.T, dataDir string) {
	t.Helper()
	ctx := t.Context()
	rm, err := projections.OpenSQLite(ctx, filepath.Join(dataDir, "readmodels.db"))
	require.NoError(t, err)
	defer rm.Close()
	integ, err := projections.OpenSQLiteReadOnly(ctx, filepath.Join(dataDir, "integration.db"))
	require.NoError(t, err)
	for _, table := range []string{"bus_checkpoints", "webhook_deliveries"} {
		rows, err := integ.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL`, table)
		require.NoError(t, err)
		var ddl []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			ddl = append(ddl, s)
		}
		rows.Close()
		for _, s := range ddl {
			_, err := rm.ExecContext(ctx, s)
			require.NoError(t, err)
		}
		rows, err = integ.QueryContext(ctx, `SELECT * FROM `+table)
		require.NoError(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			_, err := rm.ExecContext(ctx, `INSERT INTO `+table+` VALUES (?`+strings.Repeat(", ?", len(cols)-1)+`)`, vals...)
			require.NoError(t, err)
		}
		rows.Close()
	}
	require.NoError(t, integ.Close())
	for _, suffix := range []string{"", "-wal", "-shm"} {
		err := os.Remove(filepath.Join(dataDir, "integration.db"+suffix))
		if !os.IsNotExist(err) {
			require.NoError(t, err)
		}
	}
}

func sqliteTables(t *testing.T, path string) []string {
	t.Helper()
	db, err := projections.OpenSQLiteReadOnly(t.Context(), path)
	require.NoError(t, err)
	defer db.Close()
	return readmodeltest.SQLiteTables(t, db)
}

// TestUpgradeMovesIntegrationState: a data directory of an earlier
// version keeps the forwarder's checkpoint and the deliveries in
// readmodels.db. The first start moves them to integration.db and
// publishes nothing again; from then on deleting readmodels.db publishes
// and delivers nothing again either.
func TestUpgradeMovesIntegrationState(t *testing.T) {
	hooks, hookURL := newEventReceiver(t)
	key := strings.Repeat("u", 40)
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startPrivacyServer(t, key, dataDir)
	s.ok(t, http.StatusCreated, key, "POST", "/accounts/webhooks", map[string]any{"url": hookURL, "eventTypes": []string{"PropertyCreated"}})
	for i := range 3 {
		s.ok(t, http.StatusCreated, key, "POST", "/properties", map[string]any{"displayName": "Old " + strconv.Itoa(i)})
	}
	require.Eventually(t, func() bool { return hooks.total() >= 3 }, 60*time.Second, 10*time.Millisecond, "nothing was delivered")
	time.Sleep(500 * time.Millisecond)
	s.stop()
	head := uint64(len(eventIDs(t, dataDir)))
	toLegacyLayout(t, dataDir)
	require.Contains(t, sqliteTables(t, filepath.Join(dataDir, "readmodels.db")), "webhook_deliveries")

	// The upgrade's first start.
	s = startPrivacyServer(t, key, dataDir)
	require.Contains(t, s.logs.String(), "moved the bus checkpoint and webhook deliveries")
	require.GreaterOrEqual(t, forwardedFrom(t, s.logs), head, "the upgrade published the log again")
	s.stop()
	tables := sqliteTables(t, filepath.Join(dataDir, "readmodels.db"))
	require.NotContains(t, tables, "webhook_deliveries")
	require.NotContains(t, tables, "bus_checkpoints")
	require.Subset(t, sqliteTables(t, filepath.Join(dataDir, "integration.db")), []string{"webhook_deliveries", "bus_checkpoints"})
	info, err := os.Stat(filepath.Join(dataDir, "integration.db"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Then the read models are deleted.
	head = uint64(len(eventIDs(t, dataDir)))
	removeReadModels(t, dataDir)
	s = startPrivacyServer(t, key, dataDir)
	require.GreaterOrEqual(t, forwardedFrom(t, s.logs), head, "the forwarder started over")
	s.ok(t, http.StatusCreated, key, "POST", "/properties", map[string]any{"displayName": "New"})
	require.Eventually(t, func() bool { return hooks.total() >= 4 }, 60*time.Second, 10*time.Millisecond, "the new property was not delivered")
	time.Sleep(time.Second)
	s.stop()
	require.Equal(t, 4, hooks.total(), "old events were delivered again: %v", hooks.snapshot())
	requireReadModelsEqualRebuild(t, dataDir)
}
