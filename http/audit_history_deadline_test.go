package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadlineRecorder is a response writer that supports write deadlines, as
// a server's connection does, and records each one set.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

// A streamed history moves the connection's write deadline on from its
// start and after each flush, through the server's middleware: the
// server's WriteTimeout bounds a whole answer, and would cut off a long
// history while it is still being sent.
func TestLongHistoryMovesItsWriteDeadlineOn(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	now := time.Now()
	entries := make([]map[string]any, 1000)
	for i := range entries {
		entries[i] = lsEntry(s.lock.ID, s.phone, uuid.NewString(), now, "granted")
	}
	// In syncs of 200: one sync of 1,000 logs waits for the read models
	// to apply them all, which under -race on a busy machine passed the
	// 5 s a command waits for them (a 503, in CI).
	for i := 0; i < len(entries); i += 200 {
		h.lsSync(s.lock, 1, entries[i:i+200]...)
	}
	h.settle()

	req := httptest.NewRequest("GET", "/audit/locks/"+s.lock.ID+"/history?format=json", nil)
	req.Header.Set("x-api-key", rootKey)
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	start := time.Now()
	h.srv.Config.Handler.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	items := strings.Count(rec.Body.String(), "\n")
	require.GreaterOrEqual(t, items, 1000)

	// One at the start, one after every 200 items.
	assert.GreaterOrEqual(t, len(rec.deadlines), 1+items/200, "write deadlines set")
	for i, d := range rec.deadlines {
		assert.True(t, d.After(start.Add(time.Minute)), "deadline %d is %s after the start", i, d.Sub(start))
	}
}

// A caller who may see only part of a lock's history (here its stay in
// property B) has the items before it read and hidden: the write deadline
// moves on through them too, though nothing is written for them.
func TestHiddenHistoryMovesTheWriteDeadlineOn(t *testing.T) {
	h := newHarness(t)
	s := h.lsScene(rootKey)
	now := time.Now()
	for range 2 {
		entries := make([]map[string]any, 200)
		for i := range entries {
			entries[i] = lsEntry(s.lock.ID, s.phone, uuid.NewString(), now, "granted")
		}
		h.lsSync(s.lock, 1, entries...)
	}
	require.Equal(t, http.StatusOK, h.do("PUT", "/locks/"+s.lock.ID+"/uninstall?uninstallMode=property", rootKey, nil).Status)
	propertyB := h.lockProperty(rootKey)
	require.Equal(t, http.StatusOK, h.do("PUT", installPath(propertyB, h.mkArea(rootKey, propertyB, "Lobby", ""), s.lock.ID), rootKey, nil).Status)
	h.settle()
	scopedB := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": propertyB})

	req := httptest.NewRequest("GET", "/audit/locks/"+s.lock.ID+"/history?format=json", nil)
	req.Header.Set("x-api-key", scopedB)
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	h.srv.Config.Handler.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	shown := strings.Count(rec.Body.String(), "\n")
	require.Less(t, shown, 200, "the stay in A is hidden")
	// One at the start, one after every 200 items read, hidden or not.
	assert.GreaterOrEqual(t, len(rec.deadlines), 3, "write deadlines set")
}
