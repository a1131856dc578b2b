// Package seals makes the event log's tamper evidence checkable from outside
// a stream: every so often the server appends an AuditSealed event, the
// Merkle root of every stream's head signed with the server key, and Verify
// walks the log checking every stream's hash chain and every seal.
//
// A stream's hash chain shows that no event inside it was altered or
// removed; only a seal shows that its last events are all still there.
package seals

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/accessd/accessd/eventstore"
)

// Stream is where seals are appended: an ordinary stream, chained like
// every other (a `$` prefix would name a system stream in EventStoreDB).
const Stream = "audit-seals"

// Sealed is a seal: up to and including $all position UpToPosition, the
// log held Streams streams whose heads have the Merkle root MerkleRoot; the
// server key KeyID signed that statement.
type Sealed struct {
	UpToPosition uint64 `json:"upToPosition"`
	// Streams counts the streams with at least one event up to the position.
	Streams uint64 `json:"streams"`
	// MerkleRoot is the hex sha256 Merkle root of the stream heads (see
	// MerkleRoot).
	MerkleRoot string `json:"merkleRoot"`
	// RecordedDigest is the hex RecordedDigest of $all up to the position.
	// Seals made before it existed have none, and are signed as v1.
	RecordedDigest string `json:"recordedDigest,omitempty"`
	// KeyID names the server key, as GET /keys/server does.
	KeyID string `json:"keyId"`
	// Signature is the standard base64 Ed25519 signature of SigningBytes.
	Signature string `json:"signature"`
}

// EventType is the stable name of a seal.
func (Sealed) EventType() string { return "AuditSealed" }

// Register adds the seal event to a registry.
func Register(r *eventstore.Registry) { r.Register(Sealed{}) }

// The signing domains separate seal signatures from anything else the
// server key signs; v2 seals also sign the recorded digest.
const (
	signingDomainV1 = "accessd audit seal v1"
	signingDomainV2 = "accessd audit seal v2"
)

// SigningBytes are the exact bytes the signature covers: a domain string,
// then the position, the stream count, the root, the recorded digest (v2
// only) and the key id, each length-prefixed, so no JSON encoding question
// arises.
func (s Sealed) SigningBytes() []byte {
	var b []byte
	field := func(v []byte) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
		b = append(b, v...)
	}
	domain := signingDomainV1
	if s.RecordedDigest != "" {
		domain = signingDomainV2
	}
	field([]byte(domain))
	field(binary.BigEndian.AppendUint64(nil, s.UpToPosition))
	field(binary.BigEndian.AppendUint64(nil, s.Streams))
	field([]byte(s.MerkleRoot))
	if s.RecordedDigest != "" {
		field([]byte(s.RecordedDigest))
	}
	field([]byte(s.KeyID))
	return b
}

// KeyID derives a key's id from its public key the way the HTTP API's
// signer does: the first 8 bytes of its sha256, hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign fills in KeyID and Signature with key.
func (s Sealed) Sign(key ed25519.PrivateKey) Sealed {
	s.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	s.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, s.SigningBytes()))
	return s
}

// ErrBadSignature: a seal's signature does not verify with the key.
var ErrBadSignature = errors.New("seal signature does not verify")

// CheckSignature verifies the seal's signature with pub.
func (s Sealed) CheckSignature(pub ed25519.PublicKey) error {
	if id := KeyID(pub); s.KeyID != id {
		return fmt.Errorf("%w: signed by key %q, checked with key %q", ErrBadSignature, s.KeyID, id)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, s.SigningBytes(), sig) {
		return ErrBadSignature
	}
	return nil
}

// Head is a stream's last event: its revision and chain hash ("" for an
// unchained stream).
type Head struct {
	Revision uint64
	Hash     string
}

// Heads are the heads of every stream, as a walk of $all leaves them.
type Heads map[string]Head

// Observe moves the head of the event's stream to it.
func (h Heads) Observe(stream string, revision uint64, hash string) {
	h[stream] = Head{Revision: revision, Hash: hash}
}

// Seal returns the unsigned seal of these heads at position.
func (h Heads) Seal(position uint64) Sealed {
	return Sealed{UpToPosition: position, Streams: uint64(len(h)), MerkleRoot: MerkleRoot(h)}
}
