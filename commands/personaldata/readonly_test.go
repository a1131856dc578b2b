package personaldata

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/sqlite"
)

// dirSums is the sha256 of every file in dir, by name.
func dirSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		sums[e.Name()] = hex.EncodeToString(sum[:])
	}
	return sums
}

func openReadOnly(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// requireWritesRefused checks Seal and Erase fail with ErrReadOnly, which
// the HTTP layer answers 503 (eventstore.ErrUnavailable).
func requireWritesRefused(t *testing.T, s *Store, subject uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	for _, subj := range []uuid.UUID{subject, uuid.New()} {
		sealed, err := s.Seal(ctx, subj, []byte("new"))
		if sealed != "" || !errors.Is(err, ErrReadOnly) {
			t.Fatalf("Seal on a read-only store = %q, %v; want ErrReadOnly", sealed, err)
		}
		if !errors.Is(err, sqlite.ErrReadOnly) || !errors.Is(err, eventstore.ErrUnavailable) {
			t.Fatalf("Seal's error %v does not wrap sqlite.ErrReadOnly and eventstore.ErrUnavailable (503)", err)
		}
		if err := s.Erase(ctx, subj); !errors.Is(err, ErrReadOnly) || !errors.Is(err, eventstore.ErrUnavailable) {
			t.Fatalf("Erase on a read-only store = %v; want ErrReadOnly", err)
		}
	}
}

// What a writable store sealed, a read-only one opens, with the same
// answers for erased and unknown subjects; it writes nothing and creates
// no file.
func TestOpenReadOnlyReadsWhatWasSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "personal-keys.db")
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ana, bo, gone := uuid.New(), uuid.New(), uuid.New()
	sealed := map[uuid.UUID]string{}
	for subject, plain := range map[uuid.UUID]string{ana: `{"firstName":"Ana"}`, bo: "Bo", gone: "Gone"} {
		if sealed[subject], err = w.Seal(ctx, subject, []byte(plain)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Erase(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before := dirSums(t, dir)
	if _, ok := before["personal-keys.db-wal"]; ok {
		t.Fatal("a clean close left a WAL: the test does not read the immutable case")
	}

	r := openReadOnly(t, path)
	for subject, want := range map[uuid.UUID]string{ana: `{"firstName":"Ana"}`, bo: "Bo"} {
		got, err := r.Open(ctx, subject, sealed[subject])
		if err != nil || string(got) != want {
			t.Fatalf("read-only Open = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := r.Open(ctx, gone, sealed[gone]); !errors.Is(err, ErrErased) {
		t.Fatalf("read-only Open of an erased subject = %v, want ErrErased", err)
	}
	if _, err := r.Open(ctx, uuid.New(), sealed[ana]); !errors.Is(err, ErrErased) {
		t.Fatalf("read-only Open of a subject without a key = %v, want ErrErased", err)
	}
	if _, err := r.Open(ctx, bo, sealed[ana]); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("read-only Open with another subject's text = %v, want ErrAuthentication", err)
	}
	if _, err := r.Open(ctx, ana, "v1.x"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("read-only Open of malformed text = %v, want ErrMalformed", err)
	}
	requireWritesRefused(t, r, ana)
	// The refused Seal did not give the erased subject a key either.
	if _, err := r.Open(ctx, gone, sealed[gone]); !errors.Is(err, ErrErased) {
		t.Fatalf("erased subject after a refused write: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	after := dirSums(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files changed while read-only: %v, then %v", before, after)
	}
	for name, sum := range before {
		if after[name] != sum {
			t.Fatalf("%s changed while read-only", name)
		}
	}

	// A writable store opens the file as before.
	w = openStore(t, path)
	if got, err := w.Open(ctx, bo, sealed[bo]); err != nil || string(got) != "Bo" {
		t.Fatalf("writable Open after read-only = %q, %v", got, err)
	}
}

// After a crash the last keys are in the -wal file: the read-only store
// reads them through the -shm file.
func TestOpenReadOnlyReadsTheWAL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "personal-keys.db")
	w := openStore(t, path) // open: the keys stay in the WAL
	subject := uuid.New()
	sealed, err := w.Seal(ctx, subject, []byte("Ana"))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path + "-wal"); err != nil || info.Size() == 0 {
		t.Fatalf("no WAL to read: %v", err)
	}
	r := openReadOnly(t, path)
	if got, err := r.Open(ctx, subject, sealed); err != nil || string(got) != "Ana" {
		t.Fatalf("read-only Open of a key in the WAL = %q, %v", got, err)
	}
	requireWritesRefused(t, r, subject)
}

// Without a key database (nothing was ever sealed), or with an empty one,
// the read-only store holds no personal data: every subject reads as
// having no key, and no file is created.
func TestOpenReadOnlyWithoutDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "sub", "personal-keys.db")
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{missing, empty} {
		s := openReadOnly(t, path)
		subject := uuid.New()
		if _, err := s.Open(ctx, subject, "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrErased) {
			t.Fatalf("%s: Open = %v, want ErrErased", path, err)
		}
		if _, err := s.Open(ctx, subject, "not sealed"); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: Open of malformed text = %v, want ErrMalformed", path, err)
		}
		requireWritesRefused(t, s, subject)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenReadOnly created the directory: %v", err)
	}
	if got := dirSums(t, dir); len(got) != 1 || got["empty.db"] != hex.EncodeToString(func() []byte { s := sha256.Sum256(nil); return s[:] }()) {
		t.Fatalf("files after read-only opens: %v", got)
	}
}
