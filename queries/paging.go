// Package queries answers the read side of the API from the read models,
// always within the caller's account.
package queries

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/accessd/accessd/domain"
)

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Page asks for one page of a list: at most Size items after the cursor.
type Page struct {
	Size int
	// After is the cursor of the last item of the previous page (0: start).
	After uint64
}

const tokenPrefix = "p1."

// ParsePage reads pageSize and pageToken as the API receives them.
func ParsePage(size, token string) (Page, error) {
	p := Page{Size: DefaultPageSize}
	if size != "" {
		n, err := strconv.Atoi(size)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, domain.InvalidField("pageSize", "must be a whole number from 1 to 500")
		}
		p.Size = n
	}
	if token != "" {
		after, ok := decodeToken(token)
		if !ok {
			return p, domain.InvalidField("pageToken", "is not a page token this server issued")
		}
		p.After = after
	}
	return p, nil
}

// Token is the opaque pageToken that resumes after cursor.
func Token(cursor uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.FormatUint(cursor, 10)))
}

func decodeToken(token string) (uint64, bool) {
	if len(token) > 64 {
		return 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !strings.HasPrefix(string(raw), tokenPrefix) {
		return 0, false
	}
	// A cursor is a log position, which the read models keep as a signed
	// 64-bit integer: a forged one past 2^63-1 would wrap to a negative
	// position there and start the list over.
	n, err := strconv.ParseUint(string(raw[len(tokenPrefix):]), 10, 63)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}
