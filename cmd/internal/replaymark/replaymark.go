// Package replaymark reads and writes the marker `accessctl replay`
// keeps in the directory it writes: which replay the directory holds, and
// whether that replay finished. accessctl replay writes it; accessd reads
// it, and refuses to serve a replay that did not finish.
package replaymark

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/accessd/accessd/cmd/internal/atomicfile"
)

// File is the marker's name in the replay's directory.
const File = "replay.json"

// Temp is where the marker is written before it is renamed into place,
// so that a replay killed mid-write leaves no half marker.
const Temp = File + ".tmp"

// Marker is the content of File.
type Marker struct {
	Source string `json:"source"` // the absolute --data-dir
	// EventStore is the --eventstore the events were read from, its
	// password masked; empty for the data directory's own log.
	EventStore string `json:"eventStore,omitempty"`
	Until      string `json:"until"` // the position, or the instant in UTC
	// Complete is true, by rewriting the marker, only once every file of
	// the replay is written; false, a replay that was interrupted (killed,
	// say) or is still running, whose read models may be missing or
	// partial. Write always records it; nil is a marker of a version that
	// did not (see Finished).
	Complete *bool `json:"complete,omitempty"`
}

// Finished reports whether the replay finished. A marker written before
// replays recorded it says nothing either way: such a replay is served as
// it always was (a read model missing answers 503), rather than refused,
// which would leave an evidence copy unreadable without its source.
func (m Marker) Finished() bool { return m.Complete == nil || *m.Complete }

// Done is m marked finished.
func (m Marker) Done() Marker {
	done := true
	m.Complete = &done
	return m
}

// SameReplay reports whether m and o name the same replay (source and
// bound), finished or not.
func (m Marker) SameReplay(o Marker) bool {
	return m.Source == o.Source && m.EventStore == o.EventStore && m.Until == o.Until
}

// Read reads the marker of dir; ok is false when dir holds none.
func Read(dir string) (m Marker, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if errors.Is(err, fs.ErrNotExist) {
		return Marker{}, false, nil
	}
	if err != nil {
		return Marker{}, false, err
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Source == "" || m.Until == "" {
		return Marker{}, true, fmt.Errorf("%s names no replay", filepath.Join(dir, File))
	}
	return m, true, nil
}

// CheckComplete returns an error saying what to do when dir holds a replay
// that did not finish (or a marker naming none); nil when dir holds a
// finished replay or no replay at all.
func CheckComplete(dir string) error {
	m, ok, err := Read(dir)
	if !ok {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: the replay in %s cannot be told finished; run accessctl replay again into a new or empty directory", err, dir)
	}
	if !m.Finished() {
		eventStore := ""
		if m.EventStore != "" {
			eventStore = " --eventstore " + m.EventStore
		}
		return fmt.Errorf("%s holds a replay that did not finish (interrupted, or still running: %s is not marked complete); "+
			"its read models may be missing or partial. Run it again: accessctl replay --data-dir %s%s --until %s --out %s",
			dir, File, m.Source, eventStore, m.Until, dir)
	}
	return nil
}

// Write writes m atomically (atomicfile.Write, through Temp): a replay
// killed at any point leaves the whole marker (the old one or the new
// one) or none, never a half one.
func Write(dir string, m Marker) error {
	if m.Complete == nil {
		unfinished := false
		m.Complete = &unfinished
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, File), Temp, 0o600, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
