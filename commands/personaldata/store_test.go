package personaldata

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
)

func openStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t testing.TB) *Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "personal-keys.db"))
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	subject := uuid.New()
	plain := []byte(`{"firstName":"Ana","email":"ana@example.com"}`)
	sealed, err := s.Seal(ctx, subject, plain)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "v1.") || strings.Contains(sealed, "Ana") {
		t.Fatalf("sealed = %q", sealed)
	}
	again, err := s.Seal(ctx, subject, plain)
	if err != nil {
		t.Fatal(err)
	}
	if again == sealed {
		t.Fatal("two seals of the same text are equal: the nonce is not random")
	}
	for _, text := range []string{sealed, again} {
		got, err := s.Open(ctx, subject, text)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
	empty, err := s.Seal(ctx, subject, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(ctx, subject, empty); err != nil || len(got) != 0 {
		t.Fatalf("Open(empty) = %q, %v", got, err)
	}
	if _, err := s.Seal(ctx, subject, make([]byte, MaxPlaintext+1)); err == nil {
		t.Fatal("Seal accepted more than MaxPlaintext")
	}
}

func TestWrongSubjectFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	a, b := uuid.New(), uuid.New()
	sealed, err := s.Seal(ctx, a, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	// b has no key at all.
	if _, err := s.Open(ctx, b, sealed); !errors.Is(err, ErrErased) {
		t.Fatalf("Open for a subject without a key = %v, want ErrErased", err)
	}
	// b has a key of its own.
	if _, err := s.Seal(ctx, b, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, b, sealed); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Open for another subject = %v, want ErrAuthentication", err)
	}
}

func TestTamperedFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	subject := uuid.New()
	sealed, err := s.Seal(ctx, subject, []byte("phone +34 600 000 000"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "v1."))
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		if _, err := s.Open(ctx, subject, "v1."+base64.RawURLEncoding.EncodeToString(bad)); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("byte %d flipped: Open = %v, want ErrAuthentication", i, err)
		}
	}
	for _, bad := range []string{"", "v1.", "v2." + sealed[3:], sealed[3:], sealed + "=", sealed + "!", sealed[:len(sealed)-10],
		"v1." + base64.RawURLEncoding.EncodeToString(raw[:20])} {
		if _, err := s.Open(ctx, subject, bad); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuthentication) {
			t.Fatalf("Open(%q) = %v", bad, err)
		}
	}
}

func TestEraseMakesOldDataUnreadable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "personal-keys.db")
	s := openStore(t, path)
	subject, other := uuid.New(), uuid.New()
	sealed, err := s.Seal(ctx, subject, []byte("Ana"))
	if err != nil {
		t.Fatal(err)
	}
	otherSealed, err := s.Seal(ctx, other, []byte("Bo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Erase(ctx, subject); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, subject, sealed); !errors.Is(err, ErrErased) {
		t.Fatalf("Open after Erase = %v, want ErrErased", err)
	}
	if _, err := s.Seal(ctx, subject, []byte("again")); !errors.Is(err, ErrErased) {
		t.Fatalf("Seal after Erase = %v, want ErrErased", err)
	}
	if err := s.Erase(ctx, subject); err != nil {
		t.Fatalf("second Erase: %v", err)
	}
	if got, err := s.Open(ctx, other, otherSealed); err != nil || string(got) != "Bo" {
		t.Fatalf("another subject after Erase: %q, %v", got, err)
	}
	// A subject erased before it ever had a key never gets one.
	never := uuid.New()
	if err := s.Erase(ctx, never); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seal(ctx, never, []byte("x")); !errors.Is(err, ErrErased) {
		t.Fatalf("Seal after Erase of a new subject = %v", err)
	}
	// Erased stays erased across a restart.
	s.Close()
	s = openStore(t, path)
	if _, err := s.Open(ctx, subject, sealed); !errors.Is(err, ErrErased) {
		t.Fatalf("Open after reopen = %v, want ErrErased", err)
	}
}

func TestReopenKeepsKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "personal-keys.db")
	s := openStore(t, path)
	subject := uuid.New()
	sealed, err := s.Seal(ctx, subject, []byte("Ana"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", info.Mode().Perm())
	}
	s = openStore(t, path)
	if got, err := s.Open(ctx, subject, sealed); err != nil || string(got) != "Ana" {
		t.Fatalf("Open after reopen = %q, %v", got, err)
	}
}

func TestConcurrentFirstSeal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	subject := uuid.New()
	const n = 8
	out := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			sealed, err := s.Seal(ctx, subject, []byte("Ana"))
			out <- sealed
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if got, err := s.Open(ctx, subject, <-out); err != nil || string(got) != "Ana" {
			t.Fatalf("a racing first Seal used another key: %q, %v", got, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	s := newStore(f)
	subject := uuid.New()
	sealed, err := s.Seal(ctx, subject, []byte(`{"firstName":"Ana"}`))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{sealed, "", "v1.", "v1.AAAA", "v1.====", "v2.abc", sealed[:len(sealed)-1], sealed + "A", "v1." + strings.Repeat("A", 40)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := s.Open(ctx, subject, text)
		if err == nil && text != sealed && string(got) != `{"firstName":"Ana"}` {
			t.Fatalf("Open(%q) succeeded with %q", text, got)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuthentication) {
			t.Fatalf("Open(%q) = %v", text, err)
		}
		if nonce, ct, err := parse(text); err == nil && (len(nonce) != nonceSize || len(ct) < tagSize) {
			t.Fatalf("parse(%q) = %d, %d bytes", text, len(nonce), len(ct))
		}
	})
}

func TestEraseLeavesNoKeyOnDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "personal-keys.db")
	s := openStore(t, path)
	subject := uuid.New()
	if _, err := s.Seal(ctx, subject, []byte("Ana")); err != nil {
		t.Fatal(err)
	}
	for range 20 { // other subjects' writes around it
		if _, err := s.Seal(ctx, uuid.New(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	key, err := s.key(ctx, subject, false)
	if err != nil {
		t.Fatal(err)
	}
	onDisk := func() bool {
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if bytes.Contains(b, key) {
				return true
			}
		}
		return false
	}
	if !onDisk() {
		t.Fatal("the key is not on disk before Erase: the check proves nothing")
	}
	if err := s.Erase(ctx, subject); err != nil {
		t.Fatal(err)
	}
	if onDisk() {
		t.Fatal("the erased key's bytes remain in the database or its write-ahead log")
	}
}

// A reader of the key file that holds an old snapshot (a backup tool, a
// copy being made) keeps the write-ahead log from being truncated: the
// erased key's old bytes stay in the -wal file. Erase used to report
// success all the same; it says so now, and erasing again once the
// reader is done leaves nothing.
func TestEraseBesideAReaderSaysTheKeyIsStillInTheWAL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "personal-keys.db")
	s := openStore(t, path)
	s.truncateWait = 50 * time.Millisecond
	subject := uuid.New()
	sealed, err := s.Seal(ctx, subject, []byte("Ana"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.key(ctx, subject, false)
	if err != nil {
		t.Fatal(err)
	}
	inWAL := func() bool {
		b, err := os.ReadFile(path + "-wal")
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return bytes.Contains(b, key)
	}
	if !inWAL() {
		t.Fatal("the key is not in the write-ahead log before Erase: the check proves nothing")
	}
	reader, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	snapshot, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := snapshot.QueryRow(`SELECT count(*) FROM subject_keys`).Scan(&n); err != nil {
		t.Fatal(err)
	}

	err = s.Erase(ctx, subject)
	if !errors.Is(err, ErrKeyInWAL) || !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("Erase beside a reader = %v, want ErrKeyInWAL", err)
	}
	if !inWAL() {
		t.Fatal("the key left the write-ahead log though the checkpoint was busy: the test proves nothing")
	}
	if _, err := s.Open(ctx, subject, sealed); !errors.Is(err, ErrErased) {
		t.Fatalf("Open after a busy Erase = %v, want ErrErased: the key is erased all the same", err)
	}

	if err := snapshot.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := s.Erase(ctx, subject); err != nil {
		t.Fatalf("Erase again: %v", err)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, key) {
			t.Fatalf("%s still holds the erased key", f)
		}
	}
}
