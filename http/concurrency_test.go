package httpapi_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentCommandsOnOneAggregate: many clients change one group at
// once; every answered change is kept, and the invariants hold (under
// -race this also checks that aggregates cached by the pipeline are never
// shared mutably between commands).
func TestConcurrentCommandsOnOneAggregate(t *testing.T) {
	h := newHarness(t)
	property := h.grpProperty(rootKey)
	group := h.grpGroup(rootKey, property, "Staff")
	const n = 16
	users := make([]string, n)
	for i := range users {
		users[i] = h.grpUser(rootKey, "user")
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.do("POST", grpMemberPath(property, group, users[i]), rootKey, nil).Status
		}()
	}
	wg.Wait()
	added := 0
	for _, s := range statuses {
		require.Contains(t, []int{http.StatusOK, http.StatusConflict}, s)
		if s == http.StatusOK {
			added++
		}
	}
	r := h.do("GET", grpPath(property, group)+"/users?pageSize=100", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	var page struct {
		Users []struct {
			UserID string `json:"userId"`
		} `json:"users"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &page))
	assert.Len(t, page.Users, added, "every answered addition is there, and only those (losers got 409)")
	assert.Positive(t, added)
}
