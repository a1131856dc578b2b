package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/accessd/accessd/projections/integration"
)

// replayMarkerFile is written into --out before anything else, naming the
// replay's source and bound. A replay run again with the same ones (after
// an interruption, or to redo it) knows the directory for its own and
// starts it over; any other replay into it is refused.
const replayMarkerFile = "replay.json"

// replayMarkerTemp is where the marker is written before it is renamed
// into place, so that a replay killed mid-write leaves no half marker:
// only this file, which a directory holding nothing else is empty for.
const replayMarkerTemp = replayMarkerFile + ".tmp"

// replayMarker is the content of replayMarkerFile.
type replayMarker struct {
	Source string `json:"source"` // the absolute --data-dir
	Until  string `json:"until"`  // the position, or the instant in UTC
}

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
// not, is emptied but for the marker, so that no read model of an earlier
// run is resumed. It refuses (a usage error, nothing touched) a directory
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
	b, err := os.ReadFile(filepath.Join(dst, replayMarkerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("--out %s is not empty and holds no replay (no %s): give a new or empty directory", dst, replayMarkerFile)
	}
	if err != nil {
		return err
	}
	var got replayMarker
	if err := json.Unmarshal(b, &got); err != nil || got.Source == "" || got.Until == "" {
		return usagef("--out %s: %s names no replay: remove the directory, or give a new or empty one", dst, replayMarkerFile)
	}
	if got != want {
		return usagef("--out %s holds the replay of %s until %s: give another --out, or remove that directory to replay into it", dst, got.Source, got.Until)
	}
	for _, e := range entries {
		if !isReplayFile(e.Name()) {
			return usagef("--out %s holds %s, which no replay writes: remove it, or give a new or empty directory", dst, e.Name())
		}
	}
	for _, e := range entries {
		if e.Name() == replayMarkerFile {
			continue
		}
		if err := os.Remove(filepath.Join(dst, e.Name())); err != nil {
			return fmt.Errorf("replay: start %s over: %w", dst, err)
		}
	}
	return nil
}

// writeReplayMarker writes the marker beside its place, syncs it and
// renames it into place, then syncs the directory: a replay killed at any
// point leaves the whole marker or none, never a half one that would make
// the directory refuse every later run.
func writeReplayMarker(dst string, m replayMarker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dst, replayMarkerTemp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dst, replayMarkerFile)); err != nil {
		return err
	}
	dir, err := os.Open(dst)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
