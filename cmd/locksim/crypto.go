package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

var b64 = base64.StdEncoding

// keyPairs are a lock's or a phone's private keys: an Ed25519 seed to sign
// and an X25519 private key to open what is sealed to it. Only their
// public halves ever leave the simulator.
type keyPairs struct {
	SigningSeed   []byte `json:"signingSeed"`
	EncryptionKey []byte `json:"encryptionPrivateKey"`
}

// newKeyPairs makes fresh key pairs.
func newKeyPairs() (keyPairs, error) {
	_, sign, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return keyPairs{}, err
	}
	_, enc, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return keyPairs{}, err
	}
	return keyPairs{SigningSeed: sign.Seed(), EncryptionKey: enc[:]}, nil
}

func (k keyPairs) check() error {
	if len(k.SigningSeed) != ed25519.SeedSize || len(k.EncryptionKey) != 32 {
		return errors.New("the state file's keys are damaged")
	}
	return nil
}

func (k keyPairs) signingKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(k.SigningSeed) }

// signingPublicKey is the Ed25519 public key, standard base64.
func (k keyPairs) signingPublicKey() string {
	return b64.EncodeToString(k.signingKey().Public().(ed25519.PublicKey))
}

// encryptionPublicKey is the X25519 public key, standard base64.
func (k keyPairs) encryptionPublicKey() (string, error) {
	pub, err := curve25519.X25519(k.EncryptionKey, curve25519.Basepoint)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(pub), nil
}

// sign is the Ed25519 signature of msg, standard base64.
func (k keyPairs) sign(msg []byte) string {
	return b64.EncodeToString(ed25519.Sign(k.signingKey(), msg))
}

// open opens a NaCl anonymous sealed box (standard base64) sealed to the
// X25519 key.
func (k keyPairs) open(sealed string) ([]byte, error) {
	raw, err := b64.DecodeString(sealed)
	if err != nil {
		return nil, errors.New("the sealed box is not base64")
	}
	pubRaw, err := curve25519.X25519(k.EncryptionKey, curve25519.Basepoint)
	if err != nil {
		return nil, err
	}
	var pub, priv [32]byte
	copy(pub[:], pubRaw)
	copy(priv[:], k.EncryptionKey)
	plain, ok := box.OpenAnonymous(nil, raw, &pub, &priv)
	if !ok {
		return nil, errors.New("the sealed box does not open with this key: tampered, or sealed to another key")
	}
	return plain, nil
}

// verifyEd25519 reports whether sig (standard base64) is the signature of
// msg by pub (standard base64).
func verifyEd25519(pub string, msg []byte, sig string) bool {
	key, err := b64.DecodeString(pub)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return false
	}
	s, err := b64.Strict().DecodeString(sig)
	if err != nil || len(s) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(key), msg, s)
}

// verifyServer checks the server's signature, under the pinned key, of
// the exact bytes of an answer's data.
func verifyServer(pinned serverKey, data []byte, signatures map[string]string) error {
	sig, ok := signatures[pinned.KeyID]
	if !ok {
		ids := make([]string, 0, len(signatures))
		for id := range signatures {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if len(ids) == 0 {
			return errors.New("the answer is not signed by the server")
		}
		return fmt.Errorf("the answer is signed by server key %s, not by the pinned key %s: refused", strings.Join(ids, ", "), pinned.KeyID)
	}
	if !verifyEd25519(pinned.PublicKey, data, sig) {
		return fmt.Errorf("the server signature (key %s) does not verify over the answer: refused", pinned.KeyID)
	}
	return nil
}
