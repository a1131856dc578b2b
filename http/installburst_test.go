package httpapi_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Installs of many locks into one area at once each mark the area
// (area.AreaLockChecked) at the revision they read, so they race on its
// stream; a lost race is another install's success and is retried, so
// every install succeeds, as an operator fitting out a building at once
// expects.
func TestManyLocksInstalledIntoOneAreaAtOnce(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	area := h.lockArea(rootKey, property)
	const n = 24
	locks := make([]string, n)
	for i := range locks {
		locks[i] = h.provisionLock(rootKey, "Door").LockID
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i, id := range locks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do("PUT", installPath(property, area, id), rootKey, nil)
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		assert.Equal(t, http.StatusOK, s, "install %d", i)
	}
	assert.ElementsMatch(t, locks, h.areaLockIDs(property, area))
}

func TestManyMembersAddedToOneGroupAtOnce(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	area := h.lockArea(rootKey, property)
	group := h.do("GET", "/properties/"+property+"/areas/"+area, rootKey, nil).field("areaUserGroupId")
	const n = 24
	users := make([]string, n)
	for i := range users {
		users[i] = h.do("POST", "/users", rootKey, map[string]any{"displayName": "Resident"}).field("userId")
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i, id := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.do("POST", "/properties/"+property+"/groups/"+group+"/users/"+id, rootKey, nil).Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		assert.Equal(t, http.StatusOK, s, "member %d", i)
	}
}
