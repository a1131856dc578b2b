package domain

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseDecimal(t *testing.T) {
	for raw, want := range map[string]int{"1": 1, "7": 7, "500": 500} {
		n, ok := ParseDecimal(raw, 1, 500)
		assert.True(t, ok, raw)
		assert.Equal(t, want, n, raw)
	}
	for _, raw := range []string{"", "0", "501", "+2", "-1", "02", "00", " 2", "2 ", "1.5", "x", "99999999999999999999999"} {
		_, ok := ParseDecimal(raw, 1, 500)
		assert.False(t, ok, raw)
	}
	n, ok := ParseDecimal("0", 0, 3)
	assert.True(t, ok)
	assert.Zero(t, n)
}

func TestAllDigits(t *testing.T) {
	for _, s := range []string{"0", "007", "123"} {
		assert.True(t, AllDigits(s), s)
	}
	for _, s := range []string{"", "+1", "-1", "1 ", "1a", "１"} {
		assert.False(t, AllDigits(s), s)
	}
}
