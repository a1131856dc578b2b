package postgres

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/servicetest"
	"github.com/accessd/accessd/eventstore/storetest"
)

// backend runs the conformance suite against stores in fresh schemas of the
// test server (servicetest.PostgresSchema).
var backend = storetest.Backend{
	Name: "postgres",
	Open: func(t testing.TB) eventstore.Store {
		t.Helper()
		return openURL(t, servicetest.PostgresSchema(t))
	},
	NewLocation: func(t testing.TB) string {
		t.Helper()
		return servicetest.PostgresSchema(t)
	},
	OpenAt: func(location string) (eventstore.Store, error) {
		// The suite's child process and its reopen have no test context.
		return Open(context.Background(), location)
	},
	OpenAtWithClock: func(location string, now func() time.Time) (eventstore.Store, error) {
		return Open(context.Background(), location, withClock(now))
	},
	OpenReadOnlyAt: func(location string) (eventstore.Store, error) {
		return OpenReadOnly(context.Background(), location)
	},
	DropLogID: func(t testing.TB, location string) {
		t.Helper()
		s, err := Open(t.Context(), location)
		if err != nil {
			t.Fatalf("open %s: %v", redact(location), err)
		}
		defer s.Close()
		if _, err := s.rpool.Exec(t.Context(), `DROP TABLE es_log`); err != nil {
			t.Fatalf("drop the log identity: %v", err)
		}
	},
}

func TestMain(m *testing.M) {
	if storetest.RunChild(backend) {
		return
	}
	code := m.Run()
	dropCatchUp()
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, backend)
}

func TestLogID(t *testing.T) {
	storetest.RunLogID(t, backend)
}
