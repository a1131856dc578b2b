package queries

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
)

func TestParsePage(t *testing.T) {
	p, err := ParsePage("", "")
	require.NoError(t, err)
	assert.Equal(t, Page{Size: DefaultPageSize}, p)

	p, err = ParsePage("500", Token(42))
	require.NoError(t, err)
	assert.Equal(t, Page{Size: 500, After: 42}, p)

	for _, size := range []string{"0", "501", "-1", "x", "1.5"} {
		_, err := ParsePage(size, "")
		assert.ErrorIs(t, err, domain.ErrInvalid, size)
		assert.ErrorContains(t, err, "pageSize")
	}
	// A cursor is a log position, at most 2^63-1: the read models keep
	// it as a signed 64-bit integer. A forged token beyond that would
	// wrap to a negative cursor and start the list over.
	p, err = ParsePage("", Token(math.MaxInt64))
	require.NoError(t, err)
	assert.Equal(t, uint64(math.MaxInt64), p.After)
	for _, token := range []string{"garbage", Token(0), "cDEuLTE", "cDEuMTg0NDY3NDQwNzM3MDk1NTE2MTY",
		Token(math.MaxInt64 + 1), Token(math.MaxUint64), "cDEuMTg0NDY3NDQwNzM3MDk1NTE2MTU"} {
		_, err := ParsePage("", token)
		assert.ErrorIs(t, err, domain.ErrInvalid, token)
		assert.ErrorContains(t, err, "pageToken")
	}
}

// FuzzParsePage: any query either parses to a valid page or is a 400.
func FuzzParsePage(f *testing.F) {
	f.Add("50", Token(7))
	f.Add("", "")
	f.Add("9999999999999999999", "%%%")
	f.Fuzz(func(t *testing.T, size, token string) {
		p, err := ParsePage(size, token)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if p.Size < 1 || p.Size > MaxPageSize {
			t.Fatalf("page size %d out of range", p.Size)
		}
		if p.After > math.MaxInt64 {
			t.Fatalf("cursor %d does not fit a read model's signed 64-bit position", p.After)
		}
		if token != "" {
			if again, err := ParsePage("", Token(p.After)); err != nil || again.After != p.After {
				t.Fatalf("token does not round-trip: %v", err)
			}
		}
	})
}
