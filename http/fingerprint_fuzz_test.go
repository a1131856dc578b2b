package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzCanonicalJSON: the canonical form an Idempotency-Key fingerprint
// digests never panics, is valid JSON, is its own canonical form, and
// does not depend on key order or whitespace.
func FuzzCanonicalJSON(f *testing.F) {
	for _, seed := range []string{
		`{"displayName":"Ana","nationality":"ES"}`,
		` { "nationality" : "ES", "displayName" : "Ana" } `,
		`{"a":[1,1.0,-0,1e3],"b":{"c":null,"d":true}}`,
		`{"x":"\u0041\u00e9<>&"}`,
		`[]`, `"text"`, `12`, `{`, `{"a":1}{"b":2}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, ok := canonicalJSON(body)
		if !ok {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("canonical form of %q is not JSON: %q", body, out)
		}
		again, ok := canonicalJSON(out)
		if !ok || !bytes.Equal(again, out) {
			t.Fatalf("canonical form of %q is not stable: %q then %q", body, out, again)
		}
		// The same value indented canonicalises to the same bytes.
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, out, "", "  "); err == nil {
			if p, ok := canonicalJSON(pretty.Bytes()); !ok || !bytes.Equal(p, out) {
				t.Fatalf("indented %q canonicalises to %q, not %q", pretty.Bytes(), p, out)
			}
		}
	})
}
