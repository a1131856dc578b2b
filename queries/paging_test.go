package queries

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/projections/accesslogs"
)

// b64 writes a token's text as the server encodes it.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// testKey signs the tokens of the tests' lists, as a server's key would.
var testKey = NewPageTokenKey(bytes.Repeat([]byte{1}, 32))

// signed is a token of body (kind, cursor and tag, as seal writes them)
// with the MAC of list's key: one the server might have issued but for
// what its body says, to check that the body is read as strictly.
func signed(list ListKey, body string) string {
	return b64(body + body[2:3] + list.mac(body))
}

// refusesToken checks that err is a 400 naming pageToken whose message
// holds want.
func refusesToken(t *testing.T, err error, want, msg string) {
	t.Helper()
	var de *domain.Error
	if assert.True(t, errors.As(err, &de) && errors.Is(err, domain.ErrInvalid), "%s: %v", msg, err) {
		assert.Equal(t, "pageToken", de.Field, msg)
		assert.Contains(t, de.Message, want, msg)
	}
}

func TestParsePage(t *testing.T) {
	list := NewListKey(testKey, "GET /properties")
	at := func(cursor uint64) string { return Page{List: list}.Token(cursor) }
	p, err := ParsePage("", "", list)
	require.NoError(t, err)
	assert.Equal(t, Page{Size: DefaultPageSize, List: list}, p)

	p, err = ParsePage("500", at(42), list)
	require.NoError(t, err)
	assert.Equal(t, Page{Size: 500, After: 42, List: list}, p)

	for _, size := range []string{"0", "501", "-1", "x", "1.5"} {
		_, err := ParsePage(size, "", list)
		assert.ErrorIs(t, err, domain.ErrInvalid, size)
		assert.ErrorContains(t, err, "pageSize")
	}
	// A cursor is a log position, at most 2^63-1: the read models keep
	// it as a signed 64-bit integer. A forged token beyond that would
	// wrap to a negative cursor and start the list over.
	p, err = ParsePage("", at(math.MaxInt64), list)
	require.NoError(t, err)
	assert.Equal(t, uint64(math.MaxInt64), p.After)
	tag := list.tagText()
	sign := func(body string) string { return signed(list, body) }
	for _, token := range []string{"garbage", at(0), at(math.MaxInt64 + 1), at(math.MaxUint64),
		sign("p3.-1." + tag), sign("p3.+7." + tag), sign("p3.07." + tag), sign("p3. 7." + tag), sign("p3.7." + strings.ToUpper(tag)),
		sign("p3.7." + tag[1:]), sign("p3.7." + tag + "0"), b64("p3.7"), sign("p3.7."), b64("p3.7.."), sign("p3..7." + tag),
		sign("p4.7." + tag), at(7) + "=", strings.Repeat("A", 300),
		// Unsigned, or with a MAC of another shape.
		b64("p3.7." + tag), b64("p3.7." + tag + "."), b64("p3.7." + tag + "." + strings.ToUpper(list.mac("p3.7."+tag))),
		b64("p3.7." + tag + "." + list.mac("p3.7." + tag)[1:]), b64("p3.7." + tag + "." + list.mac("p3.7."+tag) + "0"),
	} {
		_, err := ParsePage("", token, list)
		refusesToken(t, err, "is not a page token this server issued", token)
	}
	// The last base64 character of a token of 40 bytes carries 4 spare
	// bits, which must be zero: one token, one spelling.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	token := at(420)
	raw, err := tokenEncoding.DecodeString(token)
	require.NoError(t, err)
	require.Len(t, raw, 40)
	other := token[:len(token)-1] + string(alphabet[strings.IndexByte(alphabet, token[len(token)-1])^1])
	_, err = ParsePage("", other, list)
	refusesToken(t, err, "is not a page token this server issued", other)
}

// A token is signed by the server's key: with its cursor, list tag or MAC
// changed by hand, or signed by another key (another server's, a
// forger's), it is no token this server issued, never a page of the list,
// the first page again included.
func TestPageTokenIsSigned(t *testing.T) {
	description := "GET /accounts/children\n\n\naccount"
	list := NewListKey(testKey, description)
	issued, err := tokenEncoding.DecodeString(Page{List: list}.Token(3022))
	require.NoError(t, err)
	parts := strings.Split(string(issued), ".")
	require.Len(t, parts, 4, "%s", issued)
	other := NewListKey(testKey, "GET /properties\n\n\naccount")
	p, err := ParsePage("", b64(string(issued)), list)
	require.NoError(t, err)
	assert.Equal(t, uint64(3022), p.After)
	for what, forged := range map[string]string{
		"another cursor":      parts[0] + ".1." + parts[2] + "." + parts[3],
		"a later cursor":      parts[0] + ".3023." + parts[2] + "." + parts[3],
		"another list's tag":  parts[0] + "." + parts[1] + "." + other.tagText() + "." + parts[3],
		"another MAC":         parts[0] + "." + parts[1] + "." + parts[2] + "." + strings.Repeat("0", len(parts[3])),
		"no MAC":              parts[0] + "." + parts[1] + "." + parts[2],
		"the old version's":   "p2." + parts[1] + "." + parts[2] + "." + parts[3],
		"another kind's sign": "l3|" + parts[1] + "|" + parts[2] + "|" + parts[3],
	} {
		_, err := ParsePage("", b64(forged), list)
		if what == "the old version's" {
			refusesToken(t, err, "older version", what)
			continue
		}
		refusesToken(t, err, "is not a page token this server issued", what)
	}
	for _, key := range []PageTokenKey{NewPageTokenKey(bytes.Repeat([]byte{2}, 32)), RandomPageTokenKey()} {
		_, err := ParsePage("", Page{List: NewListKey(key, description)}.Token(3022), list)
		refusesToken(t, err, "is not a page token this server issued", "a token signed with another key")
	}
	// The same server key derives the same page-token key: a token of one
	// server continues on another of the same key, or after a restart.
	again := NewListKey(NewPageTokenKey(bytes.Repeat([]byte{1}, 32)), description)
	p, err = ParsePage("", Page{List: list}.Token(3022), again)
	require.NoError(t, err)
	assert.Equal(t, uint64(3022), p.After)
}

// A token continues only the list it was issued for: any other list of
// the same key refuses it as another list's; the zero ListKey, whose
// tokens are signed with no key, as no token this server issued; the
// tokens of older versions (p1, l1, p2, l2) are refused as such.
func TestPageTokenNamesItsList(t *testing.T) {
	a, b := NewListKey(testKey, "GET /locks\n\n\naccount"), NewListKey(testKey, "GET /locks\n\npropertyId=x\naccount")
	token := Page{List: a}.Token(9)
	p, err := ParsePage("2", token, a)
	require.NoError(t, err)
	assert.Equal(t, Page{Size: 2, After: 9, List: a}, p)

	for _, other := range []ListKey{b, NewListKey(testKey, "")} {
		_, err := ParsePage("", token, other)
		refusesToken(t, err, "was issued for another list", other.tagText())
	}
	_, err = ParsePage("", token, ListKey{})
	refusesToken(t, err, "is not a page token this server issued", "a token on the zero list")
	_, err = ParsePage("", Page{}.Token(9), a)
	refusesToken(t, err, "is not a page token this server issued", "a token of the zero list")
	// A tag of the right shape that is no list's, unsigned.
	_, err = ParsePage("", b64("p3.9."+strings.Repeat("f", 2*listTagBytes)), a)
	refusesToken(t, err, "is not a page token this server issued", "a forged tag")

	// An access-log token on a list of positions, and one on the access
	// logs of the same description.
	logs := AccessLogPage{List: a}.Token(AccessLogCursor{AccessDate: "2030-01-01T00:00:00.000000000Z",
		LockAccessLogID: "7a449a59-a391-420d-b4a5-6e67e36da39d", LockID: "6f1c8e2a-0000-4000-8000-000000000001"})
	_, err = ParsePage("", logs, a)
	refusesToken(t, err, "was issued for another list", "an access-log token")
	_, err = ParseAccessLogPage("", token, a)
	refusesToken(t, err, "was issued for another list", "a position token on access logs")

	for _, old := range []string{b64("p1.7"), b64("p1.9223372036854775807"), b64("p1.x"), b64("p2.7." + a.tagText()),
		b64("l2|2030-01-01T00:00:00.000000000Z|7a449a59-a391-420d-b4a5-6e67e36da39d|6f1c8e2a-0000-4000-8000-000000000001|" + a.tagText()),
		b64("l1|2030-01-01T00:00:00.000000000Z|7a449a59-a391-420d-b4a5-6e67e36da39d|6f1c8e2a-0000-4000-8000-000000000001")} {
		_, err := ParsePage("", old, a)
		refusesToken(t, err, "older version", old)
		refusesToken(t, err, "first page", old)
		_, err = ParseAccessLogPage("", old, a)
		refusesToken(t, err, "older version", old)
	}
}

// FuzzParsePage: any query either parses to a valid page or is a 400
// naming pageSize or pageToken; a token that parses is the one the list
// issues for its cursor, and no other list takes it.
func FuzzParsePage(f *testing.F) {
	list := NewListKey(testKey, "GET /properties\n\n\nfuzz")
	at := func(cursor string) string { return signed(list, positionPrefix+cursor+"."+list.tagText()) }
	f.Add("50", Page{List: list}.Token(7))
	f.Add("", "")
	f.Add("9999999999999999999", "%%%")
	f.Add("1", at("0"))
	f.Add("1", at("9223372036854775808"))
	f.Add("1", at("18446744073709551616"))
	f.Add("", at("+7"))
	f.Add("", at("007"))
	f.Add("", Page{List: NewListKey(testKey, "another")}.Token(7))
	f.Add("", b64("p3.7."+list.tagText()))
	f.Add("1", b64("p1.7"))
	f.Add("1", b64("p2.7."+list.tagText()))
	f.Fuzz(func(t *testing.T, size, token string) {
		p, err := ParsePage(size, token, list)
		if err != nil {
			var de *domain.Error
			if !errors.As(err, &de) || !errors.Is(err, domain.ErrInvalid) || (de.Field != "pageSize" && de.Field != "pageToken") {
				t.Fatalf("refusal is not a 400 naming pageSize or pageToken: %v", err)
			}
			return
		}
		if p.Size < 1 || p.Size > MaxPageSize {
			t.Fatalf("page size %d out of range", p.Size)
		}
		if p.After > math.MaxInt64 {
			t.Fatalf("cursor %d does not fit a read model's signed 64-bit position", p.After)
		}
		if token == "" {
			if p.After != 0 {
				t.Fatalf("no token gave a cursor %d", p.After)
			}
			return
		}
		if again := p.Token(p.After); again != token {
			t.Fatalf("token %q parses to %d, which is issued as %q", token, p.After, again)
		}
		if _, err := ParsePage("", token, NewListKey(testKey, "another")); err == nil {
			t.Fatalf("token %q of one list continues another", token)
		}
	})
}

// A list's tag is keyed by the page-token key: the same description under
// two keys has two tags, so a token shows nothing a guess of the
// description (a filter, an account id) could be checked against.
func TestPageTokenListTagIsKeyed(t *testing.T) {
	description := "GET /locks\n\npropertyId=x\naccount"
	keyed := NewListKey(testKey, description)
	other := NewListKey(NewPageTokenKey(bytes.Repeat([]byte{2}, 32)), description)
	assert.NotEqual(t, keyed.tagText(), other.tagText())
	unkeyed := sha256.Sum256([]byte(description))
	assert.NotEqual(t, hex.EncodeToString(unkeyed[:listTagBytes]), keyed.tagText())
}

// A server key shorter than 32 bytes derives no page-token key, as
// commands.NewService takes none: the tokens would be signed with a key
// that could be guessed.
func TestNewPageTokenKeyRefusesAShortKey(t *testing.T) {
	for _, n := range []int{0, 1, 31} {
		assert.Panics(t, func() { NewPageTokenKey(bytes.Repeat([]byte{1}, n)) }, "%d bytes", n)
	}
	assert.NotPanics(t, func() { NewPageTokenKey(bytes.Repeat([]byte{1}, 32)) })
}

// A list of no key reads no token, not even one it issued: a MAC under no
// key is one anyone computes.
func TestPageTokenOfNoKeyNeverVerifies(t *testing.T) {
	for name, list := range map[string]ListKey{
		"the zero list":          {},
		"a list of the zero key": NewListKey(PageTokenKey{}, "GET /locks"),
	} {
		_, err := ParsePage("", Page{List: list}.Token(9), list)
		refusesToken(t, err, "is not a page token this server issued", name)
		c := AccessLogCursor{AccessDate: accesslogs.FormatTime(time.Date(2024, 3, 1, 12, 0, 0, 5, time.UTC)),
			LockAccessLogID: uuid.NewString(), LockID: uuid.NewString()}
		_, err = ParseAccessLogPage("", AccessLogPage{List: list}.Token(c), list)
		refusesToken(t, err, "is not a page token this server issued", name)
	}
}
