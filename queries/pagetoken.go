package queries

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/accessd/accessd/domain"
)

// PageTokenKey signs the page tokens a server issues, so that a token
// altered by hand (another cursor, kind or list) is refused rather than
// read.
type PageTokenKey struct {
	key string
}

// NewPageTokenKey derives the page-token key from the server's own key
// (command.key): every server sharing a log and its key accepts the
// tokens of the others, across restarts too. The tokens are signed by a
// key derived from the server's, never the server's itself. A server key
// shorter than 32 bytes is a programming error (commands.NewService
// refuses it too): it panics rather than sign with a guessable key.
func NewPageTokenKey(serverKey []byte) PageTokenKey {
	if len(serverKey) < minServerKeyBytes {
		panic(fmt.Sprintf("queries: a page-token key needs a server key of at least %d bytes, not %d", minServerKeyBytes, len(serverKey)))
	}
	mac := hmac.New(sha256.New, serverKey)
	mac.Write([]byte("page-token-key"))
	return PageTokenKey{key: string(mac.Sum(nil))}
}

// RandomPageTokenKey is a key of this process alone, for a router given
// none (tests, tools): its tokens continue only on that router.
func RandomPageTokenKey() PageTokenKey {
	b := make([]byte, sha256.Size)
	if _, err := rand.Read(b); err != nil {
		panic("queries: no randomness for a page-token key: " + err.Error())
	}
	return PageTokenKey{key: string(b)}
}

// minServerKeyBytes is the least server key NewPageTokenKey derives from,
// as commands.NewService requires of it.
const minServerKeyBytes = 32

// IsZero reports whether k is no key at all.
func (k PageTokenKey) IsZero() bool { return k.key == "" }

// ListKey names one list, for its page tokens: a token continues only
// the list it was issued for. The zero ListKey names no list in
// particular (a caller that walks a list itself and reads no token); its
// tokens are signed with no key, and openToken refuses every token for a
// list of no key, so none of them (nor a forger's) is ever read.
type ListKey struct {
	tag string
	key PageTokenKey
}

// listTagBytes is how much of the keyed tag of a list's description a
// token carries: enough that two lists never meet by chance, short enough for a
// query string. macBytes is how much of its HMAC it carries: enough that
// a forger's guesses never hit.
const (
	listTagBytes = 8
	macBytes     = 8
)

// NewListKey names the list of a canonical description, whose tokens key
// signs: equal descriptions are the same list, and any difference
// (another route, path id, filter or account) another list. The tag is
// keyed, so a token shows nothing of the description (an unkeyed hash of
// a filter or an account id could be guessed back); "list\x00" keeps it
// apart from the MACs of token bodies under the same key.
func NewListKey(key PageTokenKey, description string) ListKey {
	m := hmac.New(sha256.New, []byte(key.key))
	m.Write([]byte("list\x00" + description))
	return ListKey{tag: hex.EncodeToString(m.Sum(nil)[:listTagBytes]), key: key}
}

// tagText is the tag a token of this list carries.
func (k ListKey) tagText() string {
	if k.tag == "" {
		return strings.Repeat("0", 2*listTagBytes)
	}
	return k.tag
}

// mac is the signature of a token's body (its kind, cursor and list tag)
// under the list's key.
func (k ListKey) mac(body string) string {
	m := hmac.New(sha256.New, []byte(k.key.key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil)[:macBytes])
}

// validHex reports whether s is lowercase hex of n bytes, as a tag or a
// MAC is issued.
func validHex(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// The versions of a page token: base64url of the prefix, the cursor,
// (since version 2) the list's tag and (since version 3) the MAC of all
// that. Positions (p) page most lists; access logs (l) page by a keyset
// of their own.
const (
	positionPrefix  = "p3."
	accessLogPrefix = "l3|"
	// maxTokenLen caps a token before it is decoded; the longest issued,
	// an access log's, is 188 characters.
	maxTokenLen = 200
)

// olderPrefixes are the prefixes of the tokens of older versions: p1 and
// l1 carried no tag, p2 and l2 no MAC.
var olderPrefixes = []string{"p1.", "l1|", "p2.", "l2|"}

var tokenEncoding = base64.RawURLEncoding.Strict()

// seal writes a token of the kind of prefix, for cursor on list.
func seal(prefix, cursor string, list ListKey) string {
	sep := prefix[len(prefix)-1:]
	body := prefix + cursor + sep + list.tagText()
	return tokenEncoding.EncodeToString([]byte(body + sep + list.mac(body)))
}

// openToken reads a token issued for list, of the kind of prefix, and
// answers its cursor; any other token is a 400 naming pageToken that
// says why. A token whose MAC holds was issued by a server of this key,
// so one of another kind or tag was, honestly, issued for another list.
func openToken(token, prefix string, list ListKey) (string, error) {
	t, ok := unseal(token)
	switch {
	case list.key.IsZero():
		// A MAC under no key is one anyone computes.
		return "", domain.InvalidField("pageToken", "is not a page token this server issued")
	case ok && t.older:
		return "", domain.InvalidField("pageToken", "is from an older version of this server, whose tokens are no longer accepted: "+
			"start again from the first page, without pageToken")
	case !ok || !validCursor(t.kind, t.cursor) || !hmac.Equal([]byte(t.mac), []byte(list.mac(t.body))):
		return "", domain.InvalidField("pageToken", "is not a page token this server issued")
	case t.kind != prefix || t.tag != list.tagText():
		return "", domain.InvalidField("pageToken", "was issued for another list: a token continues only the list that "+
			"answered it, with the same path, the same query parameters other than pageSize and pageToken, and the same account")
	}
	return t.cursor, nil
}

// sealedToken is a token split into its parts: body is what its MAC
// signs (kind, cursor, tag and their separators).
type sealedToken struct {
	kind, cursor, tag, mac, body string
	// older: a token of an older version, whose parts are not read.
	older bool
}

// unseal splits a token into its parts; ok is false when it has the
// shape of no token this server issues or issued.
func unseal(token string) (t sealedToken, ok bool) {
	if len(token) > maxTokenLen {
		return t, false
	}
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil {
		return t, false
	}
	s := string(raw)
	for _, p := range olderPrefixes {
		if strings.HasPrefix(s, p) {
			return sealedToken{kind: p, older: true}, true
		}
	}
	for _, p := range []string{positionPrefix, accessLogPrefix} {
		if !strings.HasPrefix(s, p) {
			continue
		}
		sep := p[len(p)-1]
		i := strings.LastIndexByte(s, sep)
		if i < len(p) || !validHex(s[i+1:], macBytes) {
			return t, false
		}
		body := s[:i]
		j := strings.LastIndexByte(body, sep)
		if j < len(p) || !validHex(body[j+1:], listTagBytes) {
			return t, false
		}
		return sealedToken{kind: p, cursor: body[len(p):j], tag: body[j+1:], mac: s[i+1:], body: body}, true
	}
	return t, false
}
