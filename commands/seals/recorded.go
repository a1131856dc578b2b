package seals

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/accessd/accessd/eventstore"
)

// RecordedDigest is a running digest of the log's order and recording
// times. The hash chains cover what each event says, not when the store
// recorded it, and every point-in-time answer (who could open a lock at T,
// a history from T, replay until T) goes by recorded time; a seal carries
// this digest so that a recording time changed, or events reordered,
// before the seal fail its check.
//
// Each event folds in as sha256(previous digest || position || recorded
// time in Unix nanoseconds || len-prefixed stream || revision), integers
// 8 bytes big endian; the digest of no event is 32 zero bytes.
type RecordedDigest [sha256.Size]byte

// Observe folds the next event of $all into the digest.
func (d *RecordedDigest) Observe(rec eventstore.RecordedEvent) {
	b := make([]byte, 0, len(d)+8*4+len(rec.Stream))
	b = append(b, d[:]...)
	b = binary.BigEndian.AppendUint64(b, rec.Position)
	b = binary.BigEndian.AppendUint64(b, uint64(rec.RecordedAt.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(len(rec.Stream)))
	b = append(b, rec.Stream...)
	b = binary.BigEndian.AppendUint64(b, rec.Revision)
	*d = sha256.Sum256(b)
}

// String is the digest in hex, as a seal carries it.
func (d RecordedDigest) String() string { return hex.EncodeToString(d[:]) }
