// Package queries answers the read side of the API from the read models,
// always within the caller's account.
package queries

import (
	"fmt"
	"strconv"

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
	// List is the list the page is of: the tokens it issues continue it
	// only.
	List ListKey
}

// validCursor reports whether cursor is one a token of kind carries.
func validCursor(kind, cursor string) bool {
	switch kind {
	case positionPrefix:
		_, ok := parsePosition(cursor)
		return ok
	case accessLogPrefix:
		_, ok := parseAccessLogCursor(cursor)
		return ok
	}
	return false
}

// ParsePage reads pageSize and pageToken as the API receives them, for
// list: a token issued for another list, or by an older version of the
// server, is a 400 naming pageToken.
func ParsePage(size, token string, list ListKey) (Page, error) {
	p := Page{Size: DefaultPageSize, List: list}
	if size != "" {
		n, ok := domain.ParseDecimal(size, 1, MaxPageSize)
		if !ok {
			return p, domain.InvalidField("pageSize", fmt.Sprintf("must be a whole number from 1 to %d", MaxPageSize))
		}
		p.Size = n
	}
	if token != "" {
		cursor, err := openToken(token, positionPrefix, list)
		if err != nil {
			return p, err
		}
		p.After, _ = parsePosition(cursor)
	}
	return p, nil
}

// Token is the opaque pageToken that resumes the page's list after
// cursor.
func (p Page) Token(cursor uint64) string {
	return seal(positionPrefix, strconv.FormatUint(cursor, 10), p.List)
}

// parsePosition reads a position cursor as Token writes it.
func parsePosition(s string) (uint64, bool) {
	// A cursor is a log position, which the read models keep as a signed
	// 64-bit integer: a forged one past 2^63-1 would wrap to a negative
	// position there and start the list over.
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return n, true
}
