package eventstore

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

func TestChainHashCoversTheSchemaNumber(t *testing.T) {
	id := uuid.MustParse("00000000-0000-0000-0000-000000000001")
	meta := Metadata{AccountID: "a", OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Schema: 1}
	data := []byte(`{"x":1}`)
	current := ChainHash("", id, "Noted", "s-1", 0, data, meta)
	legacy := LegacyChainHash("", id, "Noted", "s-1", 0, data, meta)
	assert.Equal(t, HashFormCurrent, HashForm(current))
	assert.Equal(t, HashFormLegacy, HashForm(legacy))
	assert.True(t, strings.HasPrefix(current, currentHashPrefix))

	other := meta
	other.Schema = 2
	assert.NotEqual(t, current, ChainHash("", id, "Noted", "s-1", 0, data, other), "the current form hashes the schema number")
	assert.Equal(t, legacy, LegacyChainHash("", id, "Noted", "s-1", 0, data, other), "the legacy form never did")

	// ExpectedChainHash recomputes in the stored hash's form.
	meta.Hash = legacy
	want, form := ExpectedChainHash("", id, "Noted", "s-1", 0, data, meta)
	assert.Equal(t, legacy, want)
	assert.Equal(t, HashFormLegacy, form)
	meta.Hash = current
	want, form = ExpectedChainHash("", id, "Noted", "s-1", 0, data, meta)
	assert.Equal(t, current, want)
	assert.Equal(t, HashFormCurrent, form)

	// A damaged form is no form: it can equal neither.
	for _, damaged := range []string{"", "v4:" + legacy, "v3:" + strings.ToUpper(legacy), "w2:" + legacy, strings.ToUpper(legacy), legacy[1:], current + "0", "v2:" + strings.ToUpper(legacy)} {
		assert.Equal(t, HashFormUnknown, HashForm(damaged), damaged)
		meta.Hash = damaged
		want, _ := ExpectedChainHash("", id, "Noted", "s-1", 0, data, meta)
		assert.NotEqual(t, damaged, want)
	}
}

func TestChainHashCoversTheRequestFingerprint(t *testing.T) {
	id := uuid.MustParse("00000000-0000-0000-0000-000000000001")
	meta := Metadata{AccountID: "a", OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Schema: 1, RequestFingerprint: "hmac-sha256:00"}
	data := []byte(`{"x":1}`)
	current := ChainHash("", id, "Noted", "s-1", 0, data, meta)
	v2 := V2ChainHash("", id, "Noted", "s-1", 0, data, meta)
	assert.Equal(t, HashFormCurrent, HashForm(current))
	assert.Equal(t, HashFormV2, HashForm(v2))
	assert.True(t, strings.HasPrefix(v2, v2HashPrefix))

	other := meta
	other.RequestFingerprint = "hmac-sha256:01"
	assert.NotEqual(t, current, ChainHash("", id, "Noted", "s-1", 0, data, other), "the current form hashes the fingerprint")
	assert.Equal(t, v2, V2ChainHash("", id, "Noted", "s-1", 0, data, other), "the v2 form never did")
	other.Schema = 2
	assert.NotEqual(t, v2, V2ChainHash("", id, "Noted", "s-1", 0, data, other), "the v2 form hashes the schema number")

	// ExpectedChainHash recomputes in the stored hash's form.
	meta.Hash = v2
	want, form := ExpectedChainHash("", id, "Noted", "s-1", 0, data, meta)
	assert.Equal(t, v2, want)
	assert.Equal(t, HashFormV2, form)
	// A v2 prefix put on a current-form hash matches neither form.
	meta.Hash = v2HashPrefix + strings.TrimPrefix(current, currentHashPrefix)
	want, _ = ExpectedChainHash("", id, "Noted", "s-1", 0, data, meta)
	assert.NotEqual(t, meta.Hash, want)
}
