package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessd/accessd/eventstore"
)

// fileSums is the sha256 of each file in dir, by name.
func fileSums(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string][32]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sums[e.Name()] = sha256.Sum256(b)
	}
	return sums
}

func requireHead(t *testing.T, s *Store, want uint64) {
	t.Helper()
	head, err := s.HeadPosition(context.Background())
	if err != nil || head != want {
		t.Fatalf("head = %d, %v; want %d", head, err, want)
	}
	recs, err := s.ReadAll(context.Background(), 0, 1000, eventstore.Filter{})
	if err != nil || uint64(len(recs)) != want {
		t.Fatalf("ReadAll: %d events, %v; want %d", len(recs), err, want)
	}
}

// TestOpenReadOnlyAfterCleanClose: a store closed cleanly reads in full,
// refuses appends with ErrReadOnly (an ErrUnavailable) and leaves every
// file as it was, creating none.
func TestOpenReadOnlyAfterCleanClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		mustAppend(t, s, "s-1", eventstore.Any, event("E", i))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileSums(t, dir)
	if _, ok := before["events.db-wal"]; ok {
		t.Fatal("a clean close left a WAL")
	}

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	requireHead(t, ro, 10)
	_, err = ro.Append(context.Background(), "s-1", eventstore.Any, event("E", 11))
	if !errors.Is(err, ErrReadOnly) || !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("append to a read-only store: %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	after := fileSums(t, dir)
	if len(after) != len(before) || after["events.db"] != before["events.db"] {
		t.Fatalf("files changed: %d before, %d after", len(before), len(after))
	}
}

// TestOpenReadOnlyReadsTheWAL: after a crash the commits may sit in the
// WAL only; they are read through the -shm file, and without it the open
// fails saying what to do rather than silently missing them.
func TestOpenReadOnlyReadsTheWAL(t *testing.T) {
	live := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		mustAppend(t, s, "s-1", eventstore.Any, event("E", i))
	}
	// Copying the files of an open store is what a crash leaves behind.
	crashed := t.TempDir()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(live + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, "events.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(crashed, "events.db")

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	requireHead(t, ro, 10)
	ro.Close()

	if err := os.Remove(path + "-shm"); err != nil {
		t.Fatal(err)
	}
	_, err = OpenReadOnly(path)
	if err == nil || !strings.Contains(err.Error(), path+"-wal") || !strings.Contains(err.Error(), "start accessd once") {
		t.Fatalf("open without -shm: %v", err)
	}
}

// TestOpenReadOnlyMissingFile fails and creates nothing.
func TestOpenReadOnlyMissingFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenReadOnly(filepath.Join(dir, "events.db")); err == nil {
		t.Fatal("opened a missing file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("created %v", entries)
	}
}

// TestOpenReadOnlyBesideARunningWriter: a writer's checkpoint can leave its
// -wal empty while it runs. A reader opened then must still read through
// the WAL and its locks, not as an immutable file (which ignores the WAL,
// and whose pages a checkpoint may rewrite mid-read): it reads what the
// writer appends afterwards.
func TestOpenReadOnlyBesideARunningWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		mustAppend(t, s, "s-1", eventstore.Any, event("E", i))
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if wal, err := os.Stat(path + "-wal"); err != nil || wal.Size() != 0 {
		t.Fatalf("the checkpoint left -wal %v, %v; the test needs it empty", wal, err)
	}

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	requireHead(t, ro, 10)
	for i := range 5 {
		mustAppend(t, s, "s-1", eventstore.Any, event("E", 10+i))
	}
	// The head stays the one read at open (a read-only store is a
	// snapshot's reader); the rows are what the file holds now.
	recs, err := ro.ReadAll(context.Background(), 0, 1000, eventstore.Filter{})
	if err != nil || len(recs) != 15 {
		t.Fatalf("ReadAll after the writer appended: %d events, %v; want 15", len(recs), err)
	}
}
