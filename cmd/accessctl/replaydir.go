package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/accessd/accessd/cmd/internal/replaymark"
	"github.com/accessd/accessd/projections/integration"
)

// replayMarkerFile is written into --out before anything else, naming the
// replay's source and bound, and rewritten once the replay finished,
// marked complete (accessd --read-only serves no other). A replay run
// again with the same ones (after an interruption, or to redo it) knows
// the directory for its own and starts it over; any other replay into it
// is refused.
const replayMarkerFile = replaymark.File

// replayMarkerTemp is where the marker is written before it is renamed
// into place, so that a replay killed mid-write leaves no half marker:
// only this file, which a directory holding nothing else is empty for.
const replayMarkerTemp = replaymark.Temp

// replayMarker is the content of replayMarkerFile.
type replayMarker = replaymark.Marker

// replayWrites are the files a replay writes into --out besides the
// marker; each database may have its -wal, -shm and -journal beside it.
var replayWrites = append([]string{eventsFile, readModelsFile, integration.File, personalKeysFile}, replayCopies...)

// isReplayFile reports whether name is a file a replay writes.
func isReplayFile(name string) bool {
	if name == replayMarkerFile || name == replayMarkerTemp {
		return true
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		name = strings.TrimSuffix(name, suffix)
	}
	return slices.Contains(replayWrites, name)
}

// prepareReplayDir makes dst ready for the replay want: a new or empty
// directory gets the marker; one holding the same replay, finished or
// not, is marked unfinished and emptied but for the marker, so that no
// read model of an earlier run is resumed. It refuses (a usage error, nothing touched) a directory
// holding another replay or anything a replay does not write.
func prepareReplayDir(dst string, want replayMarker) error {
	entries, err := os.ReadDir(dst)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(entries) == 0 || len(entries) == 1 && entries[0].Name() == replayMarkerTemp {
		if err := os.MkdirAll(dst, 0o700); err != nil { // keys and personal data: the owner's only
			return err
		}
		return writeReplayMarker(dst, want)
	}
	got, ok, err := replaymark.Read(dst)
	if !ok && err == nil {
		return usagef("--out %s is not empty and holds no replay (no %s): give a new or empty directory", dst, replayMarkerFile)
	}
	if ok && err != nil {
		return usagef("--out %s: %s names no replay: remove the directory, or give a new or empty one", dst, replayMarkerFile)
	}
	if err != nil {
		return err
	}
	if !got.SameReplay(want) {
		return usagef("--out %s holds the replay of %s until %s: give another --out, or remove that directory to replay into it", dst, got.Source, got.Until)
	}
	for _, e := range entries {
		if !isReplayFile(e.Name()) {
			return usagef("--out %s holds %s, which no replay writes: remove it, or give a new or empty directory", dst, e.Name())
		}
	}
	// A finished replay is marked unfinished before anything of it is
	// removed: killed while starting over, it must not look finished.
	if got.Finished() {
		if err := writeReplayMarker(dst, want); err != nil {
			return fmt.Errorf("replay: start %s over: %w", dst, err)
		}
	}
	for _, e := range entries {
		if e.Name() == replayMarkerFile {
			continue
		}
		if err := os.Remove(filepath.Join(dst, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("replay: start %s over: %w", dst, err)
		}
	}
	return nil
}

// writeReplayMarker writes the marker atomically (replaymark.Write): a
// replay killed at any point leaves the whole marker or none, never a
// half one that would make the directory refuse every later run.
func writeReplayMarker(dst string, m replayMarker) error {
	return replaymark.Write(dst, m)
}
