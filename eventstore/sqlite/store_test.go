package sqlite

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/storetest"
)

// backend runs the conformance suite against stores in temp files on disk.
var backend = storetest.Backend{
	Name: "sqlite",
	Open: func(t testing.TB) eventstore.Store {
		t.Helper()
		s, err := Open(filepath.Join(t.TempDir(), "events.db"))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	},
	NewLocation: func(t testing.TB) string {
		t.Helper()
		return filepath.Join(t.TempDir(), "events.db")
	},
	OpenAt: func(location string) (eventstore.Store, error) {
		return Open(location)
	},
	OpenAtWithClock: func(location string, now func() time.Time) (eventstore.Store, error) {
		return Open(location, withClock(now))
	},
	OpenReadOnlyAt: func(location string) (eventstore.Store, error) {
		return OpenReadOnly(location)
	},
	DropLogID: func(t testing.TB, location string) {
		t.Helper()
		db, err := sql.Open("sqlite", location)
		if err != nil {
			t.Fatalf("open %s: %v", location, err)
		}
		defer db.Close()
		if _, err := db.Exec(`DROP TABLE log_identity`); err != nil {
			t.Fatalf("drop the log identity: %v", err)
		}
	},
}

func TestMain(m *testing.M) {
	if storetest.RunChild(backend) {
		return
	}
	code := m.Run()
	for _, d := range benchDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, backend)
}

func TestLogID(t *testing.T) {
	storetest.RunLogID(t, backend)
}
