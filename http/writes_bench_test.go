package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkRenameLock: PUT /locks/{lockId} (a write command answered once
// every read model reflects it) from parallel clients on distinct locks.
func BenchmarkRenameLock(b *testing.B) {
	h := newHarness(b)
	var locks []string
	for range 64 {
		locks = append(locks, h.provisionLock(rootKey, "door").LockID)
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := locks[int(next.Add(1))%len(locks)]
		n := 0
		for pb.Next() {
			n++
			req, _ := http.NewRequest("PUT", h.srv.URL+"/locks/"+id, strings.NewReader(fmt.Sprintf(`{"displayName":"door %d"}`, n)))
			req.Header.Set("x-api-key", rootKey)
			resp, err := h.client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
