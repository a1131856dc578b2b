package httpapi

import (
	"errors"
	"testing"

	"github.com/accessd/accessd/domain"
)

// FuzzDecodeJSON: any body decodes or fails with a 400 naming a field;
// nothing panics.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"displayName":"k","apiPermissions":[{"permission":"owner"}]}`,
		`{"displayName":5}`, `{`, `[]`, `null`, `{"a":1}`, `{} {}`, `{"apiPermissions":[{"permission":{}}]}`,
		"\xff\xfe", `{"displayName":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in createAPIKeyInput
		err := decodeJSON(body, &in)
		if err == nil {
			return
		}
		var de *domain.Error
		if !errors.As(err, &de) || !errors.Is(err, domain.ErrInvalid) || de.Field == "" {
			t.Fatalf("decode error is not a field error: %T %v", err, err)
		}
		if statusOf(err) != 400 {
			t.Fatalf("status %d for %v", statusOf(err), err)
		}
	})
}
