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
