package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// ChainHash returns the tamper-evidence hash of an event: sha256 of the
// previous event's hash in the stream (hex, empty for the first) followed by
// the event's canonical bytes. The canonical bytes are length-prefixed
// fields (id, type, stream, revision, data, and the metadata that says who
// and when), so no two different events share them and re-encoding JSON
// metadata cannot change the result.
func ChainHash(prev string, id uuid.UUID, eventType, stream string, revision uint64, data []byte, meta Metadata) string {
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
	return hex.EncodeToString(h.Sum(nil))
}
