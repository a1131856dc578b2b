package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

// A property filter naming a property the caller cannot see, one that
// does not exist, or the nil UUID answers 404 on every list it filters:
// never an empty page, never the unfiltered list. Both ways across
// accounts, and for a key scoped to one property.
func TestPropertyFiltersOfNoVisiblePropertyAre404(t *testing.T) {
	h := newHarness(t)
	mine := h.lockProperty(rootKey)
	child := h.newAccount()
	theirs := h.lockProperty(child)
	user := h.grpUser(rootKey, "Ana")
	scoped := h.newKey(rootKey, map[string]string{"permission": "support", "propertyId": mine})
	nilID := uuid.Nil.String()

	lists := []string{"/locks?propertyId=", "/timeline/activity?propertyId=", "/users/" + user + "/properties/{id}/groups"}
	fill := func(list, id string) string {
		if strings.HasSuffix(list, "=") {
			return list + id
		}
		return strings.Replace(list, "{id}", id, 1)
	}
	for _, list := range lists {
		assert.Equal(t, http.StatusOK, h.do("GET", fill(list, mine), rootKey, nil).Status, "%s own property", list)
		for name, c := range map[string]struct{ key, id string }{
			"another account's":   {rootKey, theirs},
			"the parent's":        {child, mine},
			"a random":            {rootKey, uuid.NewString()},
			"the nil":             {rootKey, nilID},
			"the nil, as scoped":  {scoped, nilID},
			"the nil, as a child": {child, nilID},
		} {
			r := h.do("GET", fill(list, c.id), c.key, nil)
			assert.Equal(t, http.StatusNotFound, r.Status, "%s: %s property id", list, name)
		}
	}
}
