package httpapi_test

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkGetLock: GET /locks/{lockId} with an owner key (private part,
// key-map version, server signature) over real HTTP and SQLite, in
// parallel.
func BenchmarkGetLock(b *testing.B) {
	benchmarkGetLock(b, func(*harness, string) string { return rootKey })
}

// BenchmarkGetLockScopedKey: the same with a key scoped to the lock's
// property, whose grant's property is looked up (liveScopes) whenever the
// key's cached actor expires.
func BenchmarkGetLockScopedKey(b *testing.B) {
	benchmarkGetLock(b, func(h *harness, property string) string {
		return h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": property})
	})
}

func benchmarkGetLock(b *testing.B, keyFor func(h *harness, property string) string) {
	h := newHarness(b)
	property := h.lockProperty(rootKey)
	area := h.lockArea(rootKey, property)
	l := h.provisionLock(rootKey, "door")
	if r := h.do("PUT", installPath(property, area, l.LockID), rootKey, nil); r.Status != http.StatusOK {
		b.Fatal(r.Error)
	}
	key := keyFor(h, property)
	url := h.srv.URL + "/locks/" + l.LockID
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("x-api-key", key)
			resp, err := h.client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
