package device

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"math/big"

	"github.com/accessd/accessd/domain"
)

// KeySize is the length of an Ed25519 or X25519 public key.
const KeySize = 32

// SigningKey checks an Ed25519 public key given as standard base64 with
// padding and returns its canonical encoding. The key must be a point of
// the curve, in canonical form, and not of small order (such a key would
// accept signatures anyone can make). Locks register theirs the same way.
func SigningKey(field, s string) (string, error) {
	b, err := decodeKey(field, s)
	if err != nil {
		return "", err
	}
	if !edwardsPointOK(b) {
		return "", domain.InvalidField(field, "is not a valid Ed25519 public key")
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// EncryptionKey checks an X25519 public key given as standard base64 with
// padding and returns its canonical encoding. The key must be canonical and
// not of low order (sealing to it would hide nothing).
func EncryptionKey(field, s string) (string, error) {
	b, err := decodeKey(field, s)
	if err != nil {
		return "", err
	}
	if !montgomeryPointOK(b) {
		return "", domain.InvalidField(field, "is not a valid X25519 public key")
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func decodeKey(field, s string) ([]byte, error) {
	if s == "" {
		return nil, domain.InvalidField(field, "is required")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, domain.InvalidField(field, "is not standard base64 with padding")
	}
	if len(b) != KeySize {
		return nil, domain.InvalidField(field, "must decode to 32 bytes")
	}
	if bytes.Equal(b, make([]byte, KeySize)) {
		return nil, domain.InvalidField(field, "must not be all zeros")
	}
	return b, nil
}

var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// edD is the twisted Edwards curve constant -121665/121666 mod p.
	edD = func() *big.Int {
		d := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, fieldP)
	}()
)

// littleEndian reads b as an unsigned little-endian integer.
func littleEndian(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

// edwardsPointOK decodes b as RFC 8032 does (rejecting y >= p and a
// negative zero x) and checks that the point's order is not small: eight
// times it is not the identity.
func edwardsPointOK(b []byte) bool {
	yb := bytes.Clone(b)
	negative := yb[31]&0x80 != 0
	yb[31] &= 0x7f
	y := littleEndian(yb)
	if y.Cmp(fieldP) >= 0 {
		return false
	}
	p := fieldP
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, p)
	u := new(big.Int).Sub(y2, big.NewInt(1)) // y² - 1
	u.Mod(u, p)
	v := new(big.Int).Mul(edD, y2) // d·y² + 1
	v.Add(v, big.NewInt(1)).Mod(v, p)
	vInv := new(big.Int).ModInverse(v, p)
	if vInv == nil {
		return false
	}
	x2 := u.Mul(u, vInv)
	x2.Mod(x2, p)
	x := new(big.Int).ModSqrt(x2, p)
	if x == nil {
		return false
	}
	if x.Sign() == 0 && negative {
		return false
	}
	for range 3 {
		x, y = edwardsDouble(x, y)
	}
	return !(x.Sign() == 0 && y.Cmp(big.NewInt(1)) == 0)
}

// edwardsDouble doubles (x, y) on -x² + y² = 1 + d·x²·y² (a complete
// curve: the denominators are never zero).
func edwardsDouble(x, y *big.Int) (*big.Int, *big.Int) {
	p := fieldP
	xx := new(big.Int).Mul(x, x)
	yy := new(big.Int).Mul(y, y)
	nx := new(big.Int).Mul(x, y) // 2xy / (y² - x²)
	nx.Lsh(nx, 1)
	dx := new(big.Int).Sub(yy, xx)
	dx.Mod(dx, p)
	nx.Mul(nx, new(big.Int).ModInverse(dx, p)).Mod(nx, p)
	ny := new(big.Int).Add(yy, xx) // (y² + x²) / (2 + x² - y²)
	dy := new(big.Int).Add(big.NewInt(2), xx)
	dy.Sub(dy, yy).Mod(dy, p)
	ny.Mul(ny, new(big.Int).ModInverse(dy, p)).Mod(ny, p)
	return nx, ny
}

// probe is a fixed X25519 scalar. Its clamped form is a multiple of eight,
// so an agreement with a point of low order yields zero, which ecdh
// reports as an error.
var probe = func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey([]byte("accessd: x25519 public key check"))
	if err != nil {
		panic(err)
	}
	return k
}()

// montgomeryPointOK rejects a non-canonical u (top bit set, or u >= p) and
// a point of low order.
func montgomeryPointOK(b []byte) bool {
	if b[31]&0x80 != 0 || littleEndian(b).Cmp(fieldP) >= 0 {
		return false
	}
	pub, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return false
	}
	_, err = probe.ECDH(pub)
	return err == nil
}
