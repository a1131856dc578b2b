// Package storetest is the conformance suite every eventstore backend runs.
package storetest

import (
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
)

// Backend tells the suite how to make stores of one kind.
type Backend struct {
	// Name is shown in test names and skip messages.
	Name string
	// Open returns a fresh, empty store for one test; the suite closes it.
	Open func(t testing.TB) eventstore.Store
	// NewLocation returns a fresh place for a store (a file path, a schema
	// name, ...) that OpenAt can open from several processes in turn. Nil
	// skips the crash-durability test, for backends whose durability is the
	// server's own (EventStoreDB).
	NewLocation func(t testing.TB) string
	// OpenAt opens the store at a location made by NewLocation.
	OpenAt func(location string) (eventstore.Store, error)
	// OpenAtWithClock opens the store at a location with the wall clock it
	// records events by. Nil skips the recorded-time test, for backends
	// whose server records the time (EventStoreDB).
	OpenAtWithClock func(location string, now func() time.Time) (eventstore.Store, error)
	// OpenReadOnlyAt opens the store at a location made by NewLocation
	// read-only. RunLogID needs it; Run does not.
	OpenReadOnlyAt func(location string) (eventstore.Store, error)
	// DropLogID removes the log identity kept at a location, leaving the
	// log as a build from before identities wrote it. RunLogID needs it;
	// Run does not.
	DropLogID func(t testing.TB, location string)
}
