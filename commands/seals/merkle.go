package seals

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// MerkleRoot is the hex sha256 Merkle root over the heads, sorted by
// stream name. A leaf is sha256(0x00 || len-prefixed stream || revision
// (8 bytes, big endian) || len-prefixed hash); a node is sha256(0x01 ||
// left || right); an odd node out is carried up unchanged. The root of no
// streams is sha256 of nothing.
func MerkleRoot(heads Heads) string {
	names := make([]string, 0, len(heads))
	for name := range heads {
		names = append(names, name)
	}
	slices.Sort(names)
	level := make([][sha256.Size]byte, len(names))
	for i, name := range names {
		level[i] = leaf(name, heads[name])
	}
	if len(level) == 0 {
		sum := sha256.Sum256(nil)
		return hex.EncodeToString(sum[:])
	}
	for len(level) > 1 {
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			var b [1 + 2*sha256.Size]byte
			b[0] = 1
			copy(b[1:], level[i][:])
			copy(b[1+sha256.Size:], level[i+1][:])
			next = append(next, sha256.Sum256(b[:]))
		}
		level = next
	}
	return hex.EncodeToString(level[0][:])
}

func leaf(stream string, h Head) [sha256.Size]byte {
	b := make([]byte, 0, 1+8+len(stream)+8+8+len(h.Hash))
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(len(stream)))
	b = append(b, stream...)
	b = binary.BigEndian.AppendUint64(b, h.Revision)
	b = binary.BigEndian.AppendUint64(b, uint64(len(h.Hash)))
	b = append(b, h.Hash...)
	return sha256.Sum256(b)
}
