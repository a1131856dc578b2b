package httpapi

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
)

// Signer signs what the server sends to locks and phones with the server's
// Ed25519 key. The key lives outside the event log.
type Signer struct {
	keyID string
	key   ed25519.PrivateKey

	// recent maps the sha256 of recently signed data to its signature.
	// Ed25519 signatures are deterministic, so a cached one is exactly
	// what signing again would give; a lock's document is read far more
	// often than it changes, and signing was a sixth of a read's CPU.
	mu     sync.RWMutex
	recent map[[sha256.Size]byte]string
}

// maxRecentSignatures bounds the cache; when full it starts over.
const maxRecentSignatures = 4096

// NewSigner returns a signer for the private key; its key id is derived
// from the public key, so it changes only when the key does.
func NewSigner(key ed25519.PrivateKey) *Signer {
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &Signer{keyID: hex.EncodeToString(sum[:8]), key: key, recent: map[[sha256.Size]byte]string{}}
}

// KeyID identifies the server key in `signatures`.
func (s *Signer) KeyID() string { return s.keyID }

// PublicKey is the server's public key, standard base64.
func (s *Signer) PublicKey() string {
	return base64.StdEncoding.EncodeToString(s.key.Public().(ed25519.PublicKey))
}

// Sign returns `signatures` for the exact bytes of a `data` value, as
// JSON. It is written by hand, without escaping, because the key id is hex
// and the signature base64: encoding a map per answer was 2% of a lock
// read's CPU.
func (s *Signer) Sign(data []byte) []byte {
	sig := s.signature(data)
	out := make([]byte, 0, len(s.keyID)+len(sig)+7)
	out = append(append(append(out, `{"`...), s.keyID...), `":"`...)
	return append(append(out, sig...), `"}`...)
}

// signature is data's Ed25519 signature, base64, from the cache if data
// was signed recently.
func (s *Signer) signature(data []byte) string {
	sum := sha256.Sum256(data)
	s.mu.RLock()
	sig, ok := s.recent[sum]
	s.mu.RUnlock()
	if ok {
		return sig
	}
	sig = base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, data))
	s.mu.Lock()
	if len(s.recent) >= maxRecentSignatures {
		clear(s.recent)
	}
	s.recent[sum] = sig
	s.mu.Unlock()
	return sig
}

// writeSigned answers data in the envelope with the server's signature over
// the exact bytes of the data value, as they appear in the body.
func (a *API) writeSigned(w http.ResponseWriter, status int, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		slog.Error("encode signed response", "err", err)
		writeFailure(w, http.StatusInternalServerError, "internal error")
		return
	}
	a.writeSignedRaw(w, status, raw)
}

// writeSignedRaw is writeSigned for data that is already JSON, compact and
// escaped as json.Marshal writes it (the read models store documents so):
// the bytes signed are the bytes sent.
func (a *API) writeSignedRaw(w http.ResponseWriter, status int, raw []byte) {
	writeSuccess(w, status, raw, a.signer.Sign(raw))
}

func (a *API) keyRoutes() []route {
	return []route{{
		method: "GET", path: "/keys/server", operation: "getServerKey", public: true,
		summary: "The server's signing key: {keyId, publicKey} (Ed25519, base64).",
		handler: func(w http.ResponseWriter, _ *http.Request) {
			writeData(w, http.StatusOK, map[string]string{"keyId": a.signer.KeyID(), "publicKey": a.signer.PublicKey(), "algorithm": "Ed25519"})
		},
	}}
}
