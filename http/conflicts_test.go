package httpapi_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/domain/lock"
)

// conflictingClients is how many clients race on one aggregate.
const conflictingClients = 64

// Installing one lock into 64 areas at once: exactly one install wins, every
// other client gets 409, and the lock's stream holds that one install.
func TestSixtyFourInstallsOfOneLock(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	areas := make([]string, conflictingClients)
	for i := range areas {
		areas[i] = h.lockArea(rootKey, property)
	}
	l := h.provisionLock(rootKey, "Front door")

	statuses := make([]int, conflictingClients)
	var wg sync.WaitGroup
	for i := range conflictingClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.do("PUT", "/properties/"+property+"/areas/"+areas[i]+"/install/"+l.LockID, rootKey, nil).Status
		}()
	}
	wg.Wait()

	winner := -1
	for i, s := range statuses {
		require.Contains(t, []int{http.StatusOK, http.StatusConflict}, s, "client %d", i)
		if s == http.StatusOK {
			require.Equal(t, -1, winner, "two installs of one lock both succeeded")
			winner = i
		}
	}
	require.NotEqual(t, -1, winner, "every install lost")

	installs := 0
	for _, ev := range h.streamEvents("lock-" + l.LockID) {
		if ev.Type == (lock.LockInstalled{}).EventType() {
			installs++
		}
	}
	require.Equal(t, 1, installs)
	require.Equal(t, []string{l.LockID}, h.areaLockIDs(property, areas[winner]))
}

// 64 clients add and remove one member at once. Adding a member already
// there and removing one already gone are answered without a change, so
// the invariant is in the log: additions and removals alternate (no change
// was decided on a stale state), and the read model agrees with the
// stream's last word. Losers of a race get 409.
func TestSixtyFourAddsAndRemovesOfOneMember(t *testing.T) {
	h := newHarness(t)
	property := h.grpProperty(rootKey)
	g := h.grpGroup(rootKey, property, "Staff")
	user := h.grpUser(rootKey, "Ana")

	statuses := make([]int, conflictingClients)
	var wg sync.WaitGroup
	for i := range conflictingClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			method := "POST"
			if i%2 == 1 {
				method = "DELETE"
			}
			statuses[i] = h.do(method, grpMemberPath(property, g, user), rootKey, nil).Status
		}()
	}
	wg.Wait()

	answered := 0
	for i, s := range statuses {
		require.Contains(t, []int{http.StatusOK, http.StatusNoContent, http.StatusConflict, http.StatusNotFound}, s, "client %d", i)
		if s < 300 {
			answered++
		}
	}
	changes, member := 0, false
	for _, ev := range h.streamEvents("group-" + g) {
		switch ev.Type {
		case (group.UserAddedToGroup{}).EventType():
			require.False(t, member, "added twice without a removal between: a change decided on a stale state")
			changes++
			member = true
		case (group.UserRemovedFromGroup{}).EventType():
			require.True(t, member, "removed a member who was not there")
			changes++
			member = false
		}
	}
	require.Positive(t, answered)
	require.Positive(t, changes)

	r := h.do("GET", grpPath(property, g)+"/users?pageSize=100", rootKey, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Error)
	if member {
		require.Contains(t, string(r.Data), user, "the stream ends with an add but the read model lacks the member")
	} else {
		require.NotContains(t, string(r.Data), user, "the stream ends with a removal but the read model shows the member")
	}
}
