package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strings"
	"time"

	"github.com/google/uuid"
)

// A stored hash says which canonical bytes it was computed over, so that
// logs written before a field joined the hash still verify while every
// event written since covers it.
//
//   - HashFormLegacy: 64 hex digits, no prefix. The schema number is outside
//     the hash (verify can only check that the event type has it). Written
//     by builds before the schema number was hashed.
//   - HashFormV2: v2HashPrefix followed by 64 hex digits. The schema number
//     is one of the hashed fields, the request fingerprint is not. Written
//     by builds before the request fingerprint was hashed.
//   - HashFormCurrent: currentHashPrefix followed by 64 hex digits. The
//     schema number and the request fingerprint are hashed fields.
//
// Verify accepts a form only before the log's first hash of a newer form.
// The form is a prefix of the hash rather than a metadata field of its own
// because then the form cannot be changed without changing the hash: a
// flipped prefix is no known form, and a prefix changed or removed leaves a
// hash that must still match the other form's bytes (and the log-wide rule
// above).
const (
	HashFormUnknown = 0
	HashFormLegacy  = 1
	HashFormV2      = 2
	HashFormCurrent = 3
)

// The prefixes of the hash forms after the legacy one.
const (
	v2HashPrefix      = "v2:"
	currentHashPrefix = "v3:"
)

// ChainHash returns the tamper-evidence hash of an event, in the current
// form: currentHashPrefix and the hex sha256 of the previous event's hash
// in the stream (as stored, empty for the first) followed by the event's
// canonical bytes. The canonical bytes are length-prefixed fields (id,
// type, stream, revision, data, the metadata that says who and when, the
// payload's schema number and the request fingerprint), so no two
// different events share them and re-encoding JSON metadata cannot change
// the result.
func ChainHash(prev string, id uuid.UUID, eventType, stream string, revision uint64, data []byte, meta Metadata) string {
	h, field := canonicalHasher(prev, id, eventType, stream, revision, data, meta)
	schemaField(field, meta)
	field([]byte(meta.RequestFingerprint))
	return currentHashPrefix + hex.EncodeToString(h.Sum(nil))
}

// V2ChainHash is the hash of the v2 form: the same canonical bytes as
// ChainHash without the request fingerprint. Only verification of old logs
// uses it.
func V2ChainHash(prev string, id uuid.UUID, eventType, stream string, revision uint64, data []byte, meta Metadata) string {
	h, field := canonicalHasher(prev, id, eventType, stream, revision, data, meta)
	schemaField(field, meta)
	return v2HashPrefix + hex.EncodeToString(h.Sum(nil))
}

// schemaField adds the schema number, 8 bytes big endian, as a field.
func schemaField(field func([]byte), meta Metadata) {
	var schema [8]byte
	binary.BigEndian.PutUint64(schema[:], uint64(int64(meta.Schema)))
	field(schema[:])
}

// LegacyChainHash is the hash of the legacy form: the same canonical bytes
// as V2ChainHash without the schema number, and no prefix. Only verification
// of old logs uses it.
func LegacyChainHash(prev string, id uuid.UUID, eventType, stream string, revision uint64, data []byte, meta Metadata) string {
	h, _ := canonicalHasher(prev, id, eventType, stream, revision, data, meta)
	return hex.EncodeToString(h.Sum(nil))
}

// HashForm tells which form a stored hash has, HashFormUnknown for one that
// is neither (a damaged hash).
func HashForm(stored string) int {
	switch {
	case strings.HasPrefix(stored, currentHashPrefix) && isLowerHex(stored[len(currentHashPrefix):], sha256.Size):
		return HashFormCurrent
	case strings.HasPrefix(stored, v2HashPrefix) && isLowerHex(stored[len(v2HashPrefix):], sha256.Size):
		return HashFormV2
	case isLowerHex(stored, sha256.Size):
		return HashFormLegacy
	}
	return HashFormUnknown
}

// ExpectedChainHash recomputes an event's hash in the form the stored one
// (meta.Hash) has, and says which form that is; a stored hash of unknown
// form is compared with the current form, which it cannot equal.
func ExpectedChainHash(prev string, id uuid.UUID, eventType, stream string, revision uint64, data []byte, meta Metadata) (string, int) {
	switch form := HashForm(meta.Hash); form {
	case HashFormLegacy:
		return LegacyChainHash(prev, id, eventType, stream, revision, data, meta), form
	case HashFormV2:
		return V2ChainHash(prev, id, eventType, stream, revision, data, meta), form
	default:
		return ChainHash(prev, id, eventType, stream, revision, data, meta), form
	}
}

// canonicalHasher starts a sha256 over the fields all forms share and
// returns it with the function that adds a length-prefixed field.
func canonicalHasher(prev string, id uuid.UUID, eventType, stream string, revision uint64, data []byte, meta Metadata) (hash.Hash, func([]byte)) {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var rev [8]byte
	binary.BigEndian.PutUint64(rev[:], revision)
	field([]byte(prev))
	field(id[:])
	field([]byte(eventType))
	field([]byte(stream))
	field(rev[:])
	field(data)
	field([]byte(meta.CorrelationID))
	field([]byte(meta.CausationID))
	field([]byte(meta.AccountID))
	field([]byte(meta.UserID))
	field([]byte(meta.APIKeyID))
	field([]byte(meta.OccurredAt.UTC().Format(time.RFC3339Nano)))
	return h, field
}

// isLowerHex reports whether s is exactly n bytes in lowercase hex, as
// hex.EncodeToString writes them.
func isLowerHex(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
