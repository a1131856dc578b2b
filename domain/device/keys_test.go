package device

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/accessd/accessd/domain"
)

// testKeys derives a valid Ed25519 and X25519 public key from seed.
func testKeys(seed string) (pub, enc string) {
	s := sha256.Sum256([]byte(seed))
	edPub := ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey)
	x, err := ecdh.X25519().NewPrivateKey(s[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(edPub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
}

func b64hex(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestSigningKeyAcceptsRealKeys(t *testing.T) {
	t.Parallel()
	for i := range 64 {
		pub, _ := testKeys(string(rune('a' + i)))
		got, err := SigningKey("publicKey", pub)
		if err != nil || got != pub {
			t.Fatalf("key %d %s: %q, %v", i, pub, got, err)
		}
	}
}

func TestEncryptionKeyAcceptsRealKeys(t *testing.T) {
	t.Parallel()
	for i := range 64 {
		_, enc := testKeys(string(rune('a' + i)))
		got, err := EncryptionKey("encryptionPublicKey", enc)
		if err != nil || got != enc {
			t.Fatalf("key %d %s: %q, %v", i, enc, got, err)
		}
	}
}

func TestSigningKeyRejects(t *testing.T) {
	t.Parallel()
	valid, _ := testKeys("x")
	raw, _ := base64.StdEncoding.DecodeString(valid)
	tests := map[string]string{
		"empty":           "",
		"unpadded":        base64.RawStdEncoding.EncodeToString(raw),
		"url alphabet":    base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe, 31: 1}),
		"line break":      valid[:10] + "\n" + valid[10:],
		"short":           base64.StdEncoding.EncodeToString(raw[:31]),
		"long":            base64.StdEncoding.EncodeToString(append(raw, 0)),
		"all zeros":       base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"not a point y=2": base64.StdEncoding.EncodeToString([]byte{2, 31: 0}),
		"y not below p":   b64hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"negative zero x": b64hex("0100000000000000000000000000000000000000000000000000000000000080"),
		// The points of small order (the identity, order 2, 4 and 8).
		"identity": b64hex("0100000000000000000000000000000000000000000000000000000000000000"),
		"order 2":  b64hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"order 4":  b64hex("0000000000000000000000000000000000000000000000000000000000000080"),
		"order 8a": b64hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
		"order 8b": b64hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
		"order 8c": b64hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
		"order 8d": b64hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
	}
	for name, key := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := SigningKey("publicKey", key)
			var de *domain.Error
			if !errors.Is(err, domain.ErrInvalid) || !errors.As(err, &de) || de.Field != "publicKey" {
				t.Fatalf("SigningKey(%q) = %v, want an invalid publicKey", key, err)
			}
		})
	}
}

func TestSigningKeyAcceptsPointOfFullOrder(t *testing.T) {
	t.Parallel()
	// y = 3 is on the curve; a point of small order has one of the y
	// values listed above, so this one is valid although no seed made it.
	if _, err := SigningKey("publicKey", base64.StdEncoding.EncodeToString([]byte{3, 31: 0})); err != nil {
		t.Fatal(err)
	}
}

func TestEncryptionKeyRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"empty":     "",
		"short":     base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"all zeros": base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"u = 1":     base64.StdEncoding.EncodeToString([]byte{1, 31: 0}),
		"top bit":   b64hex("0900000000000000000000000000000000000000000000000000000000000080"),
		"u = p":     b64hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"u = p - 1": b64hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		// Points of order 8 on Curve25519.
		"order 8a": b64hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
		"order 8b": b64hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
	}
	for name, key := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := EncryptionKey("encryptionPublicKey", key)
			var de *domain.Error
			if !errors.Is(err, domain.ErrInvalid) || !errors.As(err, &de) || de.Field != "encryptionPublicKey" {
				t.Fatalf("EncryptionKey(%q) = %v, want an invalid encryptionPublicKey", key, err)
			}
		})
	}
	// The X25519 base point (u = 9) has full order.
	if _, err := EncryptionKey("encryptionPublicKey", base64.StdEncoding.EncodeToString([]byte{9, 31: 0})); err != nil {
		t.Fatal(err)
	}
}
