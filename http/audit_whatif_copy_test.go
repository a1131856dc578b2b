package httpapi

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/accessd/accessd/queries"
)

// A what-if's copy of the API signs page tokens with the server's key: a
// token it answered continues on the server, and one the server answered
// continues on the copy (the zero key would sign tokens no list takes).
func TestWhatIfCopySharesThePageTokenKey(t *testing.T) {
	a := &API{pageTokens: queries.NewPageTokenKey(bytes.Repeat([]byte{7}, 32))}
	assert.Equal(t, a.pageTokens, a.whatIfCopy(nil, nil).pageTokens)
}
