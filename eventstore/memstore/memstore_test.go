package memstore_test

import (
	"testing"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
	"github.com/accessd/accessd/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Name: "memstore",
		Open: func(testing.TB) eventstore.Store { return memstore.New() },
	})
}

// TestConformanceSparsePositions runs the suite against positions with gaps,
// as EventStoreDB's are, so that the suite itself never assumes 1, 2, 3, ….
func TestConformanceSparsePositions(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Name: "memstore with sparse positions",
		Open: func(testing.TB) eventstore.Store { return memstore.New(memstore.WithPositionStride(1000)) },
	})
}
