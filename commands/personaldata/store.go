// Package personaldata keeps one random AES-256 key per subject (a user) and
// seals that subject's personal data with it, for crypto-shredding: events
// carry only the sealed text, so erasing the key makes the person unreadable
// in every old event without rewriting the log. The keys live in their own
// SQLite file, outside the event log and its backups.
package personaldata

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"

	_ "github.com/jackc/pgx/v5/stdlib" // the key database at scale
	_ "modernc.org/sqlite"             // the key database, embedded
)

// Errors of Open and Seal, matched with errors.Is.
var (
	// ErrErased: the subject's key was erased (or never existed), so its
	// sealed data can no longer be opened, and nothing new is sealed for it.
	ErrErased = errors.New("personaldata: the subject's key is erased")
	// ErrMalformed: the text is not sealed data of a known format.
	ErrMalformed = errors.New("personaldata: sealed data is malformed")
	// ErrAuthentication: the sealed data was altered, or sealed for another
	// subject.
	ErrAuthentication = errors.New("personaldata: sealed data does not open with the subject's key")
)

// MaxPlaintext bounds what one Seal call accepts, in bytes.
const MaxPlaintext = 64 << 10

const (
	prefix    = "v1."
	keySize   = 32
	nonceSize = 12
	tagSize   = 16
	// maxSealed is the longest sealed text Open looks at.
	maxSealed = len(prefix) + (nonceSize+MaxPlaintext+tagSize+2)/3*4
)

// Store is the per-subject key store. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// postgres: the keys live on a PostgreSQL server shared by scale-out
	// servers ($n placeholders); otherwise in a SQLite file of their own.
	postgres bool
	// readOnly: opened with OpenReadOnly; Seal and Erase fail. db is nil
	// when there is no key database yet (no personal data at all).
	readOnly bool

	// stmts holds the key lookups prepared once (stmt): preparing them on
	// every call was 2% of the server's CPU under a load of user writes.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt

	// truncateWait is how long Erase waits for the key file's readers
	// and writers to let it truncate the write-ahead log.
	truncateWait time.Duration
}

// ErrKeyInWAL: Erase erased the key (nothing opens with it any more), but
// another reader of the key file kept the write-ahead log from being
// truncated, so the key's old bytes are still in the -wal file. Erasing
// again once the reader is done removes them. It wraps
// eventstore.ErrUnavailable: the API answers 503, and a deletion retried
// finishes.
var ErrKeyInWAL = fmt.Errorf("personaldata: the key is erased, but a reader of the key file kept its old bytes in the write-ahead log; erase again: %w", eventstore.ErrUnavailable)

// defaultTruncateWait is the key file's busy timeout: how long Erase
// waits for other connections before it gives up truncating the log.
const defaultTruncateWait = 10 * time.Second

// stmt returns query (`?` placeholders) prepared once per store.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.q(query))
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// keyConns bounds the key database's pooled connections.
const keyConns = 8

// Open opens (creating, mode 0600) the key database at path. Commits wait
// for the disk (WAL, synchronous=FULL): a sealed event must never outlive
// its key. Freed pages are zeroed (secure_delete) so an erased key does not
// linger in the file.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	f.Close()
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", defaultTruncateWait.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "secure_delete(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	// Connections are kept: with database/sql's default of two idle ones,
	// concurrent requests opened a connection each (pragmas and schema
	// read), 1.5% of the server's CPU under the write load.
	db.SetMaxOpenConns(keyConns)
	db.SetMaxIdleConns(keyConns)
	// key IS NULL marks an erased subject: a tombstone, so a late Seal
	// cannot give an erased person a fresh key.
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS subject_keys (
		subject_id TEXT PRIMARY KEY,
		key BLOB
	) WITHOUT ROWID`); err != nil {
		db.Close()
		return nil, fmt.Errorf("personal data keys %s: %w", path, err)
	}
	return &Store{db: db, truncateWait: defaultTruncateWait}, nil
}

// OpenPostgres opens (creating its table) the key store on the PostgreSQL
// server at dsn, for servers that scale out: every server must open the
// same subjects' keys. Erasing a key deletes its bytes (key = NULL); the
// server's own vacuum and backups decide when they leave the disk.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("personal data keys: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS subject_keys (
		subject_id TEXT PRIMARY KEY,
		key BYTEA
	)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("personal data keys: %w", err)
	}
	return &Store{db: db, postgres: true}, nil
}

// q writes a statement's `?` placeholders in the database's own style.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close closes the database.
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

// Seal encrypts plaintext with the subject's key, creating the key on first
// use: AES-256-GCM with a random nonce and the subject id as additional
// data. The result is "v1." and the base64url of nonce and ciphertext.
func (s *Store) Seal(ctx context.Context, subjectID uuid.UUID, plaintext []byte) (string, error) {
	if err := s.refuseWrite("seal", subjectID); err != nil {
		return "", err
	}
	if len(plaintext) > MaxPlaintext {
		return "", fmt.Errorf("personaldata: %d bytes is more than %d", len(plaintext), MaxPlaintext)
	}
	key, err := s.key(ctx, subjectID, true)
	if err != nil {
		return "", err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return "", fmt.Errorf("personaldata: nonce: %w", err)
	}
	out = aead.Seal(out, out, plaintext, subjectID[:])
	return prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal returned for the same subject. It returns
// ErrErased once the subject's key is erased, ErrMalformed for text that is
// not sealed data, and ErrAuthentication for altered data or data sealed
// for another subject.
func (s *Store) Open(ctx context.Context, subjectID uuid.UUID, sealed string) ([]byte, error) {
	nonce, ciphertext, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	key, err := s.key(ctx, subjectID, false)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, nonce, ciphertext, subjectID[:])
	if err != nil {
		return nil, ErrAuthentication
	}
	return plain, nil
}

// Erase deletes the subject's key for good: every text sealed for the
// subject becomes unreadable, and Seal refuses the subject from then on.
// Erasing twice, or a subject that never had a key, succeeds. The
// write-ahead log is truncated afterwards so the key's old page does not
// remain in it; when another reader of the file keeps it from being
// truncated (for longer than the busy timeout), Erase fails with
// ErrKeyInWAL, the key erased all the same, and erasing again finishes.
func (s *Store) Erase(ctx context.Context, subjectID uuid.UUID) error {
	if err := s.refuseWrite("erase", subjectID); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO subject_keys (subject_id, key) VALUES (?, NULL)
		ON CONFLICT (subject_id) DO UPDATE SET key = NULL`), subjectID.String()); err != nil {
		return fmt.Errorf("personaldata: erase %s: %w", subjectID, err)
	}
	if s.postgres {
		return nil
	}
	if err := s.truncateWAL(ctx); err != nil {
		return fmt.Errorf("personaldata: erase %s: %w", subjectID, err)
	}
	return nil
}

// truncateWAL checkpoints the key file and truncates its write-ahead log,
// waiting up to truncateWait for the connections in the way. A
// checkpoint that could not finish (busy) leaves frames, old keys among
// them, in the log: ErrKeyInWAL.
func (s *Store) truncateWAL(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer conn.Close()
	if s.truncateWait != defaultTruncateWait {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, s.truncateWait.Milliseconds())); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA busy_timeout = %d`, defaultTruncateWait.Milliseconds()))
	}
	var busy, frames, done int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return ErrKeyInWAL
	}
	return nil
}

// key returns the subject's key, creating it when create is set and the
// subject has none yet.
func (s *Store) key(ctx context.Context, subjectID uuid.UUID, create bool) ([]byte, error) {
	if s.db == nil {
		return nil, ErrErased // a read-only store without a database
	}
	id := subjectID.String()
	lookup, err := s.stmt(ctx, `SELECT key FROM subject_keys WHERE subject_id = ?`)
	if err != nil {
		return nil, fmt.Errorf("personaldata: key of %s: %w", id, err)
	}
	var key []byte
	err = lookup.QueryRowContext(ctx, id).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) && create {
		fresh := make([]byte, keySize)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("personaldata: new key: %w", err)
		}
		// Two first Seals may race: the first insert wins and both read it.
		if err := s.insertKey(ctx, id, fresh); err != nil {
			return nil, fmt.Errorf("personaldata: new key for %s: %w", id, err)
		}
		err = lookup.QueryRowContext(ctx, id).Scan(&key)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrErased
	case err != nil:
		return nil, fmt.Errorf("personaldata: key of %s: %w", id, err)
	case key == nil:
		return nil, ErrErased
	case len(key) != keySize:
		return nil, fmt.Errorf("personaldata: key of %s has %d bytes", id, len(key))
	}
	return key, nil
}

// insertKey stores a subject's first key unless another Seal stored one
// first.
func (s *Store) insertKey(ctx context.Context, id string, key []byte) error {
	insert, err := s.stmt(ctx, `INSERT INTO subject_keys (subject_id, key) VALUES (?, ?) ON CONFLICT (subject_id) DO NOTHING`)
	if err != nil {
		return err
	}
	_, err = insert.ExecContext(ctx, id, key)
	return err
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("personaldata: %w", err)
	}
	return cipher.NewGCM(block)
}

// parse splits sealed text into its nonce and ciphertext.
func parse(sealed string) (nonce, ciphertext []byte, err error) {
	if len(sealed) > maxSealed || !strings.HasPrefix(sealed, prefix) {
		return nil, nil, ErrMalformed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sealed[len(prefix):])
	if err != nil || len(raw) < nonceSize+tagSize {
		return nil, nil, ErrMalformed
	}
	return raw[:nonceSize], raw[nonceSize:], nil
}
