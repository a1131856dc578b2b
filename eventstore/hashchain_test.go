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
	for _, damaged := range []string{"", "v3:" + legacy, "w2:" + legacy, strings.ToUpper(legacy), legacy[1:], current + "0", "v2:" + strings.ToUpper(legacy)} {
		assert.Equal(t, HashFormUnknown, HashForm(damaged), damaged)
		meta.Hash = damaged
		want, _ := ExpectedChainHash("", id, "Noted", "s-1", 0, data, meta)
		assert.NotEqual(t, damaged, want)
	}
}
