// Package queries answers the read side of the API from the read models,
// always within the caller's account.
package queries

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/accessd/accessd/domain"
)

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ListKey names one list, for its page tokens: a token continues only
// the list it was issued for. The zero ListKey names no list in
// particular (a caller that walks a list itself and reads no token).
type ListKey struct {
	tag string
}

// listTagBytes is how much of the sha256 of a list's description a token
// carries: enough that two lists never meet by chance, short enough for a
// query string.
const listTagBytes = 8

// NewListKey names the list of a canonical description: equal
// descriptions are the same list, and any difference (another route, path
// id, filter or account) another list.
func NewListKey(description string) ListKey {
	sum := sha256.Sum256([]byte(description))
	return ListKey{tag: hex.EncodeToString(sum[:listTagBytes])}
}

// tagText is the tag a token of this list carries.
func (k ListKey) tagText() string {
	if k.tag == "" {
		return strings.Repeat("0", 2*listTagBytes)
	}
	return k.tag
}

// validTag reports whether s is a tag as issued: lowercase hex of
// listTagBytes bytes.
func validTag(s string) bool {
	if len(s) != 2*listTagBytes {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Page asks for one page of a list: at most Size items after the cursor.
type Page struct {
	Size int
	// After is the cursor of the last item of the previous page (0: start).
	After uint64
	// List is the list the page is of: the tokens it issues continue it
	// only.
	List ListKey
}

// The versions of a page token: base64url of the prefix, the cursor and
// (since version 2) the list's tag. Positions (p) page most lists; access
// logs (l) page by a keyset of their own.
const (
	positionPrefix     = "p2."
	accessLogPrefix    = "l2|"
	oldPositionPrefix  = "p1."
	oldAccessLogPrefix = "l1|"
	// maxTokenLen caps a token before it is decoded; the longest issued,
	// an access log's, is 166 characters.
	maxTokenLen = 200
)

var tokenEncoding = base64.RawURLEncoding.Strict()

// seal writes a token of the kind of prefix, for cursor on list.
func seal(prefix, cursor string, list ListKey) string {
	return tokenEncoding.EncodeToString([]byte(prefix + cursor + prefix[len(prefix)-1:] + list.tagText()))
}

// openToken reads a token issued for list, of the kind of prefix, and
// answers its cursor; any other token is a 400 naming pageToken that
// says why.
func openToken(token, prefix string, list ListKey) (string, error) {
	kind, cursor, tag, ok := unseal(token)
	switch {
	case ok && (kind == oldPositionPrefix || kind == oldAccessLogPrefix):
		return "", domain.InvalidField("pageToken", "is from an older version of this server, whose tokens are no longer accepted: "+
			"start again from the first page, without pageToken")
	case !ok || !validCursor(kind, cursor):
		return "", domain.InvalidField("pageToken", "is not a page token this server issued")
	case kind != prefix || tag != list.tagText():
		return "", domain.InvalidField("pageToken", "was issued for another list: a token continues only the list that "+
			"answered it, with the same path, the same query parameters other than pageSize and pageToken, and the same account")
	}
	return cursor, nil
}

// unseal splits a token into its kind (its prefix), cursor and tag (""
// for an older version's, which has none); ok is false when it has the
// shape of no token this server issues or issued.
func unseal(token string) (kind, cursor, tag string, ok bool) {
	if len(token) > maxTokenLen {
		return "", "", "", false
	}
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil {
		return "", "", "", false
	}
	s := string(raw)
	for _, p := range []string{positionPrefix, accessLogPrefix, oldPositionPrefix, oldAccessLogPrefix} {
		if !strings.HasPrefix(s, p) {
			continue
		}
		rest := s[len(p):]
		if p == oldPositionPrefix || p == oldAccessLogPrefix {
			return p, rest, "", true
		}
		i := strings.LastIndexByte(rest, p[len(p)-1])
		if i < 0 || !validTag(rest[i+1:]) {
			return "", "", "", false
		}
		return p, rest[:i], rest[i+1:], true
	}
	return "", "", "", false
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
		// Plain digits only: Atoi also takes a sign and leading zeros
		// (+2, 02), which no client means as a page size.
		n, err := strconv.Atoi(size)
		if err != nil || strconv.Itoa(n) != size || n < 1 || n > MaxPageSize {
			return p, domain.InvalidField("pageSize", "must be a whole number from 1 to 500")
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
