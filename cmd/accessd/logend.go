package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
)

// logEndBehind compares the log's last position with the positions
// recorded beside it, which only ever come from the log: the read models'
// checkpoints and the bus forwarder's. One past the head means events were
// removed from the end of the log after they were read (a truncation, or
// a log put back from an older copy): the server would append at those
// positions again, and the read models and the forwarder, already past
// them, would skip what it appends. It returns a description naming the
// positions, or "" when nothing is ahead. integDB may be readDB itself.
//
// The checkpoints are read before the head: another server sharing the
// log and the read models may append and apply meanwhile, and a head read
// first would then look behind checkpoints it never was.
func logEndBehind(ctx context.Context, store eventstore.Store, readDB, integDB *projections.DB) (string, error) {
	cps, err := projections.Checkpoints(ctx, readDB)
	if err != nil {
		return "", fmt.Errorf("read models: %w", err)
	}
	fwd, err := bus.Checkpoints(ctx, integDB)
	if err != nil {
		return "", fmt.Errorf("integration: %w", err)
	}
	head, err := store.HeadPosition(ctx)
	if err != nil {
		return "", fmt.Errorf("event store: %w", err)
	}
	var (
		ahead []string
		top   uint64
	)
	note := func(what string, pos uint64) {
		if pos > head {
			ahead = append(ahead, fmt.Sprintf("%s at %d", what, pos))
			top = max(top, pos)
		}
	}
	for name, c := range cps {
		note("projection "+name, c.Position)
	}
	for name, pos := range fwd {
		note("forwarder "+name, pos)
	}
	if len(ahead) == 0 {
		return "", nil
	}
	slices.Sort(ahead)
	lost := fmt.Sprintf("position %d, already read from the log, is", top)
	if top > head+1 {
		lost = fmt.Sprintf("positions %d to %d, already read from the log, are", head+1, top)
	}
	return fmt.Sprintf("%v: the log ends at position %d, but checkpoints recorded from it are past that (%s): "+
		"%s no longer in it; an operator must investigate",
		eventstore.ErrLogTruncated, head, strings.Join(ahead, ", "), lost), nil
}
