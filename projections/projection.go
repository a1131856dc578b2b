// Package projections builds read models from the event log: a runner per
// projection follows $all from a checkpoint and writes each batch of changes
// together with its new checkpoint, so a crash never applies an event twice
// or skips one.
package projections

import (
	"context"
	"fmt"

	"github.com/accessd/accessd/eventstore"
)

// Projection is one read model.
type Projection interface {
	// Name identifies the projection and its checkpoint; it never changes.
	Name() string
	// Version is raised whenever the read model's shape or meaning changes;
	// a new version rebuilds the read model from the start of the log.
	Version() int
	// EventTypes lists the event types Apply handles; others are skipped
	// without being decoded.
	EventTypes() []string
	// Tables lists the logical table names the projection owns.
	Tables() []string
	// Setup creates the projection's tables (tx.Table names) if missing.
	Setup(ctx context.Context, tx Tx) error
	// Apply changes the read model for one event. It must be deterministic
	// and use only the event and the read model (no clock, no other I/O).
	Apply(ctx context.Context, tx Tx, env eventstore.Envelope) error
}

// Redeliverer is a projection that does something with an event delivered
// again (Runner.Reprocess); the others ignore it. The event is one the
// read model applied already, which later events may have superseded: a
// Redeliverer must not set again the facts it set (a removed member would
// come back), only compute again from the facts as they are now what it
// derives from them. The key maps projection is one (projections/keymaps).
type Redeliverer interface {
	// Redeliver handles an event at or before the projection's checkpoint.
	Redeliver(ctx context.Context, tx Tx, env eventstore.Envelope) error
}

// Indexed is a projection with indexes only its readers use: Apply never
// reads by them. A rebuild fills the tables without them and builds each
// one once, from sorted rows, as it swaps the tables in, which costs far
// less than keeping every index current row by row.
type Indexed interface {
	// Indexes returns the CREATE INDEX IF NOT EXISTS statements for tx's
	// tables (tx.Table names, indexes named after them).
	Indexes(tx Tx) []string
}

// setupLive creates p's tables with every index: the tables a runner keeps
// current.
func setupLive(ctx context.Context, tx Tx, p Projection) error {
	if err := p.Setup(ctx, tx); err != nil {
		return fmt.Errorf("setup %s: %w", p.Name(), err)
	}
	return createIndexes(ctx, tx, p)
}

// createIndexes creates the indexes p declares as Indexed, if any.
func createIndexes(ctx context.Context, tx Tx, p Projection) error {
	ix, ok := p.(Indexed)
	if !ok {
		return nil
	}
	for _, stmt := range ix.Indexes(tx) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("indexes of %s: %w", p.Name(), err)
		}
	}
	return nil
}

// LaneDeferred is the lane of read models that a command's answer does not
// wait for (lists and indexes nobody reads in a command's answer). They run
// in their own transactions, so commands are answered sooner; a caller's
// next request still waits for them (see Set.WaitFor and WaitForLane).
const LaneDeferred = "deferred"

// Laned is a projection that names its lane; others are in the default lane,
// which commands wait for.
type Laned interface {
	Lane() string
}

func laneOf(p Projection) string {
	if l, ok := p.(Laned); ok {
		return l.Lane()
	}
	return ""
}
