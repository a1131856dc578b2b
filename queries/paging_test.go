package queries

import (
	"errors"
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
	for _, token := range []string{"garbage", Token(0), "cDEuLTE", "cDEuMTg0NDY3NDQwNzM3MDk1NTE2MTY"} {
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
		if token != "" {
			if again, err := ParsePage("", Token(p.After)); err != nil || again.After != p.After {
				t.Fatalf("token does not round-trip: %v", err)
			}
		}
	})
}
