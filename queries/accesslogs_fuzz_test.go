package queries

import (
	"errors"
	"testing"

	"github.com/accessd/accessd/domain"
)

// FuzzParseAccessLogPage: any pageSize and pageToken of an access-log list
// parse to a page in range or are a 400 naming the parameter; a token that
// parses is one the list issues again unchanged, and no other list takes
// it.
func FuzzParseAccessLogPage(f *testing.F) {
	list := NewListKey(testKey, "GET /locks/{lockId}/logs\n\nfuzz")
	c := AccessLogCursor{AccessDate: "2030-01-01T00:00:00.000000000Z",
		LockAccessLogID: "7a449a59-a391-420d-b4a5-6e67e36da39d", LockID: "6f1c8e2a-0000-4000-8000-000000000001"}
	at := func(cursor string) string { return signed(list, accessLogPrefix+cursor+"|"+list.tagText()) }
	f.Add("50", AccessLogPage{List: list}.Token(c))
	f.Add("", "")
	f.Add("501", "bDF8fHw")
	f.Add("1", Page{List: list}.Token(9))
	f.Add("1", AccessLogPage{}.Token(c))
	f.Add("50", at(c.AccessDate+"|"+c.LockAccessLogID+"|"+c.LockID+"|x"))
	f.Add("50", at("2030-01-01T00:00:00Z|"+c.LockAccessLogID+"|"+c.LockID))
	f.Add("50", at(c.AccessDate+"|7A449A59-A391-420D-B4A5-6E67E36DA39D|"+c.LockID))
	f.Add("50", AccessLogPage{List: list}.Token(c)+"=")
	f.Fuzz(func(t *testing.T, size, token string) {
		p, err := ParseAccessLogPage(size, token, list)
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
		if token == "" {
			if p.After != nil {
				t.Fatalf("no token gave a cursor %+v", p.After)
			}
			return
		}
		again := p.Token(*p.After)
		if again != token {
			t.Fatalf("token %q parses to %+v, which is issued as %q", token, *p.After, again)
		}
		if _, err := ParseAccessLogPage("", token, NewListKey(testKey, "another")); err == nil {
			t.Fatalf("token %q of one list continues another", token)
		}
	})
}
