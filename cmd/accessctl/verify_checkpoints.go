package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/integration"
)

// recordedPositions reads, without writing, the $all positions the data
// directory's own files record from the log: each projection's checkpoint
// in readmodels.db and the bus forwarder's in integration.db (or, in a
// directory not yet upgraded, in readmodels.db), by a name saying where.
// They only ever come from the log, so one past its end means events were
// removed from the end of the log after they were read. Missing files
// record nothing.
func recordedPositions(ctx context.Context, dir string) (map[string]uint64, error) {
	out := map[string]uint64{}
	read := func(file string, open func() (*projections.DB, error)) error {
		if _, err := os.Stat(filepath.Join(dir, file)); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		db, err := open()
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		defer db.Close()
		cps, err := projections.Checkpoints(ctx, db)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		for name, c := range cps {
			out[file+" projection "+name] = c.Position
		}
		fwd, err := bus.Checkpoints(ctx, db)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		for name, pos := range fwd {
			out[file+" forwarder "+name] = pos
		}
		return nil
	}
	if err := read(readModelsFile, func() (*projections.DB, error) {
		return backends.OpenReadModelsReadOnly(ctx, "sqlite:"+filepath.Join(dir, readModelsFile))
	}); err != nil {
		return nil, err
	}
	path := backends.IntegrationPath(dir)
	if err := read(filepath.Base(path), func() (*projections.DB, error) { return integration.OpenReadOnly(ctx, path) }); err != nil {
		return nil, err
	}
	return out, nil
}

// truncationFailure is the failure of a log that verifies but ends below
// positions recorded from it (read before the log, so a server appending
// meanwhile cannot put them past it); nil when none is.
func truncationFailure(recorded map[string]uint64, last uint64) *seals.Failure {
	var (
		ahead []string
		top   uint64
	)
	for name, pos := range recorded {
		if pos > last {
			ahead = append(ahead, fmt.Sprintf("%s at %d", name, pos))
			top = max(top, pos)
		}
	}
	if len(ahead) == 0 {
		return nil
	}
	slices.Sort(ahead)
	lost := fmt.Sprintf("position %d was", top)
	if top > last+1 {
		lost = fmt.Sprintf("positions %d to %d were", last+1, top)
	}
	return &seals.Failure{
		Stream:   "$all",
		Position: last + 1,
		Reason: fmt.Sprintf("the log ends at position %d, but the data directory recorded later positions from it (%s): "+
			"%s read from the log and removed from its end since", last, strings.Join(ahead, ", "), lost),
	}
}
