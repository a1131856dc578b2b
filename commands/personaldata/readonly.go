package personaldata

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore/sqlite"
)

// readOnlyError is ErrReadOnly's type. It unwraps to sqlite.ErrReadOnly,
// which wraps eventstore.ErrUnavailable: the HTTP layer answers it 503, as
// it answers an append to a read-only event store.
type readOnlyError struct{}

func (readOnlyError) Error() string { return "personaldata: the key store is opened read-only" }
func (readOnlyError) Unwrap() error { return sqlite.ErrReadOnly }

// ErrReadOnly: the store was opened with OpenReadOnly, so Seal and Erase
// fail. Matched with errors.Is, as are sqlite.ErrReadOnly and
// eventstore.ErrUnavailable, which it wraps.
var ErrReadOnly error = readOnlyError{}

// OpenReadOnly opens the SQLite key database at path for reading only, on
// a filesystem that may be read-only: no file is created, nothing is
// written, not even the table (sqlite.ReadOnlyDSN: immutable after a clean
// stop, through the -wal and -shm files after a crash). Open reads and
// decrypts as a writable store does; Seal and Erase fail with ErrReadOnly.
// A database that does not exist yet, or holds no key table, holds no
// personal data: Open then answers ErrErased for every subject, the answer
// for a subject that never had a key.
func OpenReadOnly(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	s := &Store{readOnly: true}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return s, nil // nothing was ever sealed
	}
	name, err := sqlite.ReadOnlyDSN(abs)
	if err != nil {
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'subject_keys'`).Scan(&tables); err != nil {
		db.Close()
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	if tables == 0 {
		// An empty file that Open created but never gave its table.
		db.Close()
		return s, nil
	}
	s.db = db
	return s, nil
}

// refuseWrite is the error of a write to a read-only store, nil for a
// writable one.
func (s *Store) refuseWrite(op string, subjectID uuid.UUID) error {
	if !s.readOnly {
		return nil
	}
	return fmt.Errorf("personaldata: %s %s: %w", op, subjectID, ErrReadOnly)
}
