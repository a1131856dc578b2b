package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Run runs the whole conformance suite against b. Every subtest gets a fresh
// store from b.Open; the crash test also needs b.NewLocation and b.OpenAt.
// Subtests on separate stores run in parallel with each other.
func Run(t *testing.T, b Backend) {
	require.NotNil(t, b.Open, "Backend.Open is required")
	groups := []struct {
		name  string
		tests []test
	}{
		{"ExpectedRevision", expectedRevisionTests},
		{"AppendResult", appendResultTests},
		{"AtomicAppend", atomicTests},
		{"Idempotency", idempotencyTests},
		{"Concurrency", concurrencyTests},
		{"ReadStream", readStreamTests},
		{"ReadAll", readAllTests},
		{"SubscribeFilter", subscribeFilterTests},
		{"SizeLimit", sizeLimitTests},
		{"InvalidInput", invalidInputTests},
		{"Subscription", subscriptionTests},
		{"UnknownEventType", unknownTypeTests},
		{"Edges", edgeTests},
	}
	t.Run("Durability", func(t *testing.T) {
		t.Run("CrashDuringAppends", func(t *testing.T) { testCrashDuringAppends(t, b) })
	})
	t.Run("RecordedTime", func(t *testing.T) {
		t.Run("NeverGoesBackwards", func(t *testing.T) { testRecordedTimesNeverGoBackwards(t, b) })
	})
	t.Run("SharedLocation", func(t *testing.T) {
		t.Run("TwoStoresOneLocation", func(t *testing.T) { testTwoStoresOneLocation(t, b) })
	})
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, openStore(t, b))
				})
			}
		})
	}
}

// test is one subtest on its own fresh store.
type test struct {
	name string
	run  func(t *testing.T, s *store)
}
