package httpapi

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignerSignaturesVerifyWhetherCachedOrNot(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s := NewSigner(priv)
	verify := func(data []byte) string {
		var sigs map[string]string
		require.NoError(t, json.Unmarshal(s.Sign(data), &sigs), "signatures are JSON")
		require.Len(t, sigs, 1)
		sig, err := base64.StdEncoding.DecodeString(sigs[s.KeyID()])
		require.NoError(t, err)
		require.True(t, ed25519.Verify(pub, data, sig), "signature of %q", data)
		return string(sig)
	}
	first := verify([]byte(`{"lockId":"a"}`))
	assert.Equal(t, first, verify([]byte(`{"lockId":"a"}`)), "a cached signature is the one signing gives")
	assert.NotEqual(t, first, verify([]byte(`{"lockId":"b"}`)))
	for i := range maxRecentSignatures + 10 {
		verify(fmt.Appendf(nil, `{"n":%d}`, i))
	}
	assert.LessOrEqual(t, len(s.recent), maxRecentSignatures)
	assert.Equal(t, first, verify([]byte(`{"lockId":"a"}`)), "signed again after the cache started over")
}
