package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every body goes through the strict decoder: a repeated key or a key in
// another case is a 400 naming it, and nothing changes.
func TestBodiesRefuseDuplicateAndMiscasedKeys(t *testing.T) {
	h := newHarness(t)
	property := h.lockProperty(rootKey)
	for body, field := range map[string]string{
		`{"displayName":"a","displayName":"b"}`: "displayName",
		`{"DisplayName":"x"}`:                   "DisplayName",
		`{"displayname":"x"}`:                   "displayname",
	} {
		r := h.do("PUT", "/account", rootKey, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Contains(t, r.Error, field, body)
	}
	flat := h.mkArea(rootKey, property, "Flat", "")
	r := h.do("PUT", "/properties/"+property+"/areas/"+flat, rootKey,
		`{"displayName":"Flat","areaType":"resident","accessList":[{"accessType":"group","AccessType":"area"}]}`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Error, "accessList[0].AccessType")
	assert.NotEqual(t, "b", h.do("GET", "/account", rootKey, nil).field("displayName"))
}
